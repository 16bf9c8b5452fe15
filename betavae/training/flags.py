"""The checks of training settings (one attribute per training flag) that need no data: the training session,
the Python API's train() and the sweep all check settings here, however they were given (their parser is
betavae.commands.training_flags). No TensorFlow, no numpy.
"""
import importlib.util
import os

from betavae.cli import UsageError, flag_name
from betavae.config import check_flags
from betavae.fields import FLAGS


def validate_flags(args):
    """Reject flag values that cannot work, before any data or TensorFlow is loaded."""
    check_flags(args, (spec.name for spec in FLAGS))
    for name in ("data", "test_data", "checkpoint_dir", "logdir"):
        if getattr(args, name) == "":  # else taken for the flag left out
            raise UsageError(f"{flag_name(name)}: an empty path; name one or leave the flag out")
    if args.objective == "capacity" and args.capacity is None:
        raise UsageError("--objective capacity needs --capacity C, the capacity in nats that C rises to")
    if args.objective == "tc" and args.capacity is not None:
        raise UsageError("--capacity is for the capacity objective, not --objective tc")
    if args.objective == "iwae":
        check_iwae_flags(args)
    if args.resume and args.overwrite:
        raise UsageError("--resume and --overwrite exclude each other")
    if args.logdir and importlib.util.find_spec("tensorboard") is None:
        raise UsageError("--logdir needs the tensorboard package: pip install -r requirements.txt")
    if args.logdir:
        try:
            os.makedirs(args.logdir, exist_ok=True)
        except OSError as error:
            raise UsageError(f"--logdir {args.logdir}: cannot create it ({error.strerror})") from None


def check_iwae_flags(args):
    """The iwae objective is a bound on log p(x): no KL weight, no schedule of one, and more than one draw."""
    if args.beta != 1.0:
        raise UsageError(f"--objective iwae is a bound on log p(x) with no KL weight: leave --beta at 1 (got "
                         f"{args.beta:g})")
    if args.capacity is not None or args.kl_warmup_epochs:
        raise UsageError(f"--{'capacity' if args.capacity is not None else 'kl-warmup-epochs'} schedules a KL "
                         "weight that --objective iwae does not have")
    if args.mc_samples == 1:
        raise UsageError("--objective iwae with --mc-samples 1 is the ELBO estimated by one draw: give K >= 2 "
                         "(default 8) or use --objective beta")
