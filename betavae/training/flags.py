"""The checks of training settings (one attribute per training flag) that need no data: the training session,
the Python API's train() and the sweep all check settings here, however they were given (their parser is
betavae.commands.training_flags). No TensorFlow, no numpy.
"""
import importlib.util
import os

from betavae.cli import UsageError
from betavae.config import check_flags
from betavae.files import make_folder
from betavae.paths import check_file, file_problem
from betavae.fields import FLAG_DEFAULTS, FLAGS, spelled
from betavae.objectives import OBJECTIVES, objective_of
from betavae import posterior_settings


def validate_flags(args):
    """Reject flag values that cannot work, before any data or TensorFlow is loaded."""
    check_flags(args, (spec.name for spec in FLAGS))
    for name in ("data", "test_data", "checkpoint_dir", "logdir"):
        if getattr(args, name) == "":  # else taken for the flag left out
            raise UsageError(f"{spelled(name)}: an empty path; name one or leave it out")
    problem = OBJECTIVES[args.objective].problem(args, spelled) or posterior_settings.problem(args, spelled)
    if not problem and not args.resume:  # a resumed run keeps its config.json's settings and says which it ignores
        problem = (objective_of(args).unused(args, FLAG_DEFAULTS, spelled)
                   or posterior_settings.unused(args, FLAG_DEFAULTS, spelled))
    if problem:
        raise UsageError(problem)
    if args.resume and args.overwrite:
        raise UsageError(f"{spelled('resume', True)} and {spelled('overwrite', True)} exclude each other")
    if args.logdir and importlib.util.find_spec("tensorboard") is None:
        raise UsageError(f"{spelled('logdir')} needs the tensorboard package: pip install -r requirements.txt")
    if args.logdir:
        make_folder(args.logdir, "cannot create it", label=spelled("logdir", args.logdir))


def check_data_file(path, flag=None):
    """check_file for the data a training reads (flag: the words naming it, e.g. "training flag --data"); the
    default data missing, as from a folder other than the project's, says where it was looked for and how to
    give or make it."""
    if path == FLAG_DEFAULTS["data"] and file_problem(path) == "no such file":
        named = f"{flag} " if flag else ""
        raise UsageError(f"{named}{path}: no such file (the default data, looked for in {os.getcwd()}); pass "
                         f"{spelled('data', text='FILE')}, or write the example data there with `betavae generate`")
    check_file(path, "a data file", flag=flag)
