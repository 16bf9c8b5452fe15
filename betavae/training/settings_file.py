"""Settings from a file (--config FILE, train(config=...)): a TOML file of training settings named as config.json
names them (`beta = 4.0`, `latent_dim = 2`), or a finished run's config.json, which seeds a new run.

Each value goes through its field's own conversion and range check (betavae.fields), the same as a flag's or
a keyword's; flags and keywords given too win over the file. The rule for keys that are no settings:

- a fact that training records in config.json (data_sha256, data_dim, ...) is ignored in a .json file (a
  finished run's config.json) and refused in a TOML file (written by hand, where it would mean nothing);
- in a .json file, a value equal to what the run's objective filled in for a setting left unset (gamma 100
  for the beta objective) counts as unset: it was never chosen;
- resume and overwrite (what to do with the run's folder) are refused: give them as flags or keywords;
- a [sweep] table holds the sweep's own options: the sweep reads it, training leaves it to the sweep; for the
  sweep, beta, seed, epochs and checkpoint_dir are its own (refused in TOML, ignored in a run's config.json).

Keys use underscores only: a dashed spelling (latent-dim) is refused with the name to write. Plain Python.
"""
import difflib
import json
import re
import sys

from betavae.cli import UsageError, os_errors
from betavae.fields import FIELDS, FLAGS, SWEEP_SET_FLAGS, spelled
from betavae.objectives import OBJECTIVES
from betavae.paths import check_file

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, from PyPI
    import tomli as tomllib

SWEEP_TABLE = "sweep"
# What a finished run's config.json records about its data and the code: no setting.
RECORDED = tuple(spec.name for spec in FIELDS if spec.config and not spec.flag)
# What to do with the run's folder, not what the run is: given as a flag or keyword only.
ACTIONS = ("resume", "overwrite")
_TOML_ERROR = re.compile(r"^(.*?) \(at line (\d+), column (\d+)\)$")


class SettingsFile:
    """A settings file read and parsed: its path, its text (for line numbers), its top-level table (a dict)
    and whether it is JSON (a run's config.json) rather than TOML."""

    def __init__(self, path, text, table, is_json):
        self.path, self.text, self.table, self.is_json = path, text, table, is_json

    def line_of(self, key, table=None):
        """The number of the line that sets `key` (in the TOML table `table`, None: at the top), or None."""
        current, pattern = None, re.compile(rf"""^[\s{{,]*["']?{re.escape(key)}["']?\s*[=:]""")
        for number, line in enumerate(self.text.splitlines(), 1):
            header = re.match(r"^\s*\[\s*([^\]\s]+)\s*\]", line)
            if header and not self.is_json:
                current = header.group(1)
            elif current == table and pattern.match(line):
                return number
        return None

    def problem(self, key, text, table=None):
        """A UsageError naming the file, the line that sets `key` where it is found, and the problem `text`."""
        line = self.line_of(key, table)
        return UsageError(f"{self.path}: {f'line {line}: ' if line else ''}{text}")


def read_settings_file(path):
    """The SettingsFile at path: JSON for a .json file, TOML otherwise. One-line UsageErrors for a missing
    file, a folder, unreadable or non-UTF-8 bytes, an empty file, a syntax error (with its line) and a JSON
    key given twice."""
    check_file(path, "a settings file (TOML, or a run's config.json)")
    with os_errors(path, "cannot read"):
        with open(path, "rb") as handle:
            raw = handle.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text; expected a TOML file or a run's config.json") from None
    if not text.strip():
        raise UsageError(f"{path}: an empty file; expected settings such as beta = 4.0")
    is_json = path.lower().endswith(".json")
    try:
        table = json.loads(text, object_pairs_hook=_once_each) if is_json else tomllib.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(f"{path}: line {error.lineno}, column {error.colno}: not valid JSON ({error.msg})") from None
    except tomllib.TOMLDecodeError as error:
        found = _TOML_ERROR.match(str(error))
        where = f"line {found.group(2)}, column {found.group(3)}: " if found else ""
        raise UsageError(f"{path}: {where}not valid TOML ({found.group(1) if found else error})") from None
    except ValueError as error:  # _once_each
        raise UsageError(f"{path}: {error}") from None
    if not isinstance(table, dict):
        raise UsageError(f"{path}: expected an object of settings, got {type(table).__name__}")
    if not table:
        raise UsageError(f"{path}: holds no settings; expected settings such as beta = 4.0")
    return SettingsFile(path, text, table, is_json)


def _once_each(pairs):
    """A JSON object's pairs as a dict, refusing a key given twice (json keeps the last one silently)."""
    table = {}
    for key, value in pairs:
        if key in table:
            raise ValueError(f"{key} is given twice")
        table[key] = value
    return table


def checked_values(file, entries, specs, refusals=None, table=None):
    """The values of `entries` (a table of the file) as their fields `specs` (name -> betavae.fields.Field)
    convert and check them (Field.convert, Field.check): {name: value}. refusals: name -> why the key is
    refused, or None to ignore it. The first problem is a UsageError naming the file, line and key."""
    refusals = refusals or {}
    values = {}
    for key, value in entries.items():
        if key in refusals:
            if refusals[key] is None:
                continue
            raise file.problem(key, f"{key}: {refusals[key]}", table)
        spec = specs.get(key)
        if spec is None:
            raise file.problem(key, _unknown(key, specs), table)
        try:
            converted = spec.convert(value)
        except ValueError as problem:
            raise file.problem(key, f"{key} = {value!r}: {problem}", table) from None
        problem = spec.check and converted is not None and spec.check(converted)
        if problem:
            raise file.problem(key, f"{key} {problem}", table)
        values[key] = converted
    return values


def _unknown(key, names):
    """Why `key` is no setting, with the name meant where one is near (a dashed spelling, a typo)."""
    if key.replace("-", "_") in names:
        return f"{key}: write {key.replace('-', '_')} (a settings file names settings as config.json does)"
    near = difflib.get_close_matches(key, names, 1)
    return f"unknown setting {key!r}; " + (f"did you mean {near[0]}?" if near else
                                           f"expected one of {', '.join(sorted(names))}")


def training_values(file, sweep=False):
    """The training settings a SettingsFile gives, checked by their fields: {name: value} (the module's
    docstring says which keys are ignored or refused). sweep: read for every run of a sweep, which sets beta,
    seed, epochs and the folder itself."""
    action = "not read from a file; give {} where the run is started"
    refusals = {name: None if file.is_json else "recorded by training in a run's config.json, not a setting"
                for name in RECORDED}
    refusals.update({name: action.format(spelled(name, True)) for name in ACTIONS})
    refusals[SWEEP_TABLE] = None if isinstance(file.table.get(SWEEP_TABLE), dict) else "expected a table [sweep]"
    if sweep:
        refusals.update({name: None if file.is_json else "the sweep sets it for each run (set betas, seeds, epochs "
                         f"and sweep_dir in the [{SWEEP_TABLE}] table)" for name in SWEEP_SET_FLAGS
                         if name not in ACTIONS})
    values = checked_values(file, file.table, {spec.name: spec for spec in FLAGS}, refusals)
    if file.is_json:  # what the run's objective filled in for a setting left unset was never chosen
        filled = OBJECTIVES[values.get("objective", "beta")].defaults()
        values = {name: value for name, value in values.items() if filled.get(name, object()) != value}
    return values


def apply_settings(settings, given, values):
    """Set on `settings` (a namespace, one attribute per setting) each of `values` that is not among `given`
    (the names of the flags or keywords given, which win over a file); returns the names given by either, so
    that --resume weighs the file's settings as it weighs the same flags."""
    for name, value in values.items():
        if name not in given:
            setattr(settings, name, value)
    return set(given) | set(values)
