"""The typed, validated config of a run: what config.json holds, built once and never changed afterwards.

Plain Python (no numpy, no TensorFlow). Each field's range check lives here once and serves both the
training flags (`--beta must be ...`) and a loaded config.json (`config.json: field beta must be ...`).
A field added later takes a default, so that runs saved before it still load: one line, e.g.
`lr_schedule: str = rule(one_of("constant", "cosine"), default="cosine")`. Every training flag in
beta_vae_main.DEFAULTS but --checkpoint-dir and --logdir is a field of the same name.
"""
import dataclasses
import math
import typing
from dataclasses import dataclass, field
from typing import Optional

from betavae.cli import SEED_MAX, SEED_MIN, UsageError

SCHEMA_VERSION = 1


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


def one_of(*choices):
    """A range check: one of the given strings."""
    return lambda value: None if value in choices else f"must be one of {', '.join(choices)}, got {value!r}"


def each(check):
    """A range check applied to every entry of a sequence."""
    return lambda values: next((f"entry {i + 1} {problem}" for i, value in enumerate(values)
                                if (problem := check(value))), None)


def rule(check, **default):
    """Attach a range check to a dataclass field (and a default=, for a field added after version 1)."""
    return field(metadata={"check": check}, **default)


@dataclass(frozen=True)
class RunConfig:
    """Every hyper-parameter of a run and the facts of its data: what rebuilds the model and its split."""
    schema_version: int = rule(lambda value: None if value == SCHEMA_VERSION else
                               f"is {value}, but this code reads version {SCHEMA_VERSION}")
    data: str
    data_sha256: str
    test_data: Optional[str]
    test_data_sha256: Optional[str]
    test_fraction: float = rule(finite(0.0, strict=True, high=1.0))
    beta: float = rule(finite(0.0))
    epochs: int = rule(at_least(1))
    batch_size: int = rule(at_least(1))
    latent_dim: int = rule(at_least(1))
    hidden_units: int = rule(at_least(1))
    mc_samples: int = rule(at_least(1))
    kl_warmup_epochs: int = rule(at_least(0))
    capacity: Optional[float] = rule(finite(0.0))
    capacity_epochs: int = rule(at_least(0))
    gamma: float = rule(finite(0.0, strict=True))
    lr: float = rule(finite(0.0, strict=True))
    optimizer: str = rule(one_of("adam", "sgd"))
    seed: int = rule(lambda value: None if SEED_MIN <= value <= SEED_MAX else
                     f"must be an integer from {SEED_MIN} to {SEED_MAX}, got {value}")
    save_every: int = rule(at_least(1))
    streaming: bool
    data_dim: int = rule(at_least(1))
    train_rows: int = rule(at_least(1))
    test_rows: int = rule(at_least(1))
    data_shift: tuple[float, ...] = rule(each(finite(-math.inf)))
    data_scale: tuple[float, ...] = rule(each(finite(0.0, strict=True)))
    # Added after version 1: runs saved before it trained at a constant rate.
    lr_schedule: str = rule(one_of("cosine", "constant"), default="constant")

    def __post_init__(self):
        for problem in (problem for name in _FIELDS if (problem := field_problem(self, name))):
            raise ValueError(problem)

    def to_dict(self):
        """The fields as a JSON-ready dict (what config.json holds)."""
        return dataclasses.asdict(self)


_FIELDS = {item.name: item for item in dataclasses.fields(RunConfig)}
_TYPES = typing.get_type_hints(RunConfig)


def range_problem(name, value):
    """What is wrong with value as field `name` ('must be ...'), or None; None for a field without a check."""
    check = _FIELDS[name].metadata.get("check") if name in _FIELDS else None
    return None if check is None or value is None else check(value)


def check_flags(args, names):
    """Raise a UsageError naming the first flag among `names` whose value is outside its field's range."""
    for name in names:
        problem = range_problem(name, getattr(args, name))
        if problem:
            raise UsageError(f"--{name.replace('_', '-')} {problem}")


def field_problem(config, name):
    """What is wrong with one field of a RunConfig (type, then range), as a phrase naming it, or None."""
    value = getattr(config, name)
    if not _has_type(value, _TYPES[name]):
        return f"field {name}: expected {_type_name(_TYPES[name])}, got {type(value).__name__} {value!r:.60}"
    if name in ("data_shift", "data_scale") and len(value) != config.data_dim:
        return f"field {name}: expected {config.data_dim} entries (data_dim), got {len(value)}"
    problem = range_problem(name, value)
    return f"field {name} {problem}" if problem else None


def config_from_dict(values, source):
    """A RunConfig from a parsed config.json; a UsageError naming source and the missing or bad field."""
    if not isinstance(values, dict):
        raise UsageError(f"{source}: expected a JSON object of settings, got {type(values).__name__}")
    if "schema_version" not in values:
        raise UsageError(f"{source}: no schema_version: written by an older version of this code; train the run "
                         "again")
    unknown = sorted(set(values) - set(_FIELDS))
    missing = [name for name, item in _FIELDS.items() if name not in values
               and item.default is dataclasses.MISSING and item.default_factory is dataclasses.MISSING]
    if missing or unknown:
        raise UsageError(f"{source}: " + (f"field {missing[0]} is missing" if missing else
                                          f"unknown field {unknown[0]}"))
    converted = {name: _from_json(value, _TYPES[name]) for name, value in values.items()}
    try:
        return RunConfig(**converted)
    except ValueError as error:
        raise UsageError(f"{source}: {error}") from None


def _from_json(value, kind):
    """JSON's spelling of a field's value in the field's own type: integral numbers as floats, lists as tuples."""
    if isinstance(value, list):
        return tuple(_from_json(item, float) for item in value)
    if float in _alternatives(kind) and type(value) is int:
        return float(value)
    return value


def _alternatives(kind):
    return typing.get_args(kind) if typing.get_origin(kind) is typing.Union else (kind,)


def _has_type(value, kind):
    for option in _alternatives(kind):
        if option is type(None) and value is None:
            return True
        if typing.get_origin(option) is tuple:
            if isinstance(value, tuple) and all(type(item) is float for item in value):
                return True
        elif option is not type(None) and type(value) is option:  # bool is not an int here
            return True
    return False


def _type_name(kind):
    names = ["a list of numbers" if typing.get_origin(option) is tuple else
             "null" if option is type(None) else option.__name__ for option in _alternatives(kind)]
    return " or ".join(names)
