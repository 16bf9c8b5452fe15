"""Train a beta-VAE on vector data and checkpoint it: `python beta_vae_main.py --beta 4 --epochs 200`.

Writes into --checkpoint-dir a TensorFlow checkpoint (model, optimizer, epoch), config.json (everything
needed to rebuild the model and the data split) and history.csv (one row per epoch).
"""
import sys
import time

from betavae.cli import run_cli
from betavae.data.run_rows import load_run_data, load_split
from betavae.run.folder import RunFolder
from betavae.training import console
from betavae.training.flags import build_parser, given_flags, validate_flags
from betavae.training.session import train
from betavae.training.setup import check_training_memory, new_config, resume_config


def train_run(settings, given=(), array=None, started=None):
    """Check the settings (a namespace with one attribute per flag), then train a new run into, or resume the
    one in, settings.checkpoint_dir; returns the exit status. The CLI and the Python API's train() both come
    here. given: the names of the settings chosen (not defaults), for --resume's warning. array: rows to
    train on, written as the run's own data.npy (settings.data names it). started: time.perf_counter() when
    the command began, for the elapsed times."""
    started = time.perf_counter() if started is None else started
    validate_flags(settings)
    folder = RunFolder(settings.checkpoint_dir)
    with folder.writing():
        if settings.resume:
            config = resume_config(settings, folder, given)
            if config.epochs == folder.epochs_done():
                print(f"{settings.checkpoint_dir} already holds {config.epochs} epochs: nothing to train")
                return 0
            train_rows, test_rows = load_run_data(config, stream=config.streaming)
        else:
            folder.begin(replace=settings.overwrite)  # refuses a finished run before data or TensorFlow load
            data_file = None if array is None else folder.save_data(array)
            train_rows, test_rows, names = load_split(data_file or settings.data, settings.test_data,
                                                      settings.test_fraction, settings.seed, settings.streaming,
                                                      settings.columns)
            config = new_config(settings, train_rows, test_rows, data_file, names)
        check_training_memory(config)
        print("\n".join(console.header_lines(config, settings.checkpoint_dir, settings.resume, settings.overwrite)),
              flush=True)
        return train(config, train_rows, test_rows, folder, resume=settings.resume, logdir=settings.logdir,
                     verbose=settings.verbose, started=started)


def main(argv=None):
    """Parse and check the flags and data, then train."""
    command_started = time.perf_counter()
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(__doc__.splitlines()[0])
    args = parser.parse_args(argv)
    return run_cli(lambda: train_run(args, given_flags(parser, argv), started=command_started))
