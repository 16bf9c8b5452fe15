"""Score a trained run against the exact references: the computation behind `--mode evaluate`.

`evaluate_run` returns the report, a dict of numbers, lists, strings and None (`null` where a number cannot
be computed, with the reason in report["unavailable"]). It prints only through its `progress` callable,
never exits, and can be called many times in one process (the sweep's worker does). `format_report` turns a
report into lines under 100 characters, `report_json` into strict JSON. Importing this module does not
import TensorFlow; the functions do, when they need the model.
"""
import contextlib
import json
import math
import os
import textwrap
import time
import warnings

import numpy as np

from betavae.cli import UsageError
from betavae.config import default_names
from betavae.data import loading
from betavae.files import StreamMoments
from betavae.run.folder import HISTORY_FILE, REPORT_FILE
from betavae.run.opened import open_run
from betavae.scoring.folding import folded_posterior, folding_lines
from betavae.scoring.disentanglement_report import disentanglement_entry, disentanglement_lines
from betavae.scoring.truth import LINEAR_LABEL, latents_of_test_rows, truth_report

IWAE_SAMPLES = 100  # draws per row; on the shipped data 1000 moves -log p(x) by < 3e-4 nats (its SE: 0.02)
PLOT_SAMPLES = 20_000  # prior samples a plot draws at most: enough for its scatter and covariance
WIDTH = 99  # report lines stay under 100 characters


def checkpoint_identity(folder, epoch=None):
    """The checkpoint an evaluation scores (the one of `epoch`, default the newest readable) of the RunFolder:
    its file name, epoch and the SHA-256 of its index file (which holds a checksum of every tensor), or None.
    The sweep reuses an evaluation.json whose "checkpoint" equals the run's current one."""
    chosen = folder.newest_checkpoint() if epoch is None else next(
        (item for item in folder.checkpoints() if item[0] == epoch), None)
    if chosen is None:
        return None
    number, prefix = chosen
    return {"file": os.path.basename(prefix), "epoch": number, "index_sha256": loading.file_digest(prefix + ".index")}


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
    references fitted to its training rows and the truth of generated data; returns the report dict.
    slow_metrics: also DCI and the FactorVAE score (seconds to minutes; see disentanglement_report). Raises
    UsageError (or loading.DataError) for a bad run folder or data that is not there (a moved run's copy
    of its data is the OpenRun's)."""
    run = open_run(run)
    folder = run.folder
    train, test = run.data()
    config = run.located()
    label = "held-out test rows" if rows is None else rows_label
    test = test if rows is None else np.asarray(rows, dtype=np.float32)
    truth = run.truth()
    unavailable = dict(run.truth_unavailable)  # why a truth file beside the data is none for them
    objective = "capacity" if config.capacity is not None else config.objective
    weights = {"capacity": {"capacity": config.capacity, "gamma": config.gamma},
               "tc": {"alpha": config.alpha, "gamma": config.gamma},
               "iwae": {"training_samples": config.mc_samples}}.get(objective, {})
    report = {"beta": config.beta, "objective": objective, **weights,
              "latent_dim": config.latent_dim, "test_rows": len(test), "rows": label, "iwae_samples": iwae_samples,
              "num_samples": num_samples, "seed": seed}
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # degenerate data: handled below as null + reason
        with _stage(progress, "model", "TensorFlow (imported once per process) and the checkpoint"):
            model = run.model()
            report["checkpoint"] = checkpoint_identity(folder, folder.restored_epoch)
        with _stage(progress, "references", "full-covariance Gaussian, factor analysis, linear optimum"):
            report["reference"] = references(config, train, test, unavailable)
        grid = config.latent_dim <= 2
        with _stage(progress, "IWAE" + (" and the prior grid" if grid else ""),
                    f"test rows {len(test)}, K={iwae_samples} importance samples, KL parts"):
            scores = model_scores(model, test, config.beta, iwae_samples, seed, unavailable, config.column_names)
            report.update(scores.pop("report"))
            report["kl_decomposition"] = model.posterior_family.kl_split(
                {"mean": scores["code_means"], "log_scale": scores["code_log_scales"]}, seed)
            report["folded_posterior"] = folded_posterior(scores["row_scores"])
        with _stage(progress, "truth and alignment",
                    "true -log p(x), decoder directions, disentanglement metrics, notes"):
            latents = latents_of_test_rows(config) if rows is None else None
            entries, top_level = truth_report(model, config, train, test, truth, report["reference"],
                                              scores["log_p"], scores["code_means"], report["kl_per_dim"], latents)
            report["reference"].update(entries)
            report.update(top_level)
            report["disentanglement"] = disentanglement(model, test, scores["code_means"], latents, truth, seed,
                                                        slow_metrics, unavailable)
        with _stage(progress, "prior samples", f"{num_samples} draws"):
            report["prior_samples"] = prior_sample_scores(model, num_samples, seed, test, truth, unavailable)
    reference = report["reference"]
    nll = report.get("test_nll_quadrature", report["test_nll_iwae"])  # the grid's, where there is one
    report["gap_to_fa"] = _difference(nll, reference.get("fa_nll"))
    optimum = reference.get("linear_beta_optimum")
    report["gap_to_linear_optimum"] = _difference(report["test_beta_objective"], optimum and optimum["objective"])
    report = _finite_or_null(report, "", unavailable)
    report["unavailable"] = unavailable
    return report


def disentanglement(model, test, codes, latents, truth, seed, slow, unavailable):
    """The disentanglement entry of the report, or None (with the reason) without true factors."""
    if latents is None:
        unavailable["disentanglement"] = ("no true factors of these rows: the data were not generated with "
                                          "latents, or other rows were given")
        return None
    from betavae.model.inference import encode_posterior
    return disentanglement_entry(test, codes, latents, truth, seed, slow, lambda x: encode_posterior(model, x)[0])


def _difference(value, reference):
    return None if value is None or reference is None else value - reference


def model_scores(model, test, beta, iwae_samples, seed, unavailable, names):
    """The model's own scores on the test rows (inference.score_rows, averaged), under "report": ELBO,
    beta-objective, -log p(x), the rate per latent dimension, active units and the reconstruction error
    (with the reason under its name in `unavailable` where a test column does not vary); and per row, the
    encoder means and log-scales ("code_means", "code_log_scales"), log p(x) ("log_p": on the grid over the
    prior for a latent of 1 or 2 dimensions, exact whatever the posterior's shape, else IWAE) and every
    score of score_rows with the grid's log p(x) as "grid" (None without one) ("row_scores")."""
    from betavae.scoring import references as evaluation
    from betavae.model.inference import grid_log_likelihood, score_rows
    scores = score_rows(model, test, iwae_samples, seed)
    kl_per_dim = scores["kl_per_dim"].mean(axis=0)
    kl, log_likelihood = float(kl_per_dim.sum()), float(scores["log_likelihood"].mean())
    squared_errors = (scores["recon_means"] - test) ** 2
    variances = test.var(axis=0)
    if np.any(variances <= 0):
        constant = ", ".join(names[j] for j in np.flatnonzero(variances <= 0)[:5])
        unavailable["recon.explained_variance"] = f"the test rows ({len(test)}) do not vary in {constant}"
    result = {"test_elbo": log_likelihood - kl, "test_beta_objective": beta * kl - log_likelihood,
              "test_nll_iwae": -float(scores["iwae"].mean()), "kl": kl, "kl_per_dim": kl_per_dim.tolist(),
              "active_units": evaluation.active_units(scores["code_means"]),
              "active_units_kl": int(np.sum(kl_per_dim > evaluation.ACTIVE_THRESHOLD)),
              "recon": {"mse": float(squared_errors.mean()), "columns": list(names),
                        "explained_variance": [1 - error / variance if variance > 0 else None
                                               for error, variance in zip(squared_errors.mean(axis=0), variances)]}}
    log_p, scores["grid"] = scores["iwae"], None
    if model.latent_dim <= 2:
        log_p, result["quadrature"] = grid_log_likelihood(model, test)
        scores["grid"], result["test_nll_quadrature"] = log_p, -float(log_p.mean())
    return {"report": result, "code_means": scores["code_means"], "code_log_scales": scores["code_log_scales"],
            "log_p": log_p, "row_scores": scores}


def _covariance_problem(rows, covariance, what, names):
    """Why the covariance of `rows` cannot serve as a Gaussian's (None when it can)."""
    constant = np.flatnonzero(np.diag(covariance) <= 0)
    if len(constant):
        return f"{', '.join(names[j] for j in constant[:5])} constant in the {what} rows"
    if len(rows) <= covariance.shape[0]:
        return f"{len(rows)} {what} rows are too few for a {covariance.shape[0]}-D covariance"
    values = np.linalg.eigvalsh(covariance / np.sqrt(np.outer(np.diag(covariance), np.diag(covariance))))
    return f"the {what} rows' covariance is singular" if values[0] <= 1e-10 * values[-1] else None


def references(config, train, test, unavailable):
    """The references of the best linear-Gaussian model (beta_vae_evaluation), fitted to the training rows
    and scored on the test rows. A reference that cannot be computed is None, with the reason under its
    name in `unavailable`."""
    from betavae.scoring import references as evaluation
    train_mean, train_cov = train.mean(axis=0), np.atleast_2d(np.cov(train, rowvar=False, bias=True))
    test_moments = (test.mean(axis=0), np.atleast_2d(np.cov(test, rowvar=False, bias=True)))
    problem = _covariance_problem(train, train_cov, "training", config.column_names)
    latent_dim = config.latent_dim
    result = {}

    def attempt(name, compute):
        try:
            if problem:
                raise ValueError(problem)
            result[name] = compute()
        except (ValueError, np.linalg.LinAlgError) as error:
            result[name] = None
            unavailable[f"reference.{name}"] = str(error)

    unbiased_cov = train_cov * len(train) / max(len(train) - 1, 1)
    attempt("gaussian_nll", lambda: evaluation.gaussian_nll(test, train_mean, unbiased_cov))
    fa = {}
    attempt("fa_nll", lambda: _fa_nll(evaluation, fa, train_mean, train_cov, test, min(latent_dim, train.shape[1])))
    attempt("collapse_beta", lambda: evaluation.collapse_beta(train_cov))
    if config.beta > 0:
        from betavae.model.layers import LOG_SCALE_MIN
        attempt("linear_beta_optimum", lambda: evaluation.held_out_linear_optimum(
            (train_mean, train_cov), test_moments, config.beta, latent_dim, LOG_SCALE_MIN, fa.get("psi")))
    else:  # left out, not null: there is nothing to compute
        unavailable["reference.linear_beta_optimum"] = "at beta 0 the rate is free: no optimum to compare"
    return result


def _fa_nll(evaluation, fit, mean, covariance, test, factors):
    """-log p(test) under the FA fit of the training moments; keeps the fit's noise in `fit` for reuse."""
    loadings, fit["psi"] = evaluation.factor_analysis(covariance, factors)
    return evaluation.gaussian_nll(test, mean, loadings @ loadings.T + np.diag(fit["psi"]))


def prior_sample_scores(model, num_samples, seed, test, truth, unavailable):
    """How far num_samples prior samples' mean and covariance are from the test rows' (and the truth's)."""
    from betavae.scoring.references import moment_errors_of
    from betavae.model.inference import prior_chunks
    moments = StreamMoments()  # streamed, so memory stays bounded for any num_samples
    for chunk in prior_chunks(model, num_samples, seed):  # the samples --mode prior writes for this seed
        moments.add(chunk)
    samples = moments.mean_cov()
    result = {}
    if len(test) < 2:
        result.update(mean_error=None, cov_error=None, frechet=None)
        unavailable["prior_samples"] = "a single test row has no covariance to compare with"
    else:
        result.update(moment_errors_of(*samples, *loading.moments(test)))
    if truth is not None:
        result["truth"] = moment_errors_of(*samples, truth.mean, truth.covariance)
    return result


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
    """Write the report to evaluation.json in the RunFolder (held for writing), in one step; returns its path."""
    return folder.write_report(report_json(report))


def load_report(folder):
    """The report that save_report wrote into the RunFolder, or None when it is missing, unreadable or not
    one (not an object, or without one of REPORT_KEYS), or when its -log p(x) for a latent of 1 or 2
    dimensions came from the Gauss-Hermite quadrature centred on q(z|x) of the suite before the prior grid
    (no "quadrature" entry), which misses posterior modes: such a file is no evaluation to reuse."""
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


def _grid(entry):
    """What the grid of -log p(x) was: its rule, points and step, and whether the step resolves the decoder's
    narrowest posterior."""
    scale = entry["posterior_scale"]  # null for a diverged decoder
    coarse = ("" if entry["resolved"] else f", too coarse for the decoder's narrowest posterior scale "
              f"{'n/a' if scale is None else f'{scale:.3g}'}: an approximation")
    return f"trapezoid rule, {entry['points']:,} points, step {entry['spacing']:.3g}{coarse}"


def _nats(value):
    """Nats per sample: four decimals; n/a for a missing value."""
    return "n/a" if value is None else f"{value:.4f}"


def _number(value, fmt=".4g"):
    """A value in the given format; n/a for a missing (null) one."""
    return "n/a" if value is None else format(value, fmt)


def _percent(value):
    """A fraction as a percentage with two decimals; n/a for a missing one."""
    return "n/a" if value is None else f"{100 * value:.2f}%"


def _numbers(values, fmt):
    return " ".join("n/a" if value is None else format(value, fmt) for value in values)


def _per_column(recon):
    """The explained variance of each data column: `x1..xD: v1 v2 ...` for unnamed columns (and reports
    older than recorded names), `name v, ...` for the names of a header."""
    values, names = recon["explained_variance"], recon.get("columns")
    if names is None or list(names) == list(default_names(len(values))):
        return f"x1..x{len(values)}: {_numbers(values, '.3f')}"
    return ", ".join(f"{name} {_numbers([value], '.3f')}" for name, value in zip(names, values))


def format_report(report, checkpoint_dir):
    """The report as lines under 100 characters: nats per sample (summed over data dimensions) to four
    decimals; latent dimensions sorted by KL, descending, each with the model's own index z1..zd."""
    reference, prior, recon = report["reference"], report["prior_samples"], report["recon"]
    optimum = reference.get("linear_beta_optimum") or {}
    checkpoint = (report.get("checkpoint") or {}).get("file", "no checkpoint")
    quadrature = (f", on a grid over the prior {_nats(report['test_nll_quadrature'])} "
                  f"({_grid(report['quadrature'])})" if "test_nll_quadrature" in report else "")
    truth = (f"; truth {_nats(reference['true_nll'])}, gap_to_truth {_nats(report['gap_to_truth'])}"
             if "true_nll" in reference else "") + (
        f" (the truth's entropy {_nats(reference['entropy'])})" if "entropy" in reference else "")
    order = sorted(range(len(report["kl_per_dim"])), key=lambda j: -(report["kl_per_dim"][j] or 0.0))
    collapse = reference["collapse_beta"]
    # A capacity or beta-TCVAE run trained another objective: its header says which, and the beta-objective
    # and the linear optimum are labelled as a comparison at the run's beta, not as its target.
    other = report["objective"] != "beta"
    trained = {"capacity": lambda: f"capacity objective gamma |KL - C| - E_q log p(x|z) with gamma "
                                   f"{report['gamma']:g} and C rising to {report['capacity']:g} nats",
               "tc": lambda: f"beta-TCVAE objective alpha MI + beta TC + gamma dim-wise KL - E_q log p(x|z) with "
                             f"alpha {report['alpha']:g}, beta {report['beta']:g}, gamma {report['gamma']:g}",
               "iwae": lambda: f"importance-weighted bound (IWAE) with K={report['training_samples']}",
               }.get(report["objective"], lambda: f"beta {report['beta']:g}")()
    beta_objective = f"beta-objective at beta {report['beta']:g}" if other else "beta-objective"
    comparison = "; a comparison, not the objective this run trained" if other else ""
    lines = [
        f"evaluation of {checkpoint_dir} ({checkpoint}): {trained}, latent dim "
        f"{report['latent_dim']}; {report['rows']}: {report['test_rows']}",
        "  in nats per sample, summed over data dimensions:",
        f"  {beta_objective} {_nats(report['test_beta_objective'])} ({LINEAR_LABEL} "
        f"{_nats(optimum.get('objective'))}, gap_to_linear_optimum {_nats(report['gap_to_linear_optimum'])}"
        f"{comparison}); ELBO {_nats(report['test_elbo'])}",
        f"  -log p(x): IWAE (K={report['iwae_samples']}) {_nats(report['test_nll_iwae'])}{quadrature}",
        *[f"  {line}" for line in folding_lines(report.get("folded_posterior"), report["objective"])],
        f"  {LINEAR_LABEL}s: factor analysis {_nats(reference['fa_nll'])} (gap_to_fa {_nats(report['gap_to_fa'])}); "
        f"full-covariance Gaussian {_nats(reference['gaussian_nll'])}{truth}",
        "  KL per latent dim, sorted by KL (descending): "
        + ", ".join(f"z{j + 1} {_nats(report['kl_per_dim'][j])}" for j in order)
        + f"; total {_nats(report['kl'])}",
        f"  active units {report['active_units']} (Cov_x E_q[z] > 0.01; by KL > 0.01: {report['active_units_kl']})"
        + ("" if collapse is None else f"; for the {LINEAR_LABEL} total collapse is optimal from beta "
                                      f"{collapse:.3f}"),
    ]
    parts = report.get("kl_decomposition")
    if parts:
        lines.append(f"  KL parts, estimate over {parts['n_rows']} rows (nats/sample): MI "
                     f"{_nats(parts['index_code_mi'])} + TC {_nats(parts['total_correlation'])} + dim-wise "
                     f"{_nats(parts['dimension_wise_kl'])}")
    if optimum:
        lines.append(f"  {LINEAR_LABEL}: KL per unit (descending) {_numbers(optimum['kl_per_dim'], '.4f')}; "
                     f"total {_nats(optimum['rate'])}; active units {optimum['active_units']}")
    if prior.get("frechet") is not None:
        lines.append(f"  {report['num_samples']} prior samples vs test rows: mean error "
                     f"{_number(prior['mean_error'])} (L2, data units), covariance error "
                     f"{_percent(prior['cov_error'])} (relative Frobenius), Frechet distance "
                     f"{_number(prior['frechet'])} (squared data units)")
    if "truth" in prior:
        truth_errors = prior["truth"]
        lines.append(f"  prior samples vs truth: mean error {_number(truth_errors['mean_error'])}, covariance "
                     f"error {_percent(truth_errors['cov_error'])}, Frechet distance "
                     f"{_number(truth_errors['frechet'])}")
    lines.append(f"  reconstruction at z = E_q[z]: MSE per data dim {_number(recon['mse'])} (squared data units); "
                 f"explained variance {_per_column(recon)}")
    alignment = report["alignment"]
    latent_correlation = alignment["latent_correlation"]
    lines.append("  alignment, |cosine| of the active units' decoder directions (1 = aligned): to the "
                 f"{LINEAR_LABEL} {_numbers(alignment['per_unit_to_optimum'], '.3f') or 'n/a'}; to the true "
                 f"loadings {_numbers(alignment['per_unit_to_truth'], '.3f') or 'n/a'}; latent_correlation "
                 f"with the true z {'n/a' if latent_correlation is None else format(latent_correlation, '.3f')}")
    lines += [f"  {line}" for line in disentanglement_lines(report.get("disentanglement"))]
    lines += [f"  note: {note}" for note in report["notes"]]
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
    history = folder.read_history()
    if not history:
        progress(f"note: no history plot: {folder.file(HISTORY_FILE)} is missing or holds no epoch")
    names = ("history",) * bool(history) + ("pairs", "latent", "covariances")
    try:
        test = run.data()[1] if rows is None else np.asarray(rows, dtype=np.float32)
    except UsageError as missing:
        drawn = "only the history is drawn; the other plots" if history else "no other plot is drawn either; they"
        progress(f"note: {drawn} need the test rows: {missing}")
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
