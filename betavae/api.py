"""The Python API: train from an array or a file and get a Run back; evaluate, sample, reconstruct, encode
and export it; run a sweep. Each goes through the same function as its CLI, so both give the same numbers.

Hyper-parameters are keyword arguments named like the training flags (beta=4, epochs=200, latent_dim=2);
errors a user can cause raise betavae.cli.UsageError (a ValueError) with one line, which names settings as
keywords (resume=True, checkpoint_dir), not as flags. Importing this module does not import TensorFlow; the
functions do, when they need the model.
"""
import contextlib
import functools
import io
import numbers
import os
import textwrap

import numpy as np

from betavae.cli import SEED_MAX, SEED_MIN, UsageError
from betavae.data import columns as columns_module
from betavae.data import loading, named_rows
from betavae.fields import FLAGS, SWEEP_SET_FLAGS, keyword_help, keyword_spelling
from betavae.run.folder import DATA_FILE
from betavae.run.opened import open_run
from betavae.training.flags import validate_flags
from betavae.words import counted

# Training settings that train() takes as parameters of its own, or that are none of the run's business.
_TRAIN_OWN = ("data", "test_data", "checkpoint_dir", "resume", "overwrite", "verbose")
_QUIET_HELP = ("quiet=False: print only warnings and errors; by default train prints what `betavae train` does: "
               "the header, one line per epoch (its losses, elapsed time and ETA) and the summary")
_CONFIG_HELP = ("config=None: a settings file (TOML named as config.json, or a finished run's config.json) whose "
                "values the keywords given override")
# The sweep's options that beta_sweep() takes as parameters of its own, or that belong to the CLI only.
_SWEEP_OWN = ("betas", "seeds", "sweep_dir", "list", "only", "collect")


def _speaks_python(function):
    """function, with the messages it raises and prints naming settings as the API's keywords (resume=True)
    rather than as flags (--resume): fields.keyword_spelling, the one place that spells them."""
    @functools.wraps(function)
    def speaking(*args, **kwargs):
        with keyword_spelling():
            return function(*args, **kwargs)
    return speaking


def _convert(name, value, spec):
    """value as the flag of `spec` (a betavae.fields.Field) parses it (Field.convert), or a UsageError naming
    it as a keyword."""
    try:
        return spec.convert(value)
    except ValueError as problem:
        raise UsageError(f"{name}={value!r}: {problem}") from None


def _path(name, value, optional=False):
    """A path setting as a string (an os.PathLike is taken too), or a UsageError; None only if optional."""
    if value is None and optional:
        return None
    if not isinstance(value, (str, os.PathLike)):
        raise UsageError(f"{name}={value!r}: expected a path")
    return os.fspath(value)


def _settings(settings, values, specs):
    """settings (a namespace of defaults) with `values` (keyword arguments named like its flags) checked and
    converted by their fields `specs` (name -> Field); an unknown name is a UsageError listing the valid
    ones."""
    for name, value in values.items():
        if name not in specs:
            raise UsageError(f"unknown setting {name!r}; expected one of {', '.join(sorted(specs))}")
        setattr(settings, name, _convert(name, value, specs[name]))
    return settings


def _training_settings(values, own):
    """The training settings with `values` set (_settings); the names in `own` are no settings."""
    from betavae.training.setup import default_settings
    return _settings(default_settings(), values, {spec.name: spec for spec in FLAGS if spec.name not in own})


@contextlib.contextmanager
def _printing(shown):
    """The CLI's progress lines on stdout if shown, else nowhere (warnings and errors go to stderr)."""
    with contextlib.nullcontext() if shown else contextlib.redirect_stdout(io.StringIO()):
        yield


def _rows(value, name="rows"):
    """value as a 2-D array of finite real numbers (in its own dtype), or a UsageError naming `name`."""
    try:
        array = np.asarray(value)
    except ValueError:  # numpy's words for nested lists of unequal lengths
        raise UsageError(_ragged(value, name)) from None
    if array.ndim != 2 or 0 in array.shape:
        raise UsageError(f"{name}: expected a 2-D array (rows x columns), got shape {array.shape}")
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool) or np.iscomplexobj(array):
        raise UsageError(f"{name}: expected real numbers, got dtype {array.dtype}")
    if not np.all(np.isfinite(array)):
        row, column = np.argwhere(~np.isfinite(array))[0]
        raise UsageError(f"{name}: row {row + 1}, column {column + 1} is not finite ({array[row, column]})")
    return array


def _ragged(value, name):
    """What is wrong with rows numpy cannot make one array of: the first row of another width than the first
    row's, as a ragged file's error says it."""
    try:
        widths = [len(row) for row in value]
    except TypeError:  # an item without a length among rows that have one
        widths = []
    row = next((index for index, width in enumerate(widths) if width != widths[0]), None)
    if row is None:
        return f"{name}: expected a 2-D array (rows x columns) of numbers, got nested sequences of other shapes"
    return f"{name}: row {row + 1} has {counted(widths[row], 'column')}, expected {widths[0]}"


def _table(value, name):
    """value as a loading.Table of finite real numbers (_rows): a DataFrame's or structured array's column names
    are its header, checked as a .csv file's are; any other array has none (x1..xD)."""
    header = None
    if named_rows.is_named(value):
        value, header = named_rows.values_and_header(value, name)
    array = _rows(value, name)
    return loading.Table(array, loading.column_names(name, header, array.shape[1]), header)


def _count(name, value):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise UsageError(f"{name} must be an integer of at least 1, got {value!r}")
    return int(value)


def _seed(value):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or not SEED_MIN <= value <= SEED_MAX:
        raise UsageError(f"seed must be an integer from {SEED_MIN} to {SEED_MAX}, got {value!r}")
    return int(value)


@_speaks_python
def train(data, *, checkpoint_dir=None, test_data=None, overwrite=False, resume=False, verbose=False,
          quiet=False, config=None, **hyperparameters):
    """Train a run on data into checkpoint_dir, as `betavae train` does with the same settings; returns its Run.

    data: an array [N, D], a DataFrame or a structured array (whose column names are kept as a .csv file's
    header is), written once into the run as its own data.npy; or the path of a data file (.npy, .csv,
    .txt/.dat); None with resume=True, which trains on the run's own data (or a path: a copy of the file it
    was trained on), or when the settings file names the data. config: a settings file, read as the command
    line reads its own (TOML named as config.json, or a finished run's config.json): the keywords given win
    over it, and checkpoint_dir, test_data and verbose left out take its values (checkpoint_dir defaults to
    "checkpoints"). Raises training.session.Stopped (a KeyboardInterrupt) after saving on Ctrl-C
    or SIGTERM, and Diverged (a UsageError) when the loss becomes non-finite.
    """
    from betavae.training.session import train_settings
    from betavae.training.settings_file import apply_settings, read_settings_file, training_values
    settings = _training_settings(hyperparameters, _TRAIN_OWN)
    settings.resume, settings.overwrite, settings.verbose = bool(resume), bool(overwrite), bool(verbose)
    given = set(hyperparameters) | {name for name, value in (("checkpoint_dir", checkpoint_dir),
                                                             ("test_data", test_data), ("verbose", verbose))
                                    if value not in (None, False)}
    settings.checkpoint_dir = _path("checkpoint_dir", "checkpoints" if checkpoint_dir is None else checkpoint_dir)
    settings.test_data = _path("test_data", test_data, optional=True)
    if isinstance(data, (str, os.PathLike)):
        settings.data, given = os.fspath(data), given | {"data"}
    if config is not None:  # beneath the keywords; an array given as data wins over the file's data
        from_file = training_values(read_settings_file(_path("config", config)))
        given = apply_settings(settings, given | ({"data"} if data is not None else set()), from_file)
    validate_flags(settings)  # the settings' own conflicts (resume with overwrite) before what data asks of them
    array, names = None, None
    if data is None and not resume and "data" not in given:
        raise UsageError("data: expected an array [rows, columns] or the path of a data file, got None")
    elif data is not None and not isinstance(data, (str, os.PathLike)):
        if resume:
            raise UsageError("data: resume=True trains on the run's own data; pass data=None, or the path of a "
                             "copy of its data file")
        table = _table(data, "data")
        array, names = table.data, table.header and table.names
        settings.data = os.path.join(settings.checkpoint_dir, DATA_FILE)
    with _printing(not quiet):
        train_settings(settings, given, array, names=names)
    return Run(settings.checkpoint_dir)


# help(betavae.train) lists every keyword with its default and meaning, from the field table.
train.__doc__ += "\n    Keywords (the training flags' defaults and meanings):\n\n" + "\n".join(
    textwrap.fill(line, 116, initial_indent="    ", subsequent_indent="        ")
    for line in keyword_help([spec.name for spec in FLAGS if spec.name != "data"]) + [_QUIET_HELP, _CONFIG_HELP]
) + "\n"


class Run:
    """A trained run folder: its config (a RunConfig), its history, and what its model is used for. It holds
    the run opened once (run.opened.OpenRun): the model is restored from the folder alone at first use, the
    data loaded only where a method needs rows, and each of them once."""

    @_speaks_python
    def __init__(self, path):
        self._opened = open_run(path)
        self.folder, self.config = self._opened.folder, self._opened.config

    @property
    def path(self):
        return self.folder.path

    @property
    @_speaks_python
    def history(self):
        """history.csv as a list of dicts, one per epoch (epoch, loss, kl, log_likelihood, test_loss, ...)."""
        return self.folder.read_history()

    def __repr__(self):
        epochs = (self.folder.newest_checkpoint() or (0,))[0]
        return (f"Run({self.path!r}: beta {self.config.beta:g}, latent_dim {self.config.latent_dim}, "
                f"{counted(epochs, 'epoch')})")

    @_speaks_python
    def model(self):
        """The trained BetaVAE (Keras), rebuilt from config.json and the newest checkpoint once."""
        return self._opened.model()

    def _open(self, data=None):
        """The opened run, with its data looked for at `data` too (a copy of the training data, if it moved):
        a copy given once is kept for the calls after it."""
        self._opened = self._opened.with_data(data)
        return self._opened

    def _rows(self, rows=None, data=None):
        """rows as float32 with the run's columns; None: the run's held-out test rows (data: a copy of the
        training data, if it moved). Rows with named columns (a DataFrame, a structured array) are chosen by
        the run's columns as a .csv file's are; an array's columns are the run's, in its order."""
        if rows is None:
            return self._open(data).data()[1]
        table = _table(rows, "rows")
        chosen = None if table.header is None else columns_module.choose(table, self.config.columns, "rows",
                                                                        self.config.column_names)
        return self._opened.fitting(columns_module.take(table.data, chosen).astype(np.float32), "rows")

    def evaluate(self, **options):
        """The evaluation report of this run (see the module function evaluate)."""
        return evaluate(self, **options)

    @_speaks_python
    def sample(self, n, seed=0, mean_only=False):
        """n prior samples [n, D] in the data's units: the numbers `--mode prior --num-samples n --seed seed`
        writes (decoder means with mean_only)."""
        from betavae.run.samples import output_chunks
        chunks = output_chunks(self.model(), _seed(seed), bool(mean_only), num_samples=_count("n", n))
        return np.concatenate(list(chunks))

    @_speaks_python
    def reconstruct(self, rows=None, seed=0, mean_only=False, data=None):
        """Reconstructions of rows (default: the held-out test rows) through z ~ q(z|x): the numbers
        `--mode recon --seed seed` writes."""
        from betavae.run.samples import output_chunks
        rows = self._rows(rows, data)
        return np.concatenate(list(output_chunks(self.model(), _seed(seed), bool(mean_only), rows=rows)))

    @_speaks_python
    def encode(self, rows=None, data=None):
        """q(z|x) of rows (default: the held-out test rows): the posterior family's parameters as a tuple, each
        [rows, latent_dim]; for the diagonal Gaussian (mean, log_scale), what --mode encode --with-scale writes."""
        rows, model = self._rows(rows, data), self.model()
        from betavae.model.inference import encode_posterior
        return encode_posterior(model, rows)

    @_speaks_python
    def export(self, output_dir, overwrite=False):
        """Write the model as a TensorFlow SavedModel into output_dir (as --mode export); returns its path."""
        from betavae.serving import export_run
        return export_run(self._opened, output_dir, overwrite=overwrite)


@_speaks_python
def load_run(path):
    """The Run in a folder that training wrote (a UsageError when there is none)."""
    return Run(path)


def _run(run):
    return run if isinstance(run, Run) else Run(run)


@_speaks_python
def evaluate(run, *, iwae_samples=None, num_samples=10_000, seed=0, rows=None, data=None, slow_metrics=False):
    """Score a run (a Run or its path) as `--mode evaluate` does, save evaluation.json in it and return the
    report (scoring.report.EvaluationReport): a mapping of the file's content, whose top-level entries are its
    attributes too (report.test_nll_iwae), which prints as the command prints it and renders in a notebook;
    report.as_dict() is the file's dict. rows: evaluate on these instead of the held-out test rows. data: a
    copy of the training data, if it moved (checked against the recorded SHA-256). slow_metrics: also DCI
    and the FactorVAE score (as --slow-metrics)."""
    from betavae.scoring import evaluate as scoring
    run = _run(run)
    iwae_samples = scoring.IWAE_SAMPLES if iwae_samples is None else iwae_samples
    options = {"iwae_samples": _count("iwae_samples", iwae_samples), "num_samples": _count("num_samples", num_samples),
               "seed": _seed(seed), "rows": None if rows is None else run._rows(rows),
               "slow_metrics": bool(slow_metrics)}
    from betavae.scoring.report import EvaluationReport
    return EvaluationReport(scoring.evaluate_and_save(run._open(data), **options)[0], run.path)


@_speaks_python
def sample(run, n, seed=0, mean_only=False):
    """n prior samples of a run (a Run or its path): Run.sample."""
    return _run(run).sample(n, seed, mean_only)


@_speaks_python
def reconstruct(run, rows=None, seed=0, mean_only=False, data=None):
    """Reconstructions by a run (a Run or its path): Run.reconstruct."""
    return _run(run).reconstruct(rows, seed, mean_only, data)


@_speaks_python
def encode(run, rows=None, data=None):
    """q(z|x) of rows by a run (a Run or its path): Run.encode."""
    return _run(run).encode(rows, data)


@_speaks_python
def export(run, output_dir, overwrite=False):
    """Write a run (a Run or its path) as a TensorFlow SavedModel into output_dir: Run.export."""
    return _run(run).export(output_dir, overwrite)


@_speaks_python
def beta_sweep(betas, *, seeds=(0,), sweep_dir=os.path.join("checkpoints", "sweep"), epochs=200, **options):
    """Train and evaluate one run per beta and seed into sweep_dir, as `python beta_vae_sweep.py` does, and
    return the rows of its sweep.csv (dicts). options: the sweep's own settings (iwae_samples, jobs, engine,
    address, cpus_per_task) and any training hyper-parameter for every run (data=, latent_dim=, ...)."""
    from betavae.sweep.driver import OPTIONS, default_options, run_sweep
    fields = {spec.name: spec for spec in OPTIONS if spec.name not in _SWEEP_OWN}
    training = {name: value for name, value in options.items() if name not in fields}
    chosen = {"epochs": epochs, **{name: value for name, value in options.items() if name in fields}}
    settings = _settings(default_options(), chosen, fields)
    if not all(isinstance(beta, numbers.Real) and not isinstance(beta, bool) for beta in betas):
        raise UsageError(f"betas: expected numbers, got {list(betas)!r}")
    settings.betas = ",".join(repr(float(beta)) for beta in betas)
    settings.seeds = ",".join(str(_seed(seed)) for seed in seeds)
    settings.sweep_dir = _path("sweep_dir", sweep_dir)
    clashes = sorted(set(training) & set(SWEEP_SET_FLAGS))
    if clashes:
        raise UsageError(f"{', '.join(clashes)}: the sweep sets it for each run (use betas, seeds, epochs, sweep_dir)")
    run_settings = _training_settings(training, SWEEP_SET_FLAGS)
    return run_sweep(settings, run_settings, [f"{name}={value}" for name, value in training.items()])
