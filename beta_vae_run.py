"""A training run on disk (config.json, history.csv, checkpoint) and the plumbing both CLIs share.

Importing this module does not import TensorFlow: the CLIs check flags and data first, so that bad input
fails in a fraction of a second, and only then pay for TensorFlow's start-up.
"""
import argparse
import csv
import io
import json
import os
import sys

import numpy as np

import data_processing

CONFIG_FILE = "config.json"
HISTORY_FILE = "history.csv"
# beta and capacity: the effective values of the epoch under --kl-warmup-epochs and --capacity.
HISTORY_COLUMNS = ("epoch", "loss", "kl", "log_likelihood", "test_loss", "seconds", "beta", "capacity")


class UsageError(ValueError):
    """A mistake in the flags or files a user gave, reported as one line with exit status 2."""


class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """--help shows each flag's default once: not when its help already says it, nor for a required flag, a
    switch or a None default, where "(default: None)" would tell the reader nothing."""

    def _get_help_string(self, action):
        help_text = action.help or ""
        unset = action.default is None or action.default is False or action.default == argparse.SUPPRESS
        if action.required or not action.option_strings or unset or "default" in help_text.lower():
            return help_text
        return super()._get_help_string(action)


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr (exit status 2), like every other user error;
    its --help uses DefaultsHelpFormatter unless told otherwise."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", DefaultsHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        print(f"error: {message} (see --help)", file=sys.stderr)
        sys.exit(2)


def check_minimum(args, names, minimum):
    """Raise a UsageError naming the first of the flags `names` whose value is below `minimum`."""
    for name in names:
        if getattr(args, name) < minimum:
            raise UsageError(f"--{name.replace('_', '-')} must be at least {minimum}, got {getattr(args, name)}")


def run_cli(body):
    """Run a CLI body; report user errors as one line on stderr with exit status 2 instead of a traceback."""
    try:
        return body()
    except (UsageError, data_processing.DataError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def import_tensorflow(verbose=False):
    """Import TensorFlow with its C++ start-up log silenced unless verbose; returns the module.

    TF_CPP_MIN_LOG_LEVEL is not read by every library TensorFlow loads, so stderr is also muted while
    the import runs (and restored before any Python error could be shown)."""
    if verbose:
        import tensorflow as tf
        return tf
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    saved_stderr = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import tensorflow as tf
    finally:
        os.dup2(saved_stderr, 2)
        os.close(saved_stderr)
        os.close(devnull)
    tf.get_logger().setLevel("ERROR")
    return tf


def load_config(checkpoint_dir):
    """The config.json of a finished run, or a UsageError saying that the folder holds no run."""
    path = os.path.join(checkpoint_dir, CONFIG_FILE)
    if not os.path.isfile(path):
        raise UsageError(f"{checkpoint_dir}: no trained model here (no {CONFIG_FILE}); train one with "
                         f"python beta_vae_main.py --checkpoint-dir {checkpoint_dir}")
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except ValueError as error:
        raise UsageError(f"{path}: not valid JSON ({error})") from None


def load_run_data(config, stream=False):
    """The training and test rows of a run, as float32; refuses a data file changed since training.

    stream: leave the training rows in the memory-mapped .npy file (a data_processing.RowSubset)."""
    data = data_processing.load_data(config["data"], memory_map=stream)
    digest = data_processing.file_digest(config["data"])
    if config.setdefault("data_sha256", digest) != digest:
        raise UsageError(f"{config['data']}: file changed since this run was trained")
    if config["test_data"]:
        train_rows, test = np.arange(len(data)), data_processing.load_data(config["test_data"])
        if test.shape[1] != data.shape[1]:
            raise UsageError(f"{config['test_data']}: has {test.shape[1]} columns, the training data "
                             f"{data.shape[1]}")
    else:
        try:
            train_rows, test_rows = data_processing.split_indices(len(data), config["test_fraction"], config["seed"])
        except data_processing.DataError as error:
            raise data_processing.DataError(f"{config['data']}: {error}") from None
        test = data[test_rows]
    train = data_processing.RowSubset(data, train_rows) if stream else data[train_rows].astype(np.float32)
    return train, np.asarray(test, dtype=np.float32)


def write_history(checkpoint_dir, rows):
    """Write history.csv atomically, one row per epoch."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=HISTORY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({name: row[name] for name in HISTORY_COLUMNS} for row in rows)
    data_processing.atomic_write_text(os.path.join(checkpoint_dir, HISTORY_FILE), text.getvalue())


def read_history(checkpoint_dir):
    """The rows of history.csv as dicts of numbers (epoch as int); empty when there is none yet."""
    path = os.path.join(checkpoint_dir, HISTORY_FILE)
    if not os.path.isfile(path):
        return []
    with open(path, encoding="utf-8") as handle:
        return [{name: int(value) if name == "epoch" else float(value) for name, value in row.items()}
                for row in csv.DictReader(handle)]


def build_model(config):
    """A fresh BetaVAE with the architecture and data standardisation recorded in config."""
    from beta_vae_models import BetaVAE
    return BetaVAE(config["data_dim"], config["latent_dim"], config["hidden_units"],
                   config["data_shift"], config["data_scale"])


def checkpoint_manager(model, optimizer, checkpoint_dir):
    """A tf.train.Checkpoint of model, optimizer and epoch, and the manager that saves it in checkpoint_dir."""
    import tensorflow as tf
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, epoch=tf.Variable(0, dtype=tf.int64))
    return checkpoint, tf.train.CheckpointManager(checkpoint, checkpoint_dir, max_to_keep=3)


def restore_model(checkpoint_dir, verbose=False):
    """Rebuild the trained model from config.json and the latest checkpoint; returns (model, config).

    A checkpoint of another architecture, or a missing one, is a UsageError naming the folder."""
    config = load_config(checkpoint_dir)
    tf = import_tensorflow(verbose)
    model = build_model(config)
    latest = tf.train.latest_checkpoint(checkpoint_dir)
    if latest is None:
        raise UsageError(f"{checkpoint_dir}: {CONFIG_FILE} but no checkpoint files; was training stopped "
                         "before its first save?")
    restore_checkpoint(tf.train.Checkpoint(model=model), latest, partial=True)
    return model, config


def restore_checkpoint(checkpoint, path, partial=False):
    """Restore a tf.train.Checkpoint, turning a mismatch (another architecture, a damaged file) into a
    one-line UsageError. partial: the file may hold more than checkpoint asks for (the optimizer)."""
    import tensorflow as tf
    try:
        status = checkpoint.restore(path)
        (status.expect_partial() if partial else status).assert_existing_objects_matched()
    except (AssertionError, ValueError, tf.errors.OpError) as error:
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise UsageError(f"{path}: does not match the model described by {CONFIG_FILE} "
                         f"({first_line[:200]})") from None
