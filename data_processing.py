"""Data for the beta-VAE: load and validate files, split train/test, shuffle batches; the `generate` CLI.

Pure numpy, no TensorFlow, so that bad input is reported before TensorFlow's slow import.
Run `python data_processing.py generate --help` to make a dataset of your own.

The code is in the package (betavae/commands/generate.py, betavae/data/loading.py), so that the Python API
and this script run one code path; the data functions are importable from here too.
"""
import sys

from betavae.commands.generate import main
from betavae.data.loading import (DataError, column_mean_std, epoch_order, load_data, moments,  # noqa: F401
                                   split_indices)

if __name__ == "__main__":
    sys.exit(main())
