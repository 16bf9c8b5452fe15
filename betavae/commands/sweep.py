"""Train and evaluate one beta-VAE per beta and seed, and compare rate, distortion and active units with the
theory.

    python beta_vae_sweep.py --betas 0.25,0.5,1,2,4,8,16 --seeds 0,1,2 --epochs 200 [-- training flags]

Each run trains into <sweep-dir>/beta_<b>_seed_<s>/ and is evaluated there; <sweep-dir>/sweep.csv collects
the results (one row per run) next to the best linear-Gaussian model at each beta, and <sweep-dir>/plots/
shows them. Running the sweep again resumes unfinished runs and reuses every evaluation whose checkpoint has
not changed, so a finished sweep is only collected again.
"""
import argparse
import shlex
import sys

from betavae.cli import OneLineParser, UsageError, flag_name, run_cli
from betavae.commands.training_flags import build_parser as build_training_parser
from betavae.commands.training_flags import given_flags
from betavae.fields import SWEEP_SET_FLAGS  # given after `--`, they would silently fight the sweep
from betavae.sweep.driver import OPTIONS, run_sweep
from betavae.sweep.engines import Interrupted
from betavae.sweep.plan import EVALUATE_LOG, TRAIN_LOG, parse_betas, parse_seeds
from betavae.sweep.recorded import training_meaning
from betavae.training.settings_file import (SWEEP_TABLE, apply_settings, checked_values, read_settings_file,
                                            training_values)

DEFAULTS = {spec.name: spec.default for spec in OPTIONS}  # --jobs and --cpus-per-task: None, see check_options
ENGINES = next(spec.choices for spec in OPTIONS if spec.name == "engine")
ACTIONS = ("list", "only", "collect")  # what this command does, not what the sweep is: flags only
LISTS = ("betas", "seeds")  # comma lists on the command line; a settings file may give a TOML array

EPILOG = f"""training flags:
  Flags after `--` go to beta_vae_main.py (betavae train) for every run (see its --help), e.g.
    %(prog)s --betas 1,4 -- --data my.csv --latent-dim 3 --hidden-units 64
  --beta, --seed, --epochs, --checkpoint-dir, --resume and --overwrite are set by the sweep and refused there.

settings file:
  --config FILE (TOML) holds the sweep's options in a [sweep] table (betas = "1,4", seeds = "0,1") and
  every run's training settings as top-level keys (latent_dim = 3), named with underscores; flags given
  too, before and after `--`, override it. A finished run's config.json gives the training settings alone.

each run's folder:
  the checkpoint, config.json, history.csv, evaluation.json and plots/, and the output of its training
  ({TRAIN_LOG}) and evaluation ({EVALUATE_LOG}).

any scheduler:
  --list prints the runs with their index; `--only INDEX` (same other flags) runs one of them, e.g. as a
  Slurm array task; then the plain command collects what is there into sweep.csv and the plots."""


def build_parser(prog=None):
    """The sweep's flags; --help also documents the pass-through training flags and the run folders. prog: the
    command's name (default: the script's)."""
    parser = OneLineParser(prog=prog, usage="%(prog)s [options] [-- training flags]", epilog=EPILOG,
                           description=__doc__.split("\n\n")[0].replace("\n", " "),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--betas", default=DEFAULTS["betas"],
                        help="comma-separated values of beta, 0 or more (default: %(default)s)")
    parser.add_argument("--seeds", default=DEFAULTS["seeds"],
                        help="comma-separated training seeds; every beta is trained with every seed (default: "
                             "%(default)s)")
    parser.add_argument("--epochs", type=int, default=DEFAULTS["epochs"],
                        help="epochs per model (default: %(default)s)")
    parser.add_argument("--sweep-dir", default=DEFAULTS["sweep_dir"],
                        help="where the runs, sweep.csv and plots go (default: %(default)s)")
    parser.add_argument("--iwae-samples", type=int, default=DEFAULTS["iwae_samples"],
                        help="importance samples per row for -log p(x) (default: %(default)s)")
    parser.add_argument("--engine", choices=ENGINES, default=DEFAULTS["engine"],
                        help="local: worker processes on this machine; ray: one Ray task per run "
                             "(pip install -r requirements-ray.txt) (default: %(default)s)")
    parser.add_argument("--jobs", type=int, default=None,
                        help="local engine: runs at once, one worker process each (default: 1)")
    parser.add_argument("--address", default=None,
                        help="ray engine: address of the Ray cluster, e.g. ray://head:10001 or auto; "
                             "default: start a local Ray instance")
    parser.add_argument("--cpus-per-task", type=float, default=None,
                        help="ray engine: CPUs Ray reserves for each run (default: 1)")
    parser.add_argument("--config", metavar="FILE",
                        help="read the sweep's options (its [sweep] table) and every run's training settings (its "
                             "top-level keys) from this TOML file, or the training settings from a run's "
                             "config.json; flags given too override it")
    choice = parser.add_mutually_exclusive_group()
    choice.add_argument("--list", action="store_true", help="print the runs, one per line with its index and "
                                                            "state, and exit")
    choice.add_argument("--only", type=int, metavar="INDEX", help="run just the run of this index (see --list), "
                                                                  "without collecting")
    choice.add_argument("--collect", action="store_true",
                        help="train nothing: write sweep.csv and the plots from the runs evaluated so far")
    return parser


def training_settings(flags, from_file=None):
    """The training settings that pass-through flags (argv after `--`) ask for (run_sweep checks their values),
    over those of the sweep's settings file (from_file: {name: value}, training.settings_file); flags that
    the sweep sets itself are refused (found by the training parser, so abbreviations and --flag=value forms
    are caught too), and --config, which the sweep reads before `--`, before anything is recorded or
    trained. The sweep's own flags are left at their defaults."""
    parser = build_training_parser()
    unset, defaults = object(), {name: parser.get_default(name) for name in SWEEP_SET_FLAGS}
    parser.set_defaults(**{name: unset for name in SWEEP_SET_FLAGS})
    settings = parser.parse_args(flags)
    clashes = [flag_name(name) for name in SWEEP_SET_FLAGS if getattr(settings, name) is not unset]
    if clashes:
        raise UsageError(f"training flag {', '.join(clashes)} after --: the sweep sets it for each run "
                         "(use --betas, --seeds, --epochs, --sweep-dir)")
    if vars(settings).pop("config") is not None:
        raise UsageError("training flag --config after --: give the file before -- (--config FILE), where its "
                         "top-level keys are every run's training settings")
    vars(settings).update(defaults)
    apply_settings(settings, given_flags(parser, flags), from_file or {})
    return settings


def with_settings_file(parser, args, argv):
    """Read the sweep's settings file (--config) if one is given: its [sweep] table sets the options that
    the command line (argv, before `--`) left at their defaults; returns its training settings ({name:
    value}, empty without a file). --config itself is taken off args."""
    path = vars(args).pop("config")
    if path is None:
        return {}
    file = read_settings_file(path)
    training = training_values(file, sweep=True)  # first: it checks that a [sweep] entry is a table
    specs = {spec.name: spec for spec in OPTIONS if spec.name not in ACTIONS}
    refusals = {name: f"not read from a file; give --{name} where the sweep is started" for name in ACTIONS}
    entries = {key: ",".join(map(str, value)) if key in LISTS and isinstance(value, list) else value
               for key, value in file.table.get(SWEEP_TABLE, {}).items()}  # parsed as the flag's text
    options = checked_values(file, entries, specs, refusals, table=SWEEP_TABLE)
    for name, parse in (("betas", parse_betas), ("seeds", parse_seeds)):  # their checks, naming the file
        try:
            parse(options.get(name, DEFAULTS[name]))
        except UsageError as error:
            raise file.problem(name, str(error), SWEEP_TABLE) from None
    apply_settings(args, given_flags(parser, argv, specs), options)
    return training


def meaning_of_flags(flags, cwd):
    """What training flags recorded by an older version (argv) mean (sweep.recorded.training_meaning)."""
    return training_meaning(build_training_parser().parse_args(flags), cwd)


def main(argv=None, prog=None):
    """Parse the sweep's flags and the training flags after `--` (each over a --config file's), then run the
    sweep (sweep.driver.run_sweep). prog: the command's name (default: the script's)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    split = argv.index("--") if "--" in argv else len(argv)
    parser = build_parser(prog)
    args, training_flags = parser.parse_args(argv[:split]), argv[split + 1:]

    def run():
        path = args.config
        from_file = with_settings_file(parser, args, argv[:split])
        shown = (["--config", path] if from_file else []) + training_flags  # how the settings were given
        try:
            run_sweep(args, training_settings(training_flags, from_file), shown, meaning_of_flags)
        except Interrupted as stop:
            print(f"sweep stopped by {stop}; the running models saved their last epoch. Resume with the same "
                  f"command: betavae sweep {shlex.join(argv)}", file=sys.stderr)
            return 128 + stop.signal_number
        return 0

    return run_cli(run)
