"""Train and evaluate one beta-VAE per beta and seed, and compare rate, distortion and active units with the
theory.

    python beta_vae_sweep.py --betas 0.25,0.5,1,2,4,8,16 --seeds 0,1,2 --epochs 200 [-- training flags]

Each run trains into <sweep-dir>/beta_<b>_seed_<s>/ and is evaluated there; <sweep-dir>/sweep.csv collects
the results (one row per run) next to the best linear-Gaussian model at each beta, and <sweep-dir>/plots/
shows them. Running the sweep again resumes unfinished runs and reuses every evaluation whose checkpoint has
not changed, so a finished sweep is only collected again.
"""
import argparse
import hashlib
import json
import os
import shlex
import sys

import numpy as np

from betavae.cli import OneLineParser, UsageError, check_minimum, flag_name, run_cli
from betavae.commands import after_training as after_training_command
from betavae.commands import train as train_command
from betavae.files import atomic_write_text
from betavae.data.run_rows import load_run_data
from betavae.run.folder import RunFolder
from betavae.sweep.engines import Interrupted
from betavae.sweep.plan import (EVALUATE_LOG, TRAIN_LOG, check_training_flags, check_training_flags_unchanged,
                                 collect, evaluation_argv, format_table, needs, parse_betas, parse_seeds,
                                 plan_runs, sweep_row, training_argv, write_table)

EPILOG = f"""training flags:
  Flags after `--` go to beta_vae_main.py for every run (see python beta_vae_main.py --help), e.g.
    python beta_vae_sweep.py --betas 1,4 -- --data my.csv --latent-dim 3 --hidden-units 64
  --beta, --seed, --epochs, --checkpoint-dir, --resume and --overwrite are set by the sweep and refused there.

each run's folder:
  the checkpoint, config.json, history.csv, evaluation.json and plots/, and the output of its training
  ({TRAIN_LOG}) and evaluation ({EVALUATE_LOG}).

any scheduler:
  --list prints the runs with their index; `--only INDEX` (same other flags) runs one of them, e.g. as a
  Slurm array task; then the plain command collects what is there into sweep.csv and the plots."""


def build_parser():
    """The sweep's flags; --help also documents the pass-through training flags and the run folders."""
    parser = OneLineParser(usage="%(prog)s [options] [-- training flags]", epilog=EPILOG,
                           description=__doc__.split("\n\n")[0].replace("\n", " "),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--betas", default="0.25,0.5,1,2,4,8,16",
                        help="comma-separated values of beta, 0 or more (default: %(default)s)")
    parser.add_argument("--seeds", default="0", help="comma-separated training seeds; every beta is trained with "
                                                     "every seed (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=200, help="epochs per model (default: %(default)s)")
    parser.add_argument("--sweep-dir", default=os.path.join("checkpoints", "sweep"),
                        help="where the runs, sweep.csv and plots go (default: %(default)s)")
    parser.add_argument("--iwae-samples", type=int, default=200,
                        help="importance samples per row for -log p(x) (default: %(default)s)")
    parser.add_argument("--engine", choices=("local", "ray"), default="local",
                        help="local: worker processes on this machine; ray: one Ray task per run "
                             "(pip install -r requirements-ray.txt) (default: %(default)s)")
    # --jobs and --cpus-per-task default to None, so that check_flags sees whether they were given.
    parser.add_argument("--jobs", type=int, default=None,
                        help="local engine: runs at once, one worker process each (default: 1)")
    parser.add_argument("--address", default=None,
                        help="ray engine: address of the Ray cluster, e.g. ray://head:10001 or auto; "
                             "default: start a local Ray instance")
    parser.add_argument("--cpus-per-task", type=float, default=None,
                        help="ray engine: CPUs Ray reserves for each run (default: 1)")
    choice = parser.add_mutually_exclusive_group()
    choice.add_argument("--list", action="store_true", help="print the runs, one per line with its index and "
                                                            "state, and exit")
    choice.add_argument("--only", type=int, metavar="INDEX", help="run just the run of this index (see --list), "
                                                                  "without collecting")
    choice.add_argument("--collect", action="store_true",
                        help="train nothing: write sweep.csv and the plots from the runs evaluated so far")
    return parser


def check_flags(args, training_flags):
    """Refuse flag values that cannot work, and flags the chosen engine would ignore (--jobs and
    --cpus-per-task are None when not given: then they are set to their defaults here), before anything runs.
    Returns what the training parser made of the training flags (check_training_flags)."""
    for name, engine in (("jobs", "local"), ("address", "ray"), ("cpus_per_task", "ray")):
        if getattr(args, name) is not None and args.engine != engine:
            raise UsageError(f"{flag_name(name)} is for --engine {engine}"
                             + ("; Ray runs as many runs at once as the cluster's CPUs allow (see --cpus-per-task)"
                                if name == "jobs" else ""))
    args.jobs = 1 if args.jobs is None else args.jobs
    args.cpus_per_task = 1.0 if args.cpus_per_task is None else args.cpus_per_task
    check_minimum(args, ("epochs", "jobs", "iwae_samples"), 1)
    if not args.cpus_per_task > 0:
        raise UsageError(f"--cpus-per-task must be > 0, got {args.cpus_per_task}")
    parsed = check_training_flags(training_flags)
    other_betas = [beta for beta in parse_betas(args.betas) if beta != 1.0]
    if parsed.objective == "iwae" and other_betas:
        raise UsageError(f"--objective iwae has no KL weight to sweep: --betas must be 1 (got "
                         f"{', '.join(f'{beta:g}' for beta in other_betas)}); sweep --seeds instead")
    return parsed


def describe(run, needed):
    """A --list line: index, beta, seed, folder and what the run still needs."""
    state = "to " + " and ".join(needed) if needed else "done"
    return f"{run.index:4d}  beta {run.beta:<8g} seed {run.seed:<5d} {state:<25} {run.folder}"


# The fields of a run's config.json that fix its training and test rows: all the optimum's curve depends on.
ROWS_FIELDS = ("data_sha256", "test_data_sha256", "test_fraction", "seed", "columns")


def optimum_curve(folder, betas, latent_dim, cache_path):
    """The linear optimum (fitted to a run's training rows, scored on its test rows) over a grid of beta,
    and the beta at which each of its units collapses (bisected between grid points, not a grid point).
    Kept in cache_path under what it depends on, the run's rows (data, split, columns), and the grid:
    collecting a finished sweep again then takes seconds instead of one optimisation per grid point, whichever
    of its runs is read first. Returns (curve, collapse betas)."""
    from betavae.scoring.references import held_out_linear_optimum, unit_collapse_betas
    run = RunFolder(folder)
    config = run.load_config()
    rows = {name: getattr(config, name) for name in ROWS_FIELDS}
    key = {"rows_sha256": hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest(),
           "latent_dim": latent_dim, "betas": [float(beta) for beta in betas]}
    try:
        with open(cache_path, encoding="utf-8") as handle:
            cached = json.load(handle)
        if cached["key"] == key:
            return cached["curve"], cached["collapse"]
    except (OSError, ValueError, KeyError, TypeError):
        pass  # no usable cache: compute the curve
    train, test = load_run_data(run.locate_data(config))
    train_moments = (train.mean(axis=0), np.atleast_2d(np.cov(train, rowvar=False, bias=True)))
    test_moments = (test.mean(axis=0), np.atleast_2d(np.cov(test, rowvar=False, bias=True)))
    curve = [{"beta": float(beta), **held_out_linear_optimum(train_moments, test_moments, beta, latent_dim)}
             for beta in betas]
    collapse = unit_collapse_betas(train_moments[1], latent_dim, betas)
    atomic_write_text(cache_path, json.dumps({"key": key, "curve": curve, "collapse": collapse}) + "\n")
    return curve, collapse


def collect_and_plot(runs, sweep_dir, seeds):
    """Write sweep.csv and the plots from every run evaluated so far; returns the rows of sweep.csv (dicts)."""
    results = collect(runs)
    if not results:
        raise UsageError(f"{sweep_dir}: no evaluated run of this sweep yet (see --list)")
    rows = [sweep_row(report, run) for run, report in results]
    path = os.path.join(sweep_dir, "sweep.csv")
    write_table(path, rows)
    print(format_table(rows))
    reports = [report for _, report in results]
    positive = [report["beta"] for report in reports if report["beta"] > 0]
    top = max(positive + [reports[0]["reference"].get("collapse_beta") or 0])
    grid = np.geomspace(min(positive) / 1.5, top * 1.5, 40) if positive else []
    from betavae.plots import sweep as sweep_plots
    curve, collapse = optimum_curve(results[0][0].folder, grid, reports[0]["latent_dim"],
                                    os.path.join(sweep_dir, "optimum_curve.json"))
    folder = os.path.join(sweep_dir, "plots")
    plots = sweep_plots.plot_sweep(reports, curve, folder, seeds, collapse)
    missing = len(runs) - len(results)
    print(f"wrote {path} ({len(results)} runs{f'; {missing} not evaluated yet' if missing else ''}) and "
          f"{len(plots)} plots in {folder}")
    return rows


def run_tasks(tasks, args):
    """Run the tasks on the chosen engine; returns the runs that failed (engines.Interrupted on a signal)."""
    os.makedirs(args.sweep_dir, exist_ok=True)
    from betavae.sweep.engines import run_local, run_ray
    if args.engine == "ray":
        return run_ray(tasks, args.address, args.cpus_per_task)
    return run_local(tasks, min(args.jobs, len(tasks)))


def run_sweep(args, training_flags):
    """Check the flags, then list, run (all or --only one) and collect the runs into sweep.csv and the plots;
    returns the rows of sweep.csv as dicts (None with --list or --only; engines.Interrupted on a signal). The
    CLI and the Python API's sweep() both come here. args: the sweep's flags as parsed; training_flags: the
    training flags (argv)."""
    parsed = check_flags(args, training_flags)
    betas, seeds = parse_betas(args.betas), parse_seeds(args.seeds)
    runs = plan_runs(betas, seeds, os.path.abspath(args.sweep_dir))
    if args.only is not None and not 0 <= args.only < len(runs):
        raise UsageError(f"--only {args.only}: this sweep has runs 0 to {len(runs) - 1} (see --list)")
    # Recorded only now that they are known to work, and only by a command that trains with them.
    check_training_flags_unchanged(os.path.abspath(args.sweep_dir), training_flags, parsed,
                                   record=not (args.list or args.collect))
    if args.list:
        print("\n".join(describe(run, needs(run, args.epochs, args.iwae_samples)) for run in runs))
        return None
    chosen = [] if args.collect else runs if args.only is None else [runs[args.only]]
    # A worker (betavae.sweep.worker) calls the two CLIs' entry functions in its process, handed down from here.
    tasks = [{"run": run, "cwd": os.getcwd(), "evaluate_argv": evaluation_argv(run, args.iwae_samples),
              "train_argv": training_argv(run, args.epochs, training_flags) if "train" in needed else None,
              "train": train_command.main, "evaluate": after_training_command.main}
             for run in chosen if (needed := needs(run, args.epochs, args.iwae_samples))]
    print(f"sweep: {len(runs)} runs in {args.sweep_dir}; {len(tasks)} to run now, "
          f"{sum(t['train_argv'] is not None for t in tasks)} of them to train", flush=True)
    failed = run_tasks(tasks, args) if tasks else []
    rows = collect_and_plot(runs, args.sweep_dir, len(seeds)) if args.only is None and len(failed) < len(runs) \
        else None
    if failed:
        indexes = ", ".join(str(run.index) for run in failed)
        raise UsageError(f"{len(failed)} of {len(tasks)} runs failed (index {indexes}); the FAILED lines above "
                         "and their logs say why")
    if args.only is not None:
        print(f"run {args.only} finished; collect the sweep with the same command without --only")
    return rows


def main(argv=None):
    """Parse the sweep's flags and the training flags after `--`, then run the sweep (run_sweep)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    split = argv.index("--") if "--" in argv else len(argv)
    args, training_flags = build_parser().parse_args(argv[:split]), argv[split + 1:]

    def run():
        try:
            run_sweep(args, training_flags)
        except Interrupted as stop:
            print(f"sweep stopped by {stop}; the running models saved their last epoch. Resume with the same "
                  f"command: python beta_vae_sweep.py {shlex.join(argv)}", file=sys.stderr)
            return 128 + stop.signal_number
        return 0

    return run_cli(run)
