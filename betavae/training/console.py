"""What training reports: the start-up header, the device line, one line per epoch with its ETA, the final
summary, and the TensorBoard tags.

Formatting only, from a run's config (a run_config.RunConfig) and its history rows; it imports neither
TensorFlow nor numpy, so the header can be printed before TensorFlow's slow start-up.
"""
import os
import shlex

from betavae.words import counted
from betavae.fields import speaking_python, spelled
from betavae.objectives import BASE_METRICS, epoch_label, objective_of

# TensorBoard draws one chart per tag, with a line per run (writer folder): so train and test of a quantity
# are one tag written by two writers, <logdir>/train and <logdir>/test.
TENSORBOARD_WRITERS = ("train", "test")
SCHEDULE_LABELS = {"beta": "beta", "capacity": "C"}


def duration(seconds):
    """A wall time as m:ss, or h:mm:ss from an hour on: short enough for an epoch line."""
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def rate(rows_per_second):
    """A throughput as 950/s, 31.2k/s or 1.25M/s: three significant digits are all a reader compares."""
    for scale, suffix in ((1e6, "M"), (1e3, "k")):
        if rows_per_second >= scale:
            return f"{rows_per_second / scale:.3g}{suffix}/s"
    return f"{rows_per_second:.0f}/s"


def _shown_path(path):
    """A path relative to the working directory when that is shorter, as a user would type it."""
    relative = os.path.relpath(path)
    return relative if len(relative) < len(path) else path


def posterior_note(config):
    """The model line's note on a posterior other than the diagonal Gaussian (none for that default)."""
    if config.posterior == "diagonal_gaussian":
        return ""
    if config.posterior == "mixture":
        return f"; q(z|x) a mixture of {config.components} diagonal Gaussians"
    if config.posterior == "flow":
        return f"; q(z|x) a diagonal Gaussian through {counted(config.flow_steps, 'affine coupling step')}"
    return f"; q(z|x) {config.posterior}"


def header_lines(config, checkpoint_dir, resume=False, overwrite=False):
    """The lines printed before TensorFlow loads: the data, the model and its objective (beta, warm-up,
    capacity), the optimiser, where the run goes, and what the epoch lines' columns mean."""
    action = (f"resuming, up to epoch {config.epochs}" if resume else
              f"{config.epochs} epoch{'s' * (config.epochs != 1)}"
              + (", replacing the run there" if overwrite else ""))
    held_out = (f"from {_shown_path(config.test_data)}" if config.test_data else
                f"{config.test_fraction:.0%} held out, seed {config.seed}")
    objective = objective_of(config).describe(config)
    steps = -(-config.train_rows // config.batch_size)
    chosen = "" if config.columns is None else f" ({spelled('columns', config.columns)})"
    return [f"beta-VAE training into {_shown_path(checkpoint_dir)} ({action})",
            f"  data       {_shown_path(config.data)}: D = {config.data_dim}{chosen}, {config.train_rows:,} train "
            f"/ {counted(config.test_rows, 'test row', spec=',')} ({held_out})",
            f"  model      latent {config.latent_dim}, hidden 2 x {counted(config.hidden_units, 'unit')}"
            + posterior_note(config),
            f"  objective  {objective}",
            f"  optimiser  {config.optimizer}, lr {config.lr:g}, batch {config.batch_size} ({counted(steps, 'step')}"
            f"/epoch), {counted(config.mc_samples, 'z draw')} per row, seed {config.seed}",
            "  columns    nats/sample; ll = E_q log p(x|z); test: the test rows with the same noise every epoch",
            *(f"             {line}" for line in objective_of(config).columns(config))]


def device_line(tf, import_seconds):
    """Which device TensorFlow chose (the GPU's name, or the CPU), and how long its import took."""
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        names = [tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name) for gpu in gpus]
        device = "GPU " + ", ".join(names)
    else:
        device = f"CPU ({counted(os.cpu_count(), 'core')}; no GPU found)"
    return f"TensorFlow {tf.__version__} loaded in {import_seconds:.1f} s; training on {device}"


class Progress:
    """Elapsed time and ETA of the epochs of one process. Its first epoch compiles (often tens of epochs'
    worth of time), so there is no ETA until a second epoch has been timed, and that one leaves it out."""

    def __init__(self, started, total_epochs):
        """started: time.perf_counter() when the command began; total_epochs: the run's last epoch."""
        self.started = started
        self.total_epochs = total_epochs
        self.epoch_seconds = []

    def record(self, epoch, seconds, now):
        """Note that `epoch` (1-based) took `seconds`; returns (elapsed since the command began, ETA) at `now`;
        the ETA is None after the compile epoch, unless it was the last."""
        self.epoch_seconds.append(seconds)
        settled = self.epoch_seconds[1:]
        remaining = self.total_epochs - epoch
        if not remaining:
            return now - self.started, 0.0
        return now - self.started, remaining * sum(settled) / len(settled) if settled else None

    @property
    def compiling(self):
        """True while the last recorded epoch is this process's first, whose time includes compilation."""
        return len(self.epoch_seconds) == 1


def schedule_columns(config):
    """The history column that changes over the run and so gets an epoch-table column (the objective's)."""
    return objective_of(config).schedule(config)


def _table_row(cells, total_epochs):
    """Cells right-aligned in the epoch table's columns (the throughput's one narrower), a space between
    any two, so that a wider value shifts the line rather than running into its neighbour."""
    epoch_width = max(len("epoch"), 2 * len(str(total_epochs)) + 1)
    return (f"{cells[0]:>{epoch_width}}" + "".join(f" {cell:>8}" for cell in cells[1:-1])
            + f" {cells[-1]:>7}")


def epoch_table_header(total_epochs, schedule=(), metrics=BASE_METRICS):
    """The column names above the epoch lines (see epoch_line): the objective's metrics, the test loss, the
    schedule's values."""
    names = ["epoch", *map(epoch_label, metrics), "test"] + [SCHEDULE_LABELS[name] for name in schedule]
    return _table_row(names + ["elapsed", "eta", "rows/s"], total_epochs)


def epoch_line(row, total_epochs, rows_per_second, elapsed, eta, compiling=False, schedule=(), metrics=BASE_METRICS):
    """One epoch of the table: the objective's metrics and the test loss (nats/sample), the schedule's value,
    elapsed time, ETA (None: not known yet) and throughput; under 100 characters up to 9999 epochs, 100 hours
    and losses within +-1000 for the three metrics every objective has."""
    cells = [f"{row['epoch']}/{total_epochs}"] + [f"{row[name]:.4f}" for name in (*metrics, "test_loss")]
    cells += [f"{row[name]:.3g}" for name in schedule]
    cells += [duration(elapsed), "?" if eta is None else duration(eta), rate(rows_per_second)]
    return _table_row(cells, total_epochs) + (" incl. compile" if compiling else "")


def after_training_commands(checkpoint_dir):
    """The commands that sample, reconstruct and evaluate the run in checkpoint_dir, ready to paste: the
    `betavae` command's, or in Python (speaking_python) the API's calls."""
    if speaking_python():
        run = f"betavae.load_run({_shown_path(checkpoint_dir)!r})"
        return [f"{run}.{call}" for call in ("sample(10_000)", "reconstruct()", "evaluate()")]
    folder = shlex.quote(_shown_path(checkpoint_dir))
    return [f"betavae {mode} --checkpoint-dir {folder}" for mode in ("prior", "recon", "evaluate")]


def summary_lines(history, elapsed, checkpoint_dir, logdir=None):
    """The closing lines: total time, final and best test loss with their epochs, where every file went,
    and the commands to use the run next."""
    final = history[-1]
    # Under KL warm-up or a rising capacity the early epochs scored another objective: a "best" among them
    # would compare losses of different functions, so only epochs at the final schedule values compete.
    comparable = [row for row in history if all(row[name] == final[name] for name in SCHEDULE_LABELS)]
    best = min(comparable, key=lambda row: row["test_loss"])
    among = ("" if len(comparable) == len(history) else
             f" (of the {counted(len(comparable), 'epoch')} at the final "
             + ", ".join(f"{label} {final[name]:g}" for name, label in SCHEDULE_LABELS.items()) + ")")
    folder = _shown_path(checkpoint_dir)
    lines = [f"done: epoch {final['epoch']} reached in {duration(elapsed)} (whole command, m:ss)",
             f"  test loss (nats/sample): final {final['test_loss']:.4f} at epoch {final['epoch']}, best "
             f"{best['test_loss']:.4f} at epoch {best['epoch']}{among}",
             f"  written to {folder}: checkpoint ckpt-{final['epoch']}, config.json, history.csv"]
    if logdir:
        lines.append(f"  TensorBoard: tensorboard --logdir {shlex.quote(_shown_path(logdir))}")
    labels = ("sample:", "reconstruct:", "evaluate:")
    lines += [f"  {label:<13}{command}" for label, command in zip(labels, after_training_commands(checkpoint_dir))]
    return lines


def tensorboard_tags(metrics=BASE_METRICS):
    """{writer: {value name: tag}}: the objective's metrics (train) beside the same of the test rows (test),
    the schedule and the epoch's time."""
    return {"train": {**{name: name for name in metrics}, "beta": "schedule/beta", "capacity": "schedule/capacity",
                      "seconds": "time/epoch_seconds"},
            "test": {f"test_{name}": name for name in metrics}}


def tensorboard_scalars(row, test, metrics=BASE_METRICS):
    """The TensorBoard scalars of one epoch, {writer: {tag: value}} for the writers "train" and "test": a
    history row, and the metrics of the test rows ({metric: value})."""
    values = dict(row, **{f"test_{name}": value for name, value in test.items()})
    return {writer: {tag: float(values[name]) for name, tag in tags.items()}
            for writer, tags in tensorboard_tags(metrics).items()}
