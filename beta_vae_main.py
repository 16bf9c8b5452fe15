"""Train a beta-VAE on vector data and checkpoint it: `python beta_vae_main.py --beta 4 --epochs 200`.

Writes into --checkpoint-dir a TensorFlow checkpoint (model, optimizer, epoch), config.json (everything
needed to rebuild the model and the data split) and history.csv (one row per epoch).
"""
import argparse
import dataclasses
import importlib.util
import math
import os
import signal
import sys
import time

import numpy as np

import beta_vae_console as console
import data_processing
from beta_vae_run import (CONFIG_FILE, HISTORY_COLUMNS, HISTORY_FILE, OneLineParser, RunFolder, UsageError,
                          import_tensorflow, load_run_data, load_split, run_cli)
from run_config import SCHEMA_VERSION, RunConfig, check_flags

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

# The noise key of every epoch's test loss: one fixed draw (common random numbers), so the test curve moves
# only when the model does. Training steps use keys >= 0, so it never repeats a training draw.
TEST_NOISE_KEY = -1
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
    mean, std = data_processing.column_mean_std(train)
    digest = lambda path: path and data_processing.file_digest(path)  # noqa: E731
    flags = {name: getattr(args, name) for name in DEFAULTS if name not in ("checkpoint_dir", "logdir")}
    return RunConfig(**{**flags, "schema_version": SCHEMA_VERSION, "data": os.path.abspath(args.data),
                        "data_sha256": digest(args.data),
                        "test_data": args.test_data and os.path.abspath(args.test_data),
                        "test_data_sha256": digest(args.test_data), "batch_size": min(args.batch_size, len(train)),
                        "data_dim": int(train.shape[1]), "train_rows": len(train), "test_rows": len(test),
                        "data_shift": tuple(mean.tolist()), "data_scale": tuple(np.maximum(std, 1e-6).tolist())})


class StopRequest:
    """Remembers a Ctrl-C or SIGTERM, so training stops after the current epoch and saves it."""

    def __init__(self):
        self.signal_number = None
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, self._handle)

    def _handle(self, number, _frame):
        self.signal_number = number


def train(config, train_rows, test_rows, args, folder, command_started):
    """The training loop: compiled epochs, progress lines, and a commit into the run folder at every save;
    returns the exit status. command_started: time.perf_counter() when the command began, for the elapsed
    times and the ETA."""
    importing = time.perf_counter()
    tf = import_tensorflow(args.verbose)
    print(console.device_line(tf, time.perf_counter() - importing), flush=True)
    from beta_vae_models import Trainer, linear_ramp, make_optimizer, scheduled_learning_rate
    from beta_vae_run import build_model

    tf.keras.utils.set_random_seed(config.seed)
    model = build_model(config)
    trainer = Trainer(model, make_optimizer(config.optimizer, config.lr), config.beta, config.seed,
                      config.mc_samples, gamma=None if config.capacity is None else config.gamma)
    checkpoint = tf.train.Checkpoint(model=model, optimizer=trainer.optimizer, epoch=tf.Variable(0, dtype=tf.int64))
    history = []
    if args.resume:
        done = folder.restore(checkpoint)
        history = folder.read_history(through=done)
        if len(history) != done:
            print(f"warning: {folder.file(HISTORY_FILE)} holds {len(history)} of the {done} epochs trained "
                  "(written by an older version?); the missing rows stay missing", file=sys.stderr)
        print(f"resuming {args.checkpoint_dir} after epoch {done}")
    writer = tf.summary.create_file_writer(args.logdir) if args.logdir else None
    steps_per_epoch = math.ceil(len(train_rows) / config.batch_size)
    train_tensor = None if config.streaming else tf.constant(train_rows)
    test_tensor = tf.constant(test_rows)
    stop = StopRequest()
    progress = console.Progress(command_started, config.epochs)
    schedule = console.schedule_columns(config)
    print(console.epoch_table_header(config.epochs, schedule))
    saved_epoch = int(checkpoint.epoch.numpy())

    def save(epoch):
        folder.commit(config, history, checkpoint)
        return epoch

    for epoch in range(saved_epoch, config.epochs):
        started = time.perf_counter()
        trainer.optimizer.learning_rate.assign(scheduled_learning_rate(epoch, config.lr, config.epochs,
                                                                       config.lr_schedule))
        trainer.beta.assign(linear_ramp(epoch, config.beta, config.kl_warmup_epochs))
        trainer.capacity.assign(linear_ramp(epoch, config.capacity or 0.0, config.capacity_epochs))
        indices, weights = data_processing.epoch_order(len(train_rows), config.batch_size, config.seed, epoch)
        if config.streaming:
            loss, kl, log_likelihood = trainer.run_batches(streamed_batches(tf, train_rows, indices, weights),
                                                           epoch * steps_per_epoch)
        else:
            loss, kl, log_likelihood = trainer.run_epoch(train_tensor, indices, weights, epoch * steps_per_epoch)
        test_loss, test_kl, test_log_likelihood = trainer.evaluate(test_tensor, key=TEST_NOISE_KEY)
        seconds = time.perf_counter() - started
        if not (all(map(math.isfinite, (loss, kl, log_likelihood, test_loss)))
                and all(np.all(np.isfinite(variable.numpy())) for variable in model.trainable_variables)):
            remedy = (f"the last good checkpoint (epoch {saved_epoch}) is kept; continue from it with a lower "
                      f"learning rate: python beta_vae_main.py --resume --checkpoint-dir {args.checkpoint_dir} "
                      f"--epochs {config.epochs} --lr {config.lr / 10:g}" if saved_epoch else
                      f"nothing was saved; start again with a --lr lower than {config.lr:g}")
            print(f"error: epoch {epoch + 1}: the loss became {loss} (test loss {test_loss}); {remedy}",
                  file=sys.stderr)
            return 1
        row = dict(zip(HISTORY_COLUMNS, (epoch + 1, loss, kl, log_likelihood, test_loss, seconds,
                                         trainer.beta.numpy(), trainer.capacity.numpy())))
        history.append(row)
        elapsed, eta = progress.record(epoch + 1, seconds, time.perf_counter())
        print(console.epoch_line(row, config.epochs, len(train_rows) / seconds, elapsed, eta,
                                 progress.compiling, schedule), flush=True)
        if writer:
            with writer.as_default(step=epoch + 1):
                for tag, value in console.tensorboard_scalars(row, test_kl, test_log_likelihood).items():
                    tf.summary.scalar(tag, value)
        checkpoint.epoch.assign(epoch + 1)
        if (epoch + 1) % config.save_every == 0 or epoch + 1 == config.epochs or stop.signal_number:
            saved_epoch = save(epoch + 1)
        if stop.signal_number:
            print(f"stopped by {signal.Signals(stop.signal_number).name} after epoch {epoch + 1}, checkpoint "
                  f"saved; continue with: python beta_vae_main.py --resume --checkpoint-dir "
                  f"{args.checkpoint_dir} --epochs {config.epochs}", file=sys.stderr)
            return 128 + stop.signal_number
    print("\n".join(console.summary_lines(history, time.perf_counter() - command_started, args.checkpoint_dir,
                                          args.logdir)))
    return 0


def streamed_batches(tf, rows, indices, weights):
    """A tf.data pipeline reading each batch's rows from disk (a RowSubset), one batch ahead of training."""
    batch_shape = [indices.shape[1], rows.shape[1]]

    def read(positions):
        return rows[positions]

    dataset = tf.data.Dataset.from_tensor_slices((indices, weights)).map(
        lambda positions, row_weights: (tf.ensure_shape(tf.numpy_function(read, [positions], tf.float32),
                                                        batch_shape), row_weights))
    return dataset.prefetch(2)


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
            print("\n".join(console.header_lines(config, args.checkpoint_dir, args.resume, args.overwrite)),
                  flush=True)
            return train(config, train_rows, test_rows, args, folder, command_started)

    return run_cli(run)


if __name__ == "__main__":
    sys.exit(main())
