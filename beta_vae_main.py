"""Train a beta-VAE on vector data and checkpoint it: `python beta_vae_main.py --beta 4 --epochs 200`.

Writes into --checkpoint-dir a TensorFlow checkpoint (model, optimizer, epoch), config.json (everything
needed to rebuild the model and the data split) and history.csv (one row per epoch).
"""
import argparse
import importlib.util
import json
import math
import os
import signal
import sys
import time

import numpy as np

import data_processing
from beta_vae_run import (CONFIG_FILE, HISTORY_COLUMNS, HISTORY_FILE, OneLineParser, UsageError, check_minimum,
                          import_tensorflow, load_config, load_run_data, read_history, restore_checkpoint,
                          run_cli, write_history)

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
    parser = OneLineParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
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
    check_minimum(args, ("epochs", "batch_size", "latent_dim", "hidden_units", "mc_samples", "save_every"), 1)
    check_minimum(args, ("kl_warmup_epochs", "capacity_epochs"), 0)
    if args.capacity is not None and not (args.capacity >= 0 and math.isfinite(args.capacity)):
        raise UsageError(f"--capacity must be a finite number of nats >= 0, got {args.capacity}")
    if not args.gamma > 0 or not math.isfinite(args.gamma):
        raise UsageError(f"--gamma must be a finite number > 0, got {args.gamma}")
    if not args.beta >= 0 or not math.isfinite(args.beta):
        raise UsageError(f"--beta must be a finite number >= 0, got {args.beta}")
    if not args.lr > 0 or not math.isfinite(args.lr):
        raise UsageError(f"--lr must be a finite number > 0, got {args.lr}")
    if not 0 < args.test_fraction < 1:
        raise UsageError(f"--test-fraction must lie strictly between 0 and 1, got {args.test_fraction}")
    if args.resume and args.overwrite:
        raise UsageError("--resume and --overwrite exclude each other")
    if args.logdir and importlib.util.find_spec("tensorboard") is None:
        raise UsageError("--logdir needs the tensorboard package: pip install -r requirements.txt")


def prepare_run(args):
    """The run's config: from config.json when resuming, else from the flags and the data."""
    config_path = os.path.join(args.checkpoint_dir, CONFIG_FILE)
    if args.resume:
        if not os.path.isfile(config_path):
            raise UsageError(f"{args.checkpoint_dir}: nothing to resume (no {CONFIG_FILE})")
        config = load_config(args.checkpoint_dir)
        ignored = [name for name in DEFAULTS if name not in RESUME_OVERRIDES + ("logdir", "checkpoint_dir")
                   and getattr(args, name) != DEFAULTS[name][0] and getattr(args, name) != config.get(name)]
        if ignored:
            print(f"note: resuming with the settings in {config_path}; ignoring "
                  + ", ".join("--" + name.replace("_", "-") for name in ignored))
        config.update({name: getattr(args, name) for name in RESUME_OVERRIDES
                       if name == "epochs" or getattr(args, name) != DEFAULTS[name][0]})
        return config
    if os.path.isfile(config_path) and not args.overwrite:
        raise UsageError(f"{args.checkpoint_dir} already holds a run; pass --resume to continue it, "
                         "--overwrite to replace it, or choose another --checkpoint-dir")
    config = {name: getattr(args, name) for name in DEFAULTS if name != "logdir"}
    config["data"] = os.path.abspath(args.data)
    config["test_data"] = os.path.abspath(args.test_data) if args.test_data else None
    return config


def load_split(config):
    """Training and test rows of the run; records the data facts the model is rebuilt from."""
    train, test = load_run_data(config, stream=config["streaming"])
    config.update(data_dim=int(train.shape[1]), train_rows=len(train), test_rows=len(test))
    if "data_shift" not in config:
        mean, std = data_processing.column_mean_std(train)
        config.update(data_shift=mean.tolist(), data_scale=np.maximum(std, 1e-6).tolist())
    if config["batch_size"] > len(train):
        print(f"note: --batch-size {config['batch_size']} exceeds the {len(train)} training rows; "
              "using all of them as one batch")
        config["batch_size"] = len(train)
    return train, test


class StopRequest:
    """Remembers a Ctrl-C or SIGTERM, so training stops after the current epoch and saves it."""

    def __init__(self):
        self.signal_number = None
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, self._handle)

    def _handle(self, number, _frame):
        self.signal_number = number


def train(config, train_rows, test_rows, args):
    """The training loop: compiled epochs, progress lines, checkpoints, history; returns the exit status."""
    tf = import_tensorflow(args.verbose)
    from beta_vae_models import Trainer, linear_ramp, make_optimizer, scheduled_learning_rate
    from beta_vae_run import build_model, checkpoint_manager

    tf.keras.utils.set_random_seed(config["seed"])
    model = build_model(config)
    trainer = Trainer(model, make_optimizer(config["optimizer"], config["lr"]), config["beta"], config["seed"],
                      config["mc_samples"], gamma=None if config["capacity"] is None else config["gamma"])
    checkpoint, manager = checkpoint_manager(model, trainer.optimizer, args.checkpoint_dir)
    history = []
    if args.resume:
        restore_checkpoint(checkpoint, manager.latest_checkpoint)
        done = int(checkpoint.epoch.numpy())
        history = [row for row in read_history(args.checkpoint_dir) if row["epoch"] <= done]
        print(f"resuming {args.checkpoint_dir} after epoch {done}")
    elif args.overwrite:
        remove_run(args.checkpoint_dir)
    os.makedirs(args.checkpoint_dir, exist_ok=True)
    data_processing.atomic_write_text(os.path.join(args.checkpoint_dir, CONFIG_FILE),
                                      json.dumps(config, indent=1) + "\n")
    writer = tf.summary.create_file_writer(args.logdir) if args.logdir else None
    steps_per_epoch = math.ceil(len(train_rows) / config["batch_size"])
    train_tensor = None if config["streaming"] else tf.constant(train_rows)
    test_tensor = tf.constant(test_rows)
    stop = StopRequest()
    saved_epoch = int(checkpoint.epoch.numpy())

    def save(epoch):
        manager.save(checkpoint_number=epoch)
        write_history(args.checkpoint_dir, history)
        return epoch

    for epoch in range(saved_epoch, config["epochs"]):
        started = time.perf_counter()
        trainer.optimizer.learning_rate.assign(scheduled_learning_rate(
            epoch, config["lr"], config["epochs"], config.get("lr_schedule", "constant")))
        trainer.beta.assign(linear_ramp(epoch, config["beta"], config["kl_warmup_epochs"]))
        trainer.capacity.assign(linear_ramp(epoch, config["capacity"] or 0.0, config["capacity_epochs"]))
        indices, weights = data_processing.epoch_order(len(train_rows), config["batch_size"], config["seed"], epoch)
        if config["streaming"]:
            loss, kl, log_likelihood = trainer.run_batches(streamed_batches(tf, train_rows, indices, weights),
                                                           epoch * steps_per_epoch)
        else:
            loss, kl, log_likelihood = trainer.run_epoch(train_tensor, indices, weights, epoch * steps_per_epoch)
        test_loss = trainer.evaluate(test_tensor, key=-1 - epoch)[0]
        seconds = time.perf_counter() - started
        if not (all(map(math.isfinite, (loss, kl, log_likelihood, test_loss)))
                and all(np.all(np.isfinite(variable.numpy())) for variable in model.trainable_variables)):
            remedy = (f"the last good checkpoint (epoch {saved_epoch}) is kept; continue from it with a lower "
                      f"learning rate: python beta_vae_main.py --resume --checkpoint-dir {args.checkpoint_dir} "
                      f"--epochs {config['epochs']} --lr {config['lr'] / 10:g}" if saved_epoch else
                      f"nothing was saved; start again with a --lr lower than {config['lr']:g}")
            print(f"error: epoch {epoch + 1}: the loss became {loss} (test loss {test_loss}); {remedy}",
                  file=sys.stderr)
            return 1
        row = dict(zip(HISTORY_COLUMNS, (epoch + 1, loss, kl, log_likelihood, test_loss, seconds,
                                         trainer.beta.numpy(), trainer.capacity.numpy())))
        history.append(row)
        schedule = (f"  beta {row['beta']:.3g}" if config["kl_warmup_epochs"] else "") + \
            (f"  C {row['capacity']:.3g}" if config["capacity"] is not None else "")
        print(f"epoch {epoch + 1:4d}/{config['epochs']}{schedule}  loss {loss:9.4f}  kl {kl:7.4f}  "
              f"log_likelihood {log_likelihood:9.4f}  test_loss {test_loss:9.4f}  "
              f"{len(train_rows) / seconds:9,.0f} samples/s", flush=True)
        if writer:
            with writer.as_default(step=epoch + 1):
                for name in HISTORY_COLUMNS[1:]:
                    tf.summary.scalar(name, row[name])
        checkpoint.epoch.assign(epoch + 1)
        if (epoch + 1) % config["save_every"] == 0 or epoch + 1 == config["epochs"] or stop.signal_number:
            saved_epoch = save(epoch + 1)
        if stop.signal_number:
            print(f"stopped by {signal.Signals(stop.signal_number).name} after epoch {epoch + 1}, checkpoint "
                  f"saved; continue with: python beta_vae_main.py --resume --checkpoint-dir "
                  f"{args.checkpoint_dir} --epochs {config['epochs']}", file=sys.stderr)
            return 128 + stop.signal_number
    if saved_epoch < config["epochs"]:
        save(config["epochs"])
    print(f"trained {config['epochs']} epochs; checkpoint, {CONFIG_FILE} and {HISTORY_FILE} in "
          f"{args.checkpoint_dir}")
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


def remove_run(checkpoint_dir):
    """Delete the files of an earlier run (only those this script writes) before --overwrite replaces it."""
    for name in os.listdir(checkpoint_dir) if os.path.isdir(checkpoint_dir) else ():
        if name.startswith("ckpt-") or name in ("checkpoint", CONFIG_FILE, HISTORY_FILE):
            os.remove(os.path.join(checkpoint_dir, name))


def main(argv=None):
    """Parse and check the flags and data, then train."""
    args = build_parser().parse_args(argv)

    def run():
        validate_flags(args)
        config = prepare_run(args)
        train_rows, test_rows = load_split(config)
        return train(config, train_rows, test_rows, args)

    return run_cli(run)


if __name__ == "__main__":
    sys.exit(main())
