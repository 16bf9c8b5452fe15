"""The training loop: compiled epochs, progress lines, NaN checks, TensorBoard scalars, and a commit into the
run folder at every save and on Ctrl-C or SIGTERM."""
import math
import os
import signal
import sys
import time

import numpy as np

from betavae.data import loading
from betavae.run.folder import HISTORY_COLUMNS, HISTORY_FILE, build_model, import_tensorflow
from betavae.training import console

# The noise key of every epoch's test loss: one fixed draw (common random numbers), so the test curve moves
# only when the model does. Training steps use keys >= 0, so it never repeats a training draw.
TEST_NOISE_KEY = -1


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


def train(config, train_rows, test_rows, folder, *, resume=False, logdir=None, verbose=False, started=None):
    """Train the run of config on train_rows (test loss on test_rows) into the RunFolder (held for writing),
    from its newest checkpoint if resume: compiled epochs, progress lines, and a commit at every save;
    returns the exit status. logdir: also write TensorBoard scalars there. verbose: show TensorFlow's log.
    started: time.perf_counter() when the command began, for the elapsed times and the ETA."""
    started = time.perf_counter() if started is None else started
    stop = StopRequest()
    try:
        return _train(config, train_rows, test_rows, folder, resume, logdir, verbose, started, stop)
    finally:
        stop.restore()


def _train(config, train_rows, test_rows, folder, resume, logdir, verbose, command_started, stop):
    importing = time.perf_counter()
    tf = import_tensorflow(verbose)
    print(console.device_line(tf, time.perf_counter() - importing), flush=True)
    from betavae.model.objectives import objective_for
    from betavae.model.vae import Trainer, linear_ramp, make_optimizer, scheduled_learning_rate

    tf.keras.utils.set_random_seed(config.seed)
    model = build_model(config)
    trainer = Trainer(model, make_optimizer(config.optimizer, config.lr), objective_for(config), config.seed,
                      config.mc_samples)
    checkpoint = tf.train.Checkpoint(model=model, optimizer=trainer.optimizer, epoch=tf.Variable(0, dtype=tf.int64))
    history = []
    if resume:
        done = folder.restore(checkpoint)
        history = folder.read_history(through=done)
        if len(history) != done:
            print(f"warning: {folder.file(HISTORY_FILE)} holds {len(history)} of the {done} epochs trained "
                  "(written by an older version?); the missing rows stay missing", file=sys.stderr)
        print(f"resuming {folder.path} after epoch {done}")
    writers = {name: tf.summary.create_file_writer(os.path.join(logdir, name))
               for name in console.TENSORBOARD_TAGS} if logdir else {}
    steps_per_epoch = math.ceil(len(train_rows) / config.batch_size)
    train_tensor = None if config.streaming else tf.constant(train_rows)
    test_tensor = tf.constant(test_rows)
    stop.install()
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
        indices, weights = loading.epoch_order(len(train_rows), config.batch_size, config.seed, epoch)
        if config.streaming:
            metrics = trainer.run_batches(streamed_batches(tf, train_rows, indices, weights), epoch * steps_per_epoch)
        else:
            metrics = trainer.run_epoch(train_tensor, indices, weights, epoch * steps_per_epoch)
        test = trainer.evaluate(test_tensor, key=TEST_NOISE_KEY)
        seconds = time.perf_counter() - started
        if not (all(map(math.isfinite, (*metrics, test.loss)))
                and all(np.all(np.isfinite(variable.numpy())) for variable in model.trainable_variables)):
            remedy = (f"the last good checkpoint (epoch {saved_epoch}) is kept; continue from it with a lower "
                      f"learning rate: python beta_vae_main.py --resume --checkpoint-dir {folder.path} "
                      f"--epochs {config.epochs} --lr {config.lr / 10:g}" if saved_epoch else
                      f"nothing was saved; start again with a --lr lower than {config.lr:g}")
            print(f"error: epoch {epoch + 1}: the loss became {metrics.loss} (test loss {test.loss}); {remedy}",
                  file=sys.stderr)
            return 1
        row = dict(zip(HISTORY_COLUMNS, (epoch + 1, metrics.loss, metrics.kl, metrics.log_likelihood, test.loss,
                                         seconds, trainer.beta.numpy(), trainer.capacity.numpy())))
        history.append(row)
        elapsed, eta = progress.record(epoch + 1, seconds, time.perf_counter())
        print(console.epoch_line(row, config.epochs, len(train_rows) / seconds, elapsed, eta,
                                 progress.compiling, schedule), flush=True)
        if writers:
            for name, scalars in console.tensorboard_scalars(row, test.kl, test.log_likelihood).items():
                with writers[name].as_default(step=epoch + 1):
                    for tag, value in scalars.items():
                        tf.summary.scalar(tag, value)
        checkpoint.epoch.assign(epoch + 1)
        if (epoch + 1) % config.save_every == 0 or epoch + 1 == config.epochs or stop.signal_number:
            saved_epoch = save(epoch + 1)
        if stop.signal_number:
            print(f"stopped by {signal.Signals(stop.signal_number).name} after epoch {epoch + 1}, checkpoint "
                  f"saved; continue with: python beta_vae_main.py --resume --checkpoint-dir "
                  f"{folder.path} --epochs {config.epochs}", file=sys.stderr)
            return 128 + stop.signal_number
    print("\n".join(console.summary_lines(history, time.perf_counter() - command_started, folder.path, logdir)))
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
