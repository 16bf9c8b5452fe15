"""Train a beta-VAE on vector data and checkpoint it: `python beta_vae_main.py --beta 4 --epochs 200`.

Writes into --checkpoint-dir a TensorFlow checkpoint (model, optimizer, epoch), config.json (everything
needed to rebuild the model and the data split) and history.csv (one row per epoch).

The code is in the package (betavae/commands/train.py),
so that the Python API, the sweep and this script run one code path.
"""
import sys

from betavae.commands.train import main

if __name__ == "__main__":
    sys.exit(main())
