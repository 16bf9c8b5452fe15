"""One specification per training field: its type, default, help, choices, range check, whether --resume may
change it and whether the sweep sets it. The training flags (betavae.commands.training_flags), the checks and the
fields of RunConfig (betavae.config, what config.json holds) and the sweep's refused flags all come from FIELDS.

Adding a hyper-parameter is one `Field(...)` in FIELDS (and its use in the model or the loop); a field added
after version 1 takes a `legacy` value, so that runs saved before it still load. Plain Python (no numpy, no
TensorFlow).

A message that names a setting spells it as its reader wrote it (spelled): a flag on the command line
(--resume), a keyword in the Python API, whose functions run inside keyword_spelling() (resume=True).
"""
import contextlib
import contextvars
import math
import numbers
import os
import re
import shlex
import typing
from dataclasses import dataclass
from typing import Callable, Optional

from betavae.cli import SEED_MAX, SEED_MIN, flag_name
from betavae.objectives import IWAE_GRADIENTS, IWAE_TRAINING_SAMPLES, OBJECTIVES
from betavae.xla_switch import COMPILATIONS

SCHEMA_VERSION = 1


class _NoLegacy:
    def __repr__(self):
        return "NO_LEGACY"


NO_LEGACY = _NoLegacy()  # a field of version 1: every config.json holds it


def at_least(minimum):
    """A range check: an integer count of at least `minimum`."""
    return lambda value: None if value >= minimum else f"must be at least {minimum}, got {value}"


def finite(low, strict=False, high=None):
    """A range check: a finite number above low (or at least low), and below high if given."""
    def check(value):
        inside = math.isfinite(value) and (value > low if strict else value >= low) and (high is None or value < high)
        if inside:
            return None
        bounds = f"> {low:g}" if strict else f">= {low:g}"
        return f"must be a finite number {bounds}{'' if high is None else f' and < {high:g}'}, got {value}"
    return check


def one_of(choices):
    """A range check: one of the given strings (a tuple, or a registry whose keys may grow, e.g. the
    objectives: it is read at each check)."""
    return lambda value: None if value in choices else f"must be one of {', '.join(choices)}, got {value!r}"


def each(check):
    """A range check applied to every entry of a sequence."""
    return lambda values: next((f"entry {i + 1} {problem}" for i, value in enumerate(values)
                                if (problem := check(value))), None)


def seed_range(value):
    """A range check: a seed every random generator of the suite accepts."""
    return None if SEED_MIN <= value <= SEED_MAX else f"must be an integer from {SEED_MIN} to {SEED_MAX}, got {value}"


@dataclass(frozen=True)
class Field:
    """One training flag, one field of config.json, or both.

    kind: the type config.json holds (without None, the flag's type). default: the flag's default. help None:
    not a flag (a fact of the data or of the code, recorded by training). config False: a flag that config.json
    does not record (where to write, how to run). check: 'must be ...' or None for a value, on the flag and on
    config.json alike; choices imply their check. legacy: the value of a config.json written before the field
    existed. resume: --resume may change it. sweep_sets: the sweep sets it for each run, so it is refused after
    `--`."""
    name: str
    kind: object
    help: Optional[str] = None
    default: object = None
    check: Optional[Callable] = None
    choices: tuple = ()
    config: bool = True
    legacy: object = NO_LEGACY
    resume: bool = False
    sweep_sets: bool = False

    def __post_init__(self):
        if self.choices and self.check is None:
            object.__setattr__(self, "check", one_of(self.choices))

    @property
    def flag(self):
        """The command-line spelling, e.g. --batch-size, or None for a field that is no flag."""
        return None if self.help is None else flag_name(self.name)

    @property
    def value_type(self):
        """The type of a value that is given (float for Optional[float])."""
        return next(option for option in typing.get_args(self.kind) or (self.kind,) if option is not type(None))

    def convert(self, value):
        """value (a Python object: a keyword's, or a settings file's) as the flag parses it: of the field's type
        (an int is taken as a float, a path-like as a string, a bool as nothing but a switch) and among its
        choices; else a ValueError saying what was expected ('expected int'). The Python API's keywords and the
        settings files both go through it."""
        if self.kind is bool:  # a switch (store_true)
            if not isinstance(value, bool):
                raise ValueError("expected True or False")
            return value
        kind = self.value_type
        if value is None and self.default is None:
            return None
        if kind is str and isinstance(value, os.PathLike):
            value = os.fspath(value)
        fits = {int: isinstance(value, numbers.Integral), float: isinstance(value, numbers.Real),
                str: isinstance(value, str)}.get(kind, True) and not isinstance(value, bool)
        if not fits:
            raise ValueError(f"expected {'a number' if kind is float else kind.__name__}")
        value = kind(value)
        if self.choices and value not in self.choices:
            raise ValueError(f"expected one of {', '.join(map(repr, self.choices))}")
        return value


def distinct_names(values):
    """A range check: names that are neither empty nor alike."""
    seen = set()
    for name in values:
        if not name or name in seen:
            return f"must be distinct, non-empty names, got {'an empty one' if not name else repr(name) + ' twice'}"
        seen.add(name)
    return None


def _schema_version(value):
    return None if value == SCHEMA_VERSION else f"is {value}, but this code reads version {SCHEMA_VERSION}"


# The names of the families of betavae.model.distributions, the choices of --posterior and --likelihood: the
# built-in ones here, so that flags and config.json are checked without TensorFlow; registering a family there
# adds its name.
POSTERIOR_FAMILIES = {"diagonal_gaussian": "N(mean, diag sigma^2), the encoder's mean and log sigma",
                      "mixture": "a mixture of --components diagonal Gaussians",
                      "flow": "a diagonal Gaussian through --flow-steps affine coupling steps"}
LIKELIHOOD_FAMILIES = {"gaussian": "N(mean, diag s^2), the decoder's mean and log-scale per column"}

# In --help order; the fields of config.json take this order too, those with a legacy value last.
FIELDS = (
    Field("schema_version", int, check=_schema_version),
    Field("data", str, "training data (.npy, .csv, .txt/.dat)", "data/gaussian_10d.npy"),
    Field("data_sha256", str),
    Field("test_data", Optional[str], "explicit test set; default: hold out --test-fraction of --data"),
    Field("test_data_sha256", Optional[str]),
    Field("test_fraction", float, "fraction of --data held out for testing, chosen by --seed", 0.1,
          finite(0.0, strict=True, high=1.0)),
    # Runs saved before the two fields trained on every column, their names unrecorded (x1..xD).
    Field("columns", Optional[str], "the columns of --data to train on, in this order: a comma list of names (of the "
          "file's header), 0-based indices and start:stop ranges (Python's slices: 1: leaves out the first column); "
          "--test-data and the rows given after training are chosen alike; default: all", legacy=None),
    Field("column_names", Optional[tuple[str, ...]], check=distinct_names, legacy=None),
    Field("beta", float, "weight of the KL term; 1 is the plain VAE, 0 an autoencoder with noise", 1.0, finite(0.0),
          sweep_sets=True),
    Field("epochs", int, "total number of epochs (with --resume: including those already done)", 200, at_least(1),
          resume=True, sweep_sets=True),
    Field("batch_size", int, "rows per gradient step", 1000, at_least(1)),
    Field("latent_dim", int, "dimension of the latent z", 2, at_least(1)),
    Field("hidden_units", int, "units in each of the two hidden layers of encoder and decoder", 128, at_least(1)),
    # The families of betavae.model.distributions (a new family registers its name). Runs saved before the two
    # fields had a diagonal Gaussian posterior and a Gaussian likelihood.
    Field("posterior", str, "the family of q(z|x): diagonal_gaussian (the encoder gives its mean and log sigma) "
          "or mixture (of --components diagonal Gaussians, the encoder giving their weights, means and log "
          "sigmas; trained by stratified draws, one per component) or flow (a diagonal Gaussian through "
          "--flow-steps affine coupling steps whose weights the encoder gives per row; latent dimension 2 at "
          "least)", "diagonal_gaussian",
          choices=POSTERIOR_FAMILIES, legacy="diagonal_gaussian"),
    # Runs saved before the field had no mixture posterior.
    Field("components", int, "diagonal Gaussians in --posterior mixture (read by no other family)", 2, at_least(2),
          legacy=2),
    # Runs saved before the field had no flow posterior.
    Field("flow_steps", int, "affine coupling steps in --posterior flow (read by no other family)", 4, at_least(1),
          legacy=4),
    Field("likelihood", str, "the family of p(x|z): gaussian (the decoder gives a mean and a log-scale per column)",
          "gaussian", choices=LIKELIHOOD_FAMILIES, legacy="gaussian"),
    Field("mc_samples", int, "reparameterised samples of z per row: for E_q[log p(x|z)] (default 1), the K of "
          f"the iwae objective (default {IWAE_TRAINING_SAMPLES})", None, at_least(1)),
    Field("kl_warmup_epochs", int, "KL warm-up: beta rises linearly from 0 to --beta over this many epochs", 0,
          at_least(0)),
    Field("capacity", Optional[float], "train the capacity objective gamma |KL - C| - E_q log p(x|z) (Burgess et "
          "al. 2018) with C rising from 0 to this many nats; default: the beta-objective", None, finite(0.0)),
    Field("capacity_epochs", int, "epochs over which C rises to --capacity", 100, at_least(0)),
    Field("gamma", float, "weight gamma: of |KL - C| in the capacity objective (default 100), of the "
          "dimension-wise KL in the tc objective (default 1)", None, finite(0.0, strict=True)),
    # Runs saved before the two fields trained beta or, with a capacity, the capacity objective.
    Field("objective", str, "beta: beta * KL - E_q log p(x|z); capacity: see --capacity (which selects it); tc: "
          "beta-TCVAE (Chen et al. 2018), alpha * MI + beta * TC + gamma * dimension-wise KL - E_q log p(x|z), "
          "the KL's parts estimated from each batch; iwae: the importance-weighted bound on log p(x) "
          "over --mc-samples draws (Burda et al. 2016), beta 1 only", "beta", choices=OBJECTIVES,
          legacy="beta"),
    Field("alpha", float, "weight alpha of the index-code mutual information in the tc objective", 1.0,
          finite(0.0), legacy=1.0),
    # Runs saved before the field trained iwae with the bound's own gradient.
    Field("iwae_gradient", str, "gradient estimator of the iwae objective: plain (the bound's reparameterised "
          "gradient) or dreg (doubly reparameterised, Tucker et al. 2019: the encoder's gradient does not fade "
          "as --mc-samples grows); the loss is the same bound", "plain", choices=IWAE_GRADIENTS, legacy="plain"),
    # --resume may lower the rate after a blow-up.
    Field("lr", float, "learning rate (with --lr-schedule cosine: of the first epoch)", 1e-3,
          finite(0.0, strict=True), resume=True),
    # Runs saved before the field trained at a constant rate.
    Field("lr_schedule", str, "learning rate per epoch: cosine (decays from --lr towards 0 over --epochs) or "
          "constant (--lr throughout)", "cosine", choices=("cosine", "constant"), legacy="constant"),
    Field("optimizer", str, "optimizer: adam or sgd", "adam", choices=("adam", "sgd")),
    Field("seed", int, "seed of every random choice: initialisation, split, shuffling, noise", 0, seed_range,
          sweep_sets=True),
    Field("checkpoint_dir", str, "where the checkpoint, config.json and history.csv go", "checkpoints",
          config=False, sweep_sets=True),
    Field("save_every", int, "epochs between checkpoints (one is also saved at the end and on Ctrl-C)", 10,
          at_least(1)),
    Field("streaming", bool, "read training rows from the memory-mapped .npy file batch by batch (tf.data), for "
          "data larger than memory; default: all rows on the device, one compiled call per epoch", False),
    Field("logdir", Optional[str], "also write TensorBoard scalars here", config=False),
    Field("data_dim", int, check=at_least(1)),
    Field("train_rows", int, check=at_least(1)),
    Field("test_rows", int, check=at_least(1)),
    Field("data_shift", tuple[float, ...], check=each(finite(-math.inf))),
    Field("data_scale", tuple[float, ...], check=each(finite(0.0, strict=True))),
    # XLA's random kernels draw other noise than TensorFlow's (betavae.xla_switch): whether a run can repeat
    # depends on it. Runs saved before the field did not record it.
    Field("compilation", Optional[str], choices=COMPILATIONS, legacy=None),
    Field("resume", bool, "continue the run in --checkpoint-dir", False, config=False, sweep_sets=True),
    Field("overwrite", bool, "replace a run already in --checkpoint-dir", False, config=False, sweep_sets=True),
    Field("verbose", bool, "show TensorFlow's own log messages", False, config=False),
)

BY_NAME = {spec.name: spec for spec in FIELDS}
FLAGS = tuple(spec for spec in FIELDS if spec.flag)
HYPER_PARAMETERS = tuple(spec.name for spec in FLAGS if spec.config)  # the flags config.json records
RESUME_OVERRIDES = tuple(spec.name for spec in FIELDS if spec.resume)
SWEEP_SET_FLAGS = tuple(spec.name for spec in FIELDS if spec.sweep_sets)
FLAG_DEFAULTS = {spec.name: False if spec.kind is bool else spec.default for spec in FLAGS}  # no flag given


def range_problem(name, value):
    """What is wrong with value as field `name` ('must be ...'), or None; None for a field without a check."""
    spec = BY_NAME.get(name)
    return None if spec is None or spec.check is None or value is None else spec.check(value)


def require(name, value):
    """Raise a ValueError naming field `name` unless value is in its range (for code beneath the CLIs)."""
    problem = range_problem(name, value)
    if problem:
        raise ValueError(f"{name} {problem}")


_KEYWORDS = contextvars.ContextVar("betavae_keyword_spelling", default=False)
_UNSET = object()


@contextlib.contextmanager
def keyword_spelling():
    """Within the block, messages spell settings as the Python API's keywords (resume=True), not as flags
    (--resume): the API's functions run in it, so that their errors and hints speak Python."""
    token = _KEYWORDS.set(True)
    try:
        yield
    finally:
        _KEYWORDS.reset(token)


def speaking_python():
    """Whether messages are spelled for a caller of the Python API (inside keyword_spelling)."""
    return _KEYWORDS.get()


def spelled(name, value=_UNSET, *, text=None, keyword=None):
    """The setting `name` as its reader writes it: on the command line its flag from the field table
    (--batch-size, --batch-size 64, --resume for a switch that is on), in Python its keyword (batch_size,
    batch_size=64, resume=True). text: a value shown as it is (a placeholder such as <copy of it>); keyword:
    the API's name where it differs from the setting's (output_dir for --output)."""
    if speaking_python():
        word = keyword or name
        return word if value is _UNSET and text is None else f"{word}={text if text is not None else repr(value)}"
    spec = BY_NAME.get(name)
    flag = spec.flag if spec is not None and spec.flag else flag_name(name)
    if text is not None:
        return f"{flag} {text}"
    return flag if value is _UNSET or value is True else f"{flag} {shlex.quote(str(value))}"


def train_call(**settings):
    """The call that trains with these settings, as its reader would write it: betavae train --checkpoint-dir X
    --resume ... on the command line, betavae.train(None, checkpoint_dir='X', resume=True, ...) in Python (whose
    first argument is the data: None to resume, `data` for a new run)."""
    if speaking_python():
        data = "None" if settings.get("resume") else "data"
        return f"betavae.train({', '.join([data] + [spelled(name, value) for name, value in settings.items()])})"
    return " ".join(["betavae train"] + [spelled(name, value) for name, value in settings.items()])


def keyword_help(names):
    """The fields `names` as the Python API documents its keywords, one line each: name=default: the help, with
    the flags it mentions spelled as keywords (--mc-samples -> mc_samples)."""
    def keyword(flag):
        name = flag[1].replace("-", "_")
        return name if name in BY_NAME else flag[0]
    return [f"{name}={FLAG_DEFAULTS[name]!r}: {re.sub(r'--([a-z][a-z0-9-]*)', keyword, BY_NAME[name].help)}"
            for name in names]
