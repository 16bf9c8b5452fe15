"""Score a trained run against the exact references: the computation behind `--mode evaluate`.

`evaluate_run` returns the report, a dict of numbers, lists, strings and None (`null` where a number cannot
be computed, with the reason in report["unavailable"]), section by section (betavae.scoring.sections). It prints only through its `progress` callable,
never exits, and can be called many times in one process (the sweep's worker does). `format_report` turns a
report into lines under 100 characters, `report_json` into strict JSON. Importing this module does not
import TensorFlow; the functions do, when they need the model.
"""
import contextlib
import json
import math
import textwrap
import time
import warnings

import numpy as np

from betavae.cli import UsageError, warn
from betavae.data import loading
from betavae.paths import file_problem
from betavae.run.folder import HISTORY_FILE, REPORT_FILE
from betavae.run.opened import open_run
from betavae.scoring.sections import SECTIONS
from betavae.scoring.sections.base import HELD_OUT_ROWS
from betavae.scoring.sections.context import EvaluationContext
from betavae.scoring.sections.run import RunSection, checkpoint_identity

IWAE_SAMPLES = 100  # draws per row; on the shipped data 1000 moves -log p(x) by < 3e-4 nats (its SE: 0.02)
PLOT_SAMPLES = 20_000  # prior samples a plot draws at most: enough for its scatter and covariance
WIDTH = 99  # report lines stay under 100 characters


@contextlib.contextmanager
def _stage(progress, name, detail=""):
    """Tell progress when a stage starts (with what it does) and how long it took."""
    progress(f"{name}: {detail} ..." if detail else f"{name} ...")
    started = time.perf_counter()
    yield
    progress(f"{name}: done in {time.perf_counter() - started:.2f} s")


def _quiet(_line):
    """The default progress callable: say nothing."""


def evaluate_run(run, *, iwae_samples=IWAE_SAMPLES, num_samples=10_000, seed=0, rows=None,
                 rows_label="given rows", slow_metrics=False, progress=_quiet):
    """Every score of `run` (an OpenRun, a RunFolder or its path) on `rows` (default: its held-out test
    rows; rows_label names them in the report), in nats per sample and the data's units, against the exact
    references fitted to its training rows and the truth of generated data; returns the report dict, one
    entry per key of the sections (betavae.scoring.sections). slow_metrics: also DCI and the FactorVAE
    score (seconds to minutes; see disentanglement_report). Raises UsageError (or loading.DataError) for a
    bad run folder or data that is not there (a moved run's copy of its data is the OpenRun's)."""
    context = EvaluationContext(open_run(run), iwae_samples=iwae_samples, num_samples=num_samples, seed=seed,
                                rows=rows, rows_label=rows_label, slow_metrics=slow_metrics)
    report = {}
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # degenerate data: handled as null + reason
        for section in SECTIONS:
            stage = section.stage(context)
            with _stage(progress, *stage) if stage else contextlib.nullcontext():
                report.update(section.compute(context))
    report = _finite_or_null(report, "", context.unavailable)
    report["unavailable"] = context.unavailable
    return report


def _finite_or_null(value, path, unavailable):
    """value with every non-finite float replaced by None, its path and reason added to unavailable."""
    if isinstance(value, dict):
        return {key: _finite_or_null(item, f"{path}.{key}" if path else key, unavailable)
                for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_null(item, f"{path}[{index}]", unavailable) for index, item in enumerate(value)]
    if isinstance(value, (float, np.floating)) and not math.isfinite(value):
        unavailable.setdefault(path, f"not finite ({value})")
        return None
    return value.item() if isinstance(value, np.generic) else value


def report_json(report):
    """The report as strict JSON text (no NaN or Infinity: those are null already)."""
    return json.dumps(report, indent=1, allow_nan=False) + "\n"


# What every report of evaluate_run holds and its readers (the sweep's plan and rows) rely on.
REPORT_KEYS = ("beta", "objective", "rows", "seed", "iwae_samples", "checkpoint", "reference", "kl",
               "kl_per_dim", "test_beta_objective", "test_nll_iwae", "active_units")


def save_report(folder, report):
    """Write the report to evaluation.json in the RunFolder (held for writing), in one step, or, for rows given
    instead of the held-out test rows, to evaluation_rows.json; returns its path."""
    return folder.write_report(report_json(report), given_rows=report["rows"] != HELD_OUT_ROWS)


def evaluate_and_save(run, **options):
    """evaluate_run(run, **options) with the run held for writing (evaluation.json is the run's: never beside
    a training), saved as its evaluation.json (save_report); returns (report, its path). run: an OpenRun."""
    with run.folder.writing():
        report = evaluate_run(run, **options)
        return report, save_report(run.folder, report)


def load_report(folder):
    """The report that save_report wrote into the RunFolder, or None when it is missing, unreadable or not
    one (not an object, or without one of REPORT_KEYS), or when its -log p(x) for a latent of 1 or 2
    dimensions came from the Gauss-Hermite quadrature centred on q(z|x) of the suite before the prior grid
    (no "quadrature" entry), which misses posterior modes: such a file is no evaluation to reuse."""
    if file_problem(folder.file(REPORT_FILE)):  # none, or no file to open without blocking (a FIFO)
        return None
    try:
        with open(folder.file(REPORT_FILE), encoding="utf-8") as handle:
            report = json.load(handle)
    except (OSError, ValueError):
        return None
    if not isinstance(report, dict) or not isinstance(report.get("reference"), dict) \
            or any(key not in report for key in REPORT_KEYS) \
            or ("test_nll_quadrature" in report and "quadrature" not in report):
        return None
    return report


def format_report(report, checkpoint_dir):
    """The report as lines under 100 characters, section by section: nats per sample (summed over data
    dimensions) to four decimals; latent dimensions sorted by KL, descending, each with the model's own
    index z1..zd."""
    lines = [RunSection.header(report, checkpoint_dir)]
    lines += [f"  {line}" for section in SECTIONS for line in section.lines(report)]
    lines += [f"  n/a {name}: {reason}" for name, reason in report.get("unavailable", {}).items()]
    return "\n".join(textwrap.fill(line, WIDTH, subsequent_indent="      ", break_on_hyphens=False)
                     for line in lines)


def best_objective(report):
    """The value a history plot draws as the best achievable: the linear-Gaussian optimum's test objective,
    or None where it is no target (below beta = 1 it sits at the decoder-scale floor: a bound)."""
    optimum = report["reference"].get("linear_beta_optimum")
    return optimum["objective"] if optimum and report["beta"] >= 1 and report["objective"] == "beta" else None


def saved_best_objective(run, progress=_quiet):
    """best_objective of the evaluation.json in `run` (an OpenRun) if it scored the run's current checkpoint
    (checkpoint_identity), else None: a stale one, of another checkpoint, is said so in one progress line."""
    report = load_report(run.folder)
    if report is None:
        return None
    current = checkpoint_identity(run.folder, run.folder.restored_epoch)
    if report["checkpoint"] != current:
        scored, now = ((identity or {}).get("file", "no checkpoint") for identity in (report["checkpoint"], current))
        progress(f"note: {run.folder.file(REPORT_FILE)} scored {scored}, not the current {now}: the history plot "
                 "has no optimum line; --mode evaluate --plots draws it")
        return None
    return best_objective(report)


def plot_run(run, *, num_samples=10_000, seed=0, rows=None, best=None, progress=_quiet):
    """The run's PNG plots (history, pairs, latent, covariances) in <checkpoint-dir>/plots/, drawn from
    `rows` (default: its held-out test rows) and num_samples (at most PLOT_SAMPLES) prior samples; returns
    their paths. run: an OpenRun, a RunFolder or its path. best: the best achievable objective
    (best_objective), dashed on the history plot. What cannot be drawn is left out, with one progress line
    saying why: the history without the epochs of history.csv, the other plots without the test rows."""
    run = open_run(run)
    folder = run.folder
    from betavae.plots import run as plots
    try:
        history = folder.read_history()
        problem = None if history else f"{folder.file(HISTORY_FILE)} is missing or holds no epoch"
    except UsageError as damaged:
        history, problem = [], str(damaged)
    if problem:
        warn(f"no history plot: {problem}")
    names = ("history",) * bool(history) + ("pairs", "latent", "covariances")
    try:
        test = run.data()[1] if rows is None else np.asarray(rows, dtype=np.float32)
    except UsageError as missing:
        drawn = "only the history is drawn; the other plots" if history else "no other plot is drawn either; they"
        warn(f"{drawn} need the test rows: {missing}")
        names = names[:1] if history else ()
    paths = {name: folder.plot_path(f"{name}.png") for name in names}

    def draw_history():
        if history:
            plots.plot_history(history, paths["history"], best, "linear-Gaussian optimum")

    if "pairs" not in paths:
        draw_history()
        return list(paths.values())
    truth = run.truth()
    with _stage(progress, "plots", f"{len(paths)} PNGs into {folder.file('plots')}"):
        model = run.model()  # first: it imports TensorFlow quietly, before inference does
        from betavae.model.inference import encode_with_kl, sample_prior
        draw_history()
        samples = sample_prior(model, min(num_samples, PLOT_SAMPLES), seed)
        plots.plot_pairs(test, samples, paths["pairs"], run.config.column_names)
        plots.plot_latent(encode_with_kl(model, test)[0], paths["latent"])
        matrices = {"test data": loading.moments(test)[1], "prior samples": loading.moments(samples)[1]}
        if truth is not None:
            matrices["truth"] = truth.covariance
        plots.plot_covariances(matrices, paths["covariances"], names=run.config.column_names)
    return list(paths.values())
