"""The training settings of a sweep's runs: checked before anything trains, recorded in the sweep folder by
the first command that trains with them (training_flags.json), and compared by meaning (values, absolute
paths) with what a later command asks for, so that results trained otherwise are never collected as these.
"""
import json
import os
import shlex

from betavae.cli import UsageError
from betavae.fields import BY_NAME, speaking_python, spelled
from betavae.files import atomic_write_text, make_folder
from betavae.paths import check_file
from betavae.training.flags import check_data_file, validate_flags

FLAGS_FILE = "training_flags.json"  # in the sweep folder: the training settings its runs were trained with
# Training settings that name files, compared as the absolute paths they resolve to from where they were given.
PATH_FLAGS = ("data", "test_data", "logdir")
# Training settings that change what a run shows, not what it trains: a sweep folder may be resumed without them.
DISPLAY_FLAGS = ("verbose", "logdir")


def check_training_settings(settings):
    """Refuse training settings that training rejects (its value checks, a data file that is not there), before
    anything is recorded or trained."""
    validate_flags(settings)
    for name in ("data", "test_data"):
        if getattr(settings, name):
            named = "training setting" if speaking_python() else "training flag"
            check_data_file(getattr(settings, name), flag=f"{named} {spelled(name)}")


def training_meaning(settings, cwd):
    """What training settings ask of training, comparable between two spellings: every setting's value, paths
    made absolute against the folder `cwd` they were given in, without DISPLAY_FLAGS (nor an attribute that
    is no training field, such as the settings file they were read from)."""
    values = {name: value for name, value in vars(settings).items() if name in BY_NAME}
    for name in PATH_FLAGS:
        if values[name]:
            values[name] = os.path.normpath(os.path.join(cwd, values[name]))
    return {name: value for name, value in values.items() if name not in DISPLAY_FLAGS}


def check_training_unchanged(sweep_dir, settings, shown, record=True, meaning_of_flags=None):
    """Refuse a sweep folder whose runs were trained with training settings of another meaning (their results
    would be collected as if trained with these); the first use records them, how they were given (`shown`,
    a list of words) and the folder they were given in (unless not record: call it once they are known to
    work). meaning_of_flags(flags, cwd): the meaning of a record that older versions kept as command-line
    flags only; None: such a record is refused in one line."""
    path = os.path.join(sweep_dir, FLAGS_FILE)
    try:
        recorded = None
        if os.path.lexists(path):
            check_file(path, "the sweep's record of its training flags")
            with open(path, encoding="utf-8") as handle:
                recorded = json.load(handle)
    except UsageError as error:
        raise UsageError(f"{error}; choose another --sweep-dir") from None
    except (OSError, ValueError) as error:
        raise UsageError(f"{path}: unreadable ({error}); choose another {spelled('sweep_dir')}") from None
    if isinstance(recorded, list):  # written before the folder was recorded too
        recorded = {"flags": recorded, "cwd": os.getcwd()}
    now = training_meaning(settings, os.getcwd())
    if recorded is None:
        if record:
            make_folder(sweep_dir)
            atomic_write_text(path, json.dumps({"flags": list(shown), "cwd": os.getcwd(), "settings": now}) + "\n")
        return
    if not (isinstance(recorded, dict) and isinstance(recorded.get("flags"), list)
            and all(isinstance(flag, str) for flag in recorded["flags"]) and isinstance(recorded.get("cwd"), str)
            and isinstance(recorded.get("settings", {}), dict)):
        raise UsageError(f"{path}: expected the training flags and the folder they were given in, got "
                         f"{json.dumps(recorded)[:60]}; choose another {spelled('sweep_dir')}")
    before = recorded.get("settings")
    if before is None and meaning_of_flags is None:
        raise UsageError(f"{path}: recorded by an older version as command-line flags; run this sweep with "
                         "betavae sweep")
    if before is None:
        before = meaning_of_flags(recorded["flags"], recorded["cwd"])
    # A setting added since the record was written was at its default then.
    differ = [spelled(name) for name in sorted(now) if before.get(name, BY_NAME[name].default) != now[name]]
    if differ:
        words = lambda flags: shlex.join(flags) or "none"  # noqa: E731
        raise UsageError(f"{sweep_dir} holds runs trained with the training flags {words(recorded['flags'])}, not "
                         f"{words(shown)} (they differ in {', '.join(differ)}); pass those, or choose another "
                         f"{spelled('sweep_dir')}")
