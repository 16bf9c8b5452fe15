"""A sweep as a library function: check its options, list its runs, train and evaluate those that need it on
an engine, and collect them into sweep.csv and the plots. The sweep CLI (from argv) and the Python API's
beta_sweep (from keywords) both call run_sweep with training settings, not command lines.
"""
import hashlib
import json
import os
import types

import numpy as np

from betavae.cli import UsageError, check_minimum
from betavae.data.run_rows import load_run_data
from betavae.fields import Field, spelled
from betavae.files import atomic_write_text
from betavae.objectives import objective_of
from betavae.run.folder import RunFolder
from betavae.sweep.plan import (collect, format_table, needs, parse_betas, parse_seeds, plan_runs, sweep_row,
                                 training_settings, write_table)
from betavae.sweep.recorded import check_training_settings, check_training_unchanged
from betavae.words import counted

# The sweep's own options: their types, defaults and choices, for its flags and the Python API alike. --jobs
# and --cpus-per-task default to None, so that check_options sees whether they were given.
OPTIONS = (Field("betas", str, default="0.25,0.5,1,2,4,8,16"), Field("seeds", str, default="0"),
           Field("epochs", int, default=200), Field("sweep_dir", str, default=os.path.join("checkpoints", "sweep")),
           Field("iwae_samples", int, default=200), Field("engine", str, default="local", choices=("local", "ray")),
           Field("jobs", int, default=None), Field("address", str, default=None),
           Field("cpus_per_task", float, default=None), Field("list", bool, default=False),
           Field("only", int, default=None), Field("collect", bool, default=False))


def default_options():
    """The sweep's options at their defaults (one attribute per OPTIONS entry)."""
    return types.SimpleNamespace(**{spec.name: spec.default for spec in OPTIONS})


def check_options(options, training):
    """Refuse option values that cannot work, and options the chosen engine would ignore (jobs and
    cpus_per_task are None when not given: then they are set to their defaults here), then training settings
    that training would refuse (sweep.recorded.check_training_settings), before anything runs: the sweep's
    own flags first, so that a mistake in them is not hidden behind a training flag's (e.g. the default data
    file, missing outside the repository). Returns the betas and seeds."""
    for name, engine in (("jobs", "local"), ("address", "ray"), ("cpus_per_task", "ray")):
        if getattr(options, name) is not None and options.engine != engine:
            raise UsageError(f"{spelled(name)} is for {spelled('engine', engine)}"
                             + (f"; Ray runs as many runs at once as the cluster's CPUs allow (see "
                                f"{spelled('cpus_per_task')})" if name == "jobs" else ""))
    options.jobs = 1 if options.jobs is None else options.jobs
    options.cpus_per_task = 1.0 if options.cpus_per_task is None else options.cpus_per_task
    check_minimum(options, ("epochs", "jobs", "iwae_samples"), 1, spelled)
    if not options.cpus_per_task > 0:
        raise UsageError(f"{spelled('cpus_per_task')} must be > 0, got {options.cpus_per_task}")
    betas, seeds = parse_betas(options.betas), parse_seeds(options.seeds)
    if options.only is not None and not 0 <= options.only < len(betas) * len(seeds):
        raise UsageError(f"{spelled('only', options.only)}: this sweep has runs 0 to {len(betas) * len(seeds) - 1} "
                         f"(see {spelled('list', True)})")
    check_training_settings(training)
    other_betas = [beta for beta in betas if beta != 1.0]
    objective = objective_of(training)
    if "beta" not in objective.uses and other_betas:
        got = ", ".join(f"{beta:g}" for beta in other_betas)
        raise UsageError(f"{spelled('objective', objective.name)} has no KL weight to sweep: {spelled('betas')} "
                         f"must be 1 (got {got}); sweep {spelled('seeds')} instead")
    return betas, seeds


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
    from betavae.scoring.sections import plot_labels
    curve, collapse = optimum_curve(results[0][0].folder, grid, reports[0]["latent_dim"],
                                    os.path.join(sweep_dir, "optimum_curve.json"))
    folder = os.path.join(sweep_dir, "plots")
    plots = sweep_plots.plot_sweep(reports, curve, folder, plot_labels(), seeds, collapse)
    missing = len(runs) - len(results)
    print(f"wrote {path} ({counted(len(results), 'run')}{f'; {missing} not evaluated yet' if missing else ''}) "
          f"and {counted(len(plots), 'plot')} in {folder}")
    return rows


def run_tasks(tasks, options, ready):
    """Run the tasks on the chosen engine; returns the runs that failed (engines.Interrupted on a signal).
    ready(): called once the engine is up, before the first task starts."""
    from betavae.sweep.engines import run_local, run_ray
    if options.engine == "ray":
        return run_ray(tasks, options.address, options.cpus_per_task, ready)
    return run_local(tasks, min(options.jobs, len(tasks)), ready)


def run_sweep(options, training, shown=(), meaning_of_flags=None):
    """Check the options, then list, run (all or only one) and collect the runs into sweep.csv and the plots;
    returns the rows of sweep.csv as dicts (None with list or only; engines.Interrupted on a signal).
    options: the sweep's options (OPTIONS); training: the runs' training settings, with beta, seed, epochs
    and folder set here for each run;
    shown and meaning_of_flags: how they were given and how to read an older record of them
    (sweep.recorded.check_training_unchanged)."""
    betas, seeds = check_options(options, training)
    runs = plan_runs(betas, seeds, os.path.abspath(options.sweep_dir))
    sweep_dir = os.path.abspath(options.sweep_dir)
    check_training_unchanged(sweep_dir, training, shown, record=False, meaning_of_flags=meaning_of_flags)

    def record():  # only by a command that trains with them, once its engine is up: a failed start leaves none
        check_training_unchanged(sweep_dir, training, shown, meaning_of_flags=meaning_of_flags)

    if options.list:
        print("\n".join(describe(run, needs(run, options.epochs, options.iwae_samples)) for run in runs))
        return None
    chosen = [] if options.collect else runs if options.only is None else [runs[options.only]]
    # A worker (betavae.sweep.worker) trains with these settings and evaluates, in its own process.
    tasks = [{"run": run, "cwd": os.getcwd(), "iwae_samples": options.iwae_samples,
              "training": training_settings(run, options.epochs, training) if "train" in needed else None}
             for run in chosen if (needed := needs(run, options.epochs, options.iwae_samples))]
    print(f"sweep: {counted(len(runs), 'run')} in {options.sweep_dir}; {len(tasks)} to run now, "
          f"{sum(task['training'] is not None for task in tasks)} of them to train", flush=True)
    failed = run_tasks(tasks, options, record) if tasks else []
    if not tasks and not options.collect:
        record()
    collecting = options.only is None and len(failed) < len(runs)
    rows = collect_and_plot(runs, options.sweep_dir, len(seeds)) if collecting else None
    if failed:
        indexes = ", ".join(str(run.index) for run in failed)
        raise UsageError(f"{len(failed)} of {counted(len(tasks), 'run')} failed (index {indexes}); the FAILED lines "
                         "above and their logs say why")
    if options.only is not None:
        print(f"run {options.only} finished; collect the sweep with the same command without --only")
    return rows
