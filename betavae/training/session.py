"""Training as a library function: train() runs the compiled epochs with progress lines, NaN checks,
TensorBoard scalars and a commit into the run folder at every save and on Ctrl-C or SIGTERM, raising Stopped or
Diverged instead of returning exit statuses; train_settings() goes from training settings to a config and
rows and trains. The training CLI, the Python API and the sweep's workers all call them."""
import math
import os
import signal
import time

import numpy as np

from betavae.cli import UsageError, warn
from betavae.data import loading
from betavae.data.run_rows import load_run_data, load_split
from betavae.fields import spelled, train_call
from betavae.objectives import objective_of
from betavae.run.folder import HISTORY_FILE, RunFolder, build_model, history_columns, import_tensorflow
from betavae.training import console
from betavae.training.flags import check_data_file, validate_flags
from betavae.training.setup import check_training_memory, new_config, resume_config
from betavae.words import counted

# The noise key of every epoch's test loss: one fixed draw (common random numbers), so the test curve moves
# only when the model does. Training steps use keys >= 0, so it never repeats a training draw.
TEST_NOISE_KEY = -1
ARRAY_LABEL = "the data array"  # what messages call an array given to train(), not the run's copy of it


class Stopped(KeyboardInterrupt):
    """Training stopped by Ctrl-C or SIGTERM after saving its last epoch; the message says how to continue."""

    def __init__(self, signal_number, message):
        super().__init__(message)
        self.signal_number = signal_number


class Diverged(UsageError):
    """The loss became non-finite; the last good checkpoint (if any) is kept. The message names the remedy."""


class StopRequest:
    """Once installed, remembers a Ctrl-C or SIGTERM, so training stops after the current epoch and saves
    it; restore() brings back the handlers before it (so a notebook's Ctrl-C interrupts again afterwards)."""

    def __init__(self):
        self.signal_number = None
        self._previous = {}

    def install(self):
        for number in (signal.SIGINT, signal.SIGTERM):
            self._previous[number] = signal.signal(number, self._handle)

    def restore(self):
        for number, handler in self._previous.items():
            signal.signal(number, handler)

    def _handle(self, number, _frame):
        self.signal_number = number


def train_settings(settings, given=(), array=None, *, names=None, on_epoch=None, started=None):
    """Check training settings (a namespace with one attribute per training flag), then train a new run into,
    or resume the one in, settings.checkpoint_dir (train()); returns its history. given: the names of the
    settings chosen (not defaults), for --resume's warning. array: rows to train on, written as the run's own
    data.npy (settings.data names it), with the names of its columns if `names`. started: time.perf_counter()
    when the command began."""
    started = time.perf_counter() if started is None else started
    validate_flags(settings)
    if not settings.resume and array is None:
        check_data_file(settings.data)  # before the run folder is made
    folder = RunFolder(settings.checkpoint_dir)
    with folder.writing():
        if settings.resume:
            config = resume_config(settings, folder, given)
            folder.read_history()  # a damaged history.csv is refused now, before TensorFlow loads
            if config.epochs == folder.epochs_done():
                print(f"{settings.checkpoint_dir} already holds {counted(config.epochs, 'epoch')}: nothing to train")
                return folder.read_history()
            train_rows, test_rows = load_run_data(config, stream=config.streaming)
        else:
            folder.begin(replace=settings.overwrite)  # refuses a finished run before data or TensorFlow load
            data_file = None if array is None else folder.save_data(array, names)
            train_rows, test_rows, names = load_split(data_file or settings.data, settings.test_data,
                                                      settings.test_fraction, settings.seed, settings.streaming,
                                                      settings.columns, label=data_file and ARRAY_LABEL)
            config = new_config(settings, train_rows, test_rows, data_file, names)
        check_training_memory(config)
        print("\n".join(console.header_lines(config, settings.checkpoint_dir, settings.resume, settings.overwrite)),
              flush=True)
        return train(config, train_rows, test_rows, folder, resume=settings.resume, on_epoch=on_epoch,
                     logdir=settings.logdir, verbose=settings.verbose, started=started)


def train(config, train_rows, test_rows, folder, *, resume=False, on_epoch=None, logdir=None, verbose=False,
          started=None):
    """Train the run of config on train_rows (test loss on test_rows) into the RunFolder (held for writing),
    from its newest checkpoint if resume: compiled epochs, progress lines, and a commit at every save;
    returns the history (one dict per epoch, run.folder.history_columns). Raises Stopped after saving on Ctrl-C or
    SIGTERM, Diverged when the loss becomes non-finite (nothing good overwritten). on_epoch: called with each
    epoch's history row once it is recorded. logdir: also write TensorBoard scalars there. verbose: show
    TensorFlow's log. started: time.perf_counter() when the command began, for the elapsed times and ETA."""
    started = time.perf_counter() if started is None else started
    stop = StopRequest()
    try:
        return _train(config, train_rows, test_rows, folder, resume, on_epoch, logdir, verbose, started, stop)
    finally:
        stop.restore()


def _train(config, train_rows, test_rows, folder, resume, on_epoch, logdir, verbose, command_started, stop):
    importing = time.perf_counter()
    tf = import_tensorflow(verbose)
    print(console.device_line(tf, time.perf_counter() - importing), flush=True)
    from betavae.model.objectives import objective_for
    from betavae.model.vae import Trainer, linear_ramp, make_optimizer, scheduled_learning_rate

    tf.keras.utils.set_random_seed(config.seed)
    model = build_model(config)
    metrics = objective_of(config).metrics
    trainer = Trainer(model, make_optimizer(config.optimizer, config.lr), objective_for(config), config.seed,
                      config.mc_samples, metrics)
    checkpoint = tf.train.Checkpoint(model=model, optimizer=trainer.optimizer, epoch=tf.Variable(0, dtype=tf.int64))
    history = []
    if resume:
        done = folder.restore(checkpoint)
        history = folder.read_history(through=done)
        if len(history) != done:
            warn(f"{folder.file(HISTORY_FILE)} holds {len(history)} of the {counted(done, 'epoch')} trained (written "
                 "by an older version?); the missing rows stay missing")
        print(f"resuming {folder.path} after epoch {done}")
    writers = {name: tf.summary.create_file_writer(os.path.join(logdir, name))
               for name in console.TENSORBOARD_WRITERS} if logdir else {}
    steps_per_epoch = math.ceil(len(train_rows) / config.batch_size)
    train_tensor = None if config.streaming else tf.constant(train_rows)
    test_tensor = tf.constant(test_rows)
    stop.install()
    progress = console.Progress(command_started, config.epochs)
    schedule = console.schedule_columns(config)
    print(console.epoch_table_header(config.epochs, schedule, metrics))
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
        indices, weights = loading.epoch_order(len(train_rows), config.batch_size, config.seed, epoch)
        if config.streaming:
            means = trainer.run_batches(streamed_batches(tf, train_rows, indices, weights), epoch * steps_per_epoch)
        else:
            means = trainer.run_epoch(train_tensor, indices, weights, epoch * steps_per_epoch)
        test = trainer.evaluate(test_tensor, key=TEST_NOISE_KEY)
        seconds = time.perf_counter() - started
        if not (all(map(math.isfinite, (*means.values(), test.loss)))
                and all(np.all(np.isfinite(variable.numpy())) for variable in model.trainable_variables)):
            lower = float(f"{config.lr / 10:g}")
            remedy = (f"the last good checkpoint (epoch {saved_epoch}) is kept; continue from it with a lower "
                      "learning rate: " + train_call(checkpoint_dir=folder.path, resume=True, epochs=config.epochs,
                                                     lr=lower) if saved_epoch else
                      f"nothing was saved; start again with {spelled('lr')} lower than {config.lr:g}")
            raise Diverged(f"epoch {epoch + 1}: the loss became {means.loss} (test loss {test.loss}); {remedy}")
        row = dict(zip(history_columns(metrics), (epoch + 1, *means.values(), test.loss, seconds,
                                                  trainer.beta.numpy(), trainer.capacity.numpy())))
        history.append(row)
        if on_epoch is not None:
            on_epoch(row)
        elapsed, eta = progress.record(epoch + 1, seconds, time.perf_counter())
        print(console.epoch_line(row, config.epochs, len(train_rows) / seconds, elapsed, eta,
                                 progress.compiling, schedule, metrics), flush=True)
        if writers:
            for name, scalars in console.tensorboard_scalars(row, test, metrics).items():
                with writers[name].as_default(step=epoch + 1):
                    for tag, value in scalars.items():
                        tf.summary.scalar(tag, value)
        checkpoint.epoch.assign(epoch + 1)
        if (epoch + 1) % config.save_every == 0 or epoch + 1 == config.epochs or stop.signal_number:
            saved_epoch = save(epoch + 1)
        if stop.signal_number:
            raise Stopped(stop.signal_number, f"stopped by {signal.Signals(stop.signal_number).name} after epoch "
                          f"{epoch + 1}, checkpoint saved; continue with: "
                          + train_call(checkpoint_dir=folder.path, resume=True, epochs=config.epochs))
    print("\n".join(console.summary_lines(history, time.perf_counter() - command_started, folder.path, logdir)))
    return history


def streamed_batches(tf, rows, indices, weights):
    """A tf.data pipeline reading each batch's rows from disk (a RowSubset), one batch ahead of training."""
    batch_shape = [indices.shape[1], rows.shape[1]]

    def read(positions):
        return rows[positions]

    dataset = tf.data.Dataset.from_tensor_slices((indices, weights)).map(
        lambda positions, row_weights: (tf.ensure_shape(tf.numpy_function(read, [positions], tf.float32),
                                                        batch_shape), row_weights))
    return dataset.prefetch(2)
