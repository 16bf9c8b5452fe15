"""Train a beta-VAE on vector data and checkpoint it: `python beta_vae_main.py --beta 4 --epochs 200`.

Writes into --checkpoint-dir a TensorFlow checkpoint (model, optimizer, epoch), config.json (everything
needed to rebuild the model and the data split) and history.csv (one row per epoch).
"""
import argparse
import dataclasses
import importlib.util
import os
import sys
import time

import numpy as np

from betavae.config import SCHEMA_VERSION, RunConfig, check_flags
from betavae.data import loading
from betavae.files import check_memory
from betavae.run.folder import CONFIG_FILE, OneLineParser, RunFolder, UsageError, load_run_data, load_split, run_cli
from betavae.training import console
from betavae.training.loop import train

DEFAULTS = {
    "data": ("data/gaussian_10d.npy", str, "training data (.npy, .csv, .txt/.dat)"),
    "test_data": (None, str, "explicit test set; default: hold out --test-fraction of --data"),
    "test_fraction": (0.1, float, "fraction of --data held out for testing, chosen by --seed"),
    "beta": (1.0, float, "weight of the KL term; 1 is the plain VAE, 0 an autoencoder with noise"),
    "epochs": (200, int, "total number of epochs (with --resume: including those already done)"),
    "batch_size": (1000, int, "rows per gradient step"),
    "latent_dim": (2, int, "dimension of the latent z"),
    "hidden_units": (128, int, "units in each of the two hidden layers of encoder and decoder"),
    "mc_samples": (1, int, "reparameterised samples of z per row for E_q[log p(x|z)]"),
    "kl_warmup_epochs": (0, int, "KL warm-up: beta rises linearly from 0 to --beta over this many epochs"),
    "capacity": (None, float, "train the capacity objective gamma |KL - C| - E_q log p(x|z) (Burgess et al. "
                              "2018) with C rising from 0 to this many nats; default: the beta-objective"),
    "capacity_epochs": (100, int, "epochs over which C rises to --capacity"),
    "gamma": (100.0, float, "weight gamma of |KL - C| in the capacity objective"),
    "lr": (1e-3, float, "learning rate (with --lr-schedule cosine: of the first epoch)"),
    "lr_schedule": ("cosine", str, "learning rate per epoch: cosine (decays from --lr towards 0 over --epochs) "
                                   "or constant (--lr throughout)"),
    "optimizer": ("adam", str, "optimizer: adam or sgd"),
    "seed": (0, int, "seed of every random choice: initialisation, split, shuffling, noise"),
    "checkpoint_dir": ("checkpoints", str, "where the checkpoint, config.json and history.csv go"),
    "save_every": (10, int, "epochs between checkpoints (one is also saved at the end and on Ctrl-C)"),
    "streaming": (False, bool, "read training rows from the memory-mapped .npy file batch by batch (tf.data), "
                               "for data larger than memory; default: all rows on the device, one compiled "
                               "call per epoch"),
    "logdir": (None, str, "also write TensorBoard scalars here"),
}

CHOICES = {"optimizer": ("adam", "sgd"), "lr_schedule": ("cosine", "constant")}

# What --resume may change: how long to train, and a lower learning rate after a blow-up.
RESUME_OVERRIDES = ("epochs", "lr")


def build_parser():
    """Command-line flags, generated from DEFAULTS so that defaults live in one place and --help shows them."""
    parser = OneLineParser(description=__doc__.splitlines()[0])
    for name, (default, kind, help_text) in DEFAULTS.items():
        flag = "--" + name.replace("_", "-")
        if name in CHOICES:
            parser.add_argument(flag, default=default, choices=CHOICES[name], help=help_text)
        elif kind is bool:
            parser.add_argument(flag, action="store_true", help=help_text)
        else:
            parser.add_argument(flag, default=default, type=kind, help=help_text)
    parser.add_argument("--resume", action="store_true", help="continue the run in --checkpoint-dir")
    parser.add_argument("--overwrite", action="store_true", help="replace a run already in --checkpoint-dir")
    parser.add_argument("--verbose", action="store_true", help="show TensorFlow's own log messages")
    return parser


def validate_flags(args):
    """Reject flag values that cannot work, before any data or TensorFlow is loaded."""
    check_flags(args, DEFAULTS)
    for name in ("data", "test_data", "checkpoint_dir", "logdir"):
        if getattr(args, name) == "":  # else taken for the flag left out
            raise UsageError(f"--{name.replace('_', '-')}: an empty path; name one or leave the flag out")
    if args.resume and args.overwrite:
        raise UsageError("--resume and --overwrite exclude each other")
    if args.logdir and importlib.util.find_spec("tensorboard") is None:
        raise UsageError("--logdir needs the tensorboard package: pip install -r requirements.txt")
    if args.logdir:
        try:
            os.makedirs(args.logdir, exist_ok=True)
        except OSError as error:
            raise UsageError(f"--logdir {args.logdir}: cannot create it ({error.strerror})") from None


def given_flags(parser, argv):
    """The names of the flags given on the command line (not left at their defaults)."""
    unset = object()
    given = parser.parse_args(argv, argparse.Namespace(**{name: unset for name in DEFAULTS}))
    return {name for name in DEFAULTS if getattr(given, name) is not unset}


def resume_config(args, folder, given):
    """The run's config for --resume: its config.json with the allowed overrides; other flags given with
    other values than the run's are named in a warning. Refuses an --epochs that leaves nothing to train."""
    config = folder.load_config()
    done = folder.checkpoints()[0][0]
    if args.epochs < done:
        raise UsageError(f"--epochs {args.epochs} is below the {done} epochs already trained in {folder.path}; "
                         "nothing changed")
    flags = {name: os.path.abspath(getattr(args, name)) if name in ("data", "test_data") else getattr(args, name)
             for name in given if hasattr(config, name) and name not in RESUME_OVERRIDES}
    ignored = [f"--{name.replace('_', '-')} {value} (the run has {getattr(config, name)})"
               for name, value in sorted(flags.items()) if value != getattr(config, name)]
    if ignored:
        print(f"warning: resuming with the settings in {folder.file(CONFIG_FILE)}; ignoring " + ", ".join(ignored),
              file=sys.stderr)
    return dataclasses.replace(config, **{name: getattr(args, name) for name in RESUME_OVERRIDES
                                          if name == "epochs" or name in given})


def new_config(args, train, test):
    """The config of a new run: the flags, and the facts of its data that the model is rebuilt from."""
    if args.batch_size > len(train):
        print(f"note: --batch-size {args.batch_size} exceeds the {len(train)} training rows; "
              "using all of them as one batch")
    mean, std = loading.column_mean_std(train)
    digest = lambda path: path and loading.file_digest(path)  # noqa: E731
    flags = {name: getattr(args, name) for name in DEFAULTS if name not in ("checkpoint_dir", "logdir")}
    return RunConfig(**{**flags, "schema_version": SCHEMA_VERSION, "data": os.path.abspath(args.data),
                        "data_sha256": digest(args.data),
                        "test_data": args.test_data and os.path.abspath(args.test_data),
                        "test_data_sha256": digest(args.test_data), "batch_size": min(args.batch_size, len(train)),
                        "data_dim": int(train.shape[1]), "train_rows": len(train), "test_rows": len(test),
                        "data_shift": tuple(mean.tolist()), "data_scale": tuple(np.maximum(std, 1e-6).tolist())})


def check_training_memory(config):
    """Refuse, before TensorFlow loads, a model and batch that cannot fit in the available memory: the
    weights with their gradients and Adam's two moments (4 copies of float32), and the activations of the
    larger of a training batch and the test set (evaluated in one call), mc_samples draws of each row, kept
    for the backward pass (about 3 copies)."""
    units, dim, latent = config.hidden_units, config.data_dim, config.latent_dim
    weights = 2 * units * units + units * (dim + 2 * latent) + units * (latent + 2 * dim) + 4 * units
    rows = max(config.batch_size, config.test_rows) * config.mc_samples
    activations = rows * (2 * units + 2 * dim + 2 * latent)
    check_memory(4 * (4 * weights + 3 * activations),
                 f"--hidden-units {units}, --mc-samples {config.mc_samples} and {rows // config.mc_samples} rows "
                 f"of {dim} columns at a time")


def main(argv=None):
    """Parse and check the flags and data, then train."""
    command_started = time.perf_counter()
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    args = parser.parse_args(argv)

    def run():
        validate_flags(args)
        folder = RunFolder(args.checkpoint_dir)
        with folder.writing():
            if args.resume:
                config = resume_config(args, folder, given_flags(parser, argv))
                if config.epochs == folder.checkpoints()[0][0]:
                    print(f"{args.checkpoint_dir} already holds {config.epochs} epochs: nothing to train")
                    return 0
                train_rows, test_rows = load_run_data(config, stream=config.streaming)
            else:
                folder.begin(replace=args.overwrite)  # refuses a finished run before data or TensorFlow load
                train_rows, test_rows = load_split(args.data, args.test_data, args.test_fraction, args.seed,
                                                   stream=args.streaming)
                config = new_config(args, train_rows, test_rows)
            check_training_memory(config)
            print("\n".join(console.header_lines(config, args.checkpoint_dir, args.resume, args.overwrite)),
                  flush=True)
            return train(config, train_rows, test_rows, args, folder, command_started)

    return run_cli(run)
