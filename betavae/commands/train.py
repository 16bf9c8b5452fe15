"""Train a beta-VAE on vector data and checkpoint it: `betavae train --beta 4 --epochs 200`.

Writes into --checkpoint-dir a TensorFlow checkpoint (model, optimizer, epoch), config.json (everything
needed to rebuild the model and the data split) and history.csv (one row per epoch).
"""
import sys
import time

from betavae.cli import run_cli
from betavae.commands.training_flags import build_parser, given_flags, with_settings_file
from betavae.training.session import Diverged, Stopped, train_settings


def train_run(settings, given=(), started=None):
    """Train as the settings (a namespace with one attribute per flag) say (session.train_settings); returns
    the exit status: 1 when the loss became non-finite, 128 + the signal when stopped after saving."""
    try:
        train_settings(settings, given, started=started)
    except Diverged as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except Stopped as stop:
        print(stop, file=sys.stderr)
        return 128 + stop.signal_number
    return 0


DESCRIPTION = "Train a beta-VAE on vector data and checkpoint it: `%(prog)s --beta 4 --epochs 200`."


def main(argv=None, prog=None):
    """Parse and check the flags (over the settings of a --config file) and data, then train. prog: the
    command's name (default: the script's)."""
    command_started = time.perf_counter()
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(DESCRIPTION, prog)
    args = parser.parse_args(argv)
    return run_cli(lambda: train_run(args, with_settings_file(args, given_flags(parser, argv)),
                                     started=command_started))
