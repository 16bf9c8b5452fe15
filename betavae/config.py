"""The typed, validated config of a run: what config.json holds, built once and never changed afterwards.

Plain Python (no numpy, no TensorFlow). RunConfig's fields, their types and their range checks come from
betavae.fields.FIELDS, which also makes the training flags: one check serves both the flags (`--beta must be
...`) and a loaded config.json (`config.json: field beta must be ...`).
"""
import dataclasses
import typing

from betavae.cli import UsageError
from betavae.fields import FIELDS, NO_LEGACY, range_problem, spelled
from betavae.objectives import OBJECTIVES
from betavae import posterior_settings
from betavae.fields import SCHEMA_VERSION  # noqa: F401  (re-exported for the code that builds a RunConfig)
from betavae.words import counted


def default_names(dim):
    """The names of columns that have none (no header, .npy data, an array): x1..xD."""
    return tuple(f"x{j + 1}" for j in range(dim))


def _post_init(self):
    """Refuse a config with a field of the wrong type or out of its range (the first one found), or whose
    fields do not fit its objective together (the same rule as the flags'). A config without column names
    (saved before they were recorded) names its columns x1..xD."""
    if self.column_names is None and type(self.data_dim) is int:
        object.__setattr__(self, "column_names", default_names(self.data_dim))
    for problem in (problem for name in _FIELDS if (problem := field_problem(self, name))):
        raise ValueError(problem)
    spell = lambda name: f"field {name}"  # noqa: E731
    problem = OBJECTIVES[self.objective].problem(self, spell) or posterior_settings.problem(self, spell)
    if problem:
        raise ValueError(problem)


def _to_dict(self):
    """The fields as a JSON-ready dict (what config.json holds)."""
    return dataclasses.asdict(self)


def _dataclass_field(spec):
    return (spec.name, spec.kind) if spec.legacy is NO_LEGACY else (spec.name, spec.kind, spec.legacy)


# Fields with a legacy value go last, where a dataclass wants its defaults: config.json keeps its order.
RunConfig = dataclasses.make_dataclass(
    "RunConfig", [_dataclass_field(spec) for spec in sorted((spec for spec in FIELDS if spec.config),
                                                            key=lambda spec: spec.legacy is not NO_LEGACY)],
    frozen=True, namespace={"__post_init__": _post_init, "to_dict": _to_dict, "__module__": __name__,
                            "__doc__": "Every hyper-parameter of a run and the facts of its data: what rebuilds "
                                       "the model and its split."})

_FIELDS = {item.name: item for item in dataclasses.fields(RunConfig)}
_TYPES = typing.get_type_hints(RunConfig)


def check_flags(args, names):
    """Raise a UsageError naming the first flag among `names` whose value is outside its field's range."""
    for name in names:
        problem = range_problem(name, getattr(args, name))
        if problem:
            raise UsageError(f"{spelled(name)} {problem}")


def field_problem(config, name):
    """What is wrong with one field of a RunConfig (type, then range), as a phrase naming it, or None."""
    value = getattr(config, name)
    if not _has_type(value, _TYPES[name]):
        return f"field {name}: expected {_type_name(_TYPES[name])}, got {type(value).__name__} {value!r:.60}"
    if name in ("data_shift", "data_scale", "column_names") and value is not None and len(value) != config.data_dim:
        return f"field {name}: expected {counted(config.data_dim, 'entry', 'entries')} (data_dim), got {len(value)}"
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
        element = next((typing.get_args(option)[0] for option in _alternatives(kind)
                        if typing.get_origin(option) is tuple), float)
        return tuple(_from_json(item, element) for item in value)
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
            if isinstance(value, tuple) and all(type(item) is typing.get_args(option)[0] for item in value):
                return True
        elif option is not type(None) and type(value) is option:  # bool is not an int here
            return True
    return False


def _type_name(kind):
    names = [("a list of strings" if typing.get_args(option)[0] is str else "a list of numbers")
             if typing.get_origin(option) is tuple else
             "null" if option is type(None) else option.__name__ for option in _alternatives(kind)]
    return " or ".join(names)
