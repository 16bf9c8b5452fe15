"""What the truth of generated data says about a trained model, and honest labels for the linear references.

The exact -log p(x) of test rows under the data's truth JSON (closed form for the linear family, quadrature
for the non-linear ones), the true latents of the test rows, and the report's notes; numpy only.
"""
import os

import numpy as np

from betavae.data import families
from betavae.cli import first_line, warn
from betavae.data import loading
from betavae.paths import file_problem
from betavae.scoring.references import gaussian_log_densities
from betavae.words import counted

SIGNIFICANCE = 3.0  # standard errors by which a model must beat the Gaussian to call the data non-Gaussian
LINEAR_LABEL = "best linear-Gaussian model"


def true_log_densities(x, truth):
    """log p(x) per row under the truth that generated the data."""
    if truth.linear:
        return gaussian_log_densities(x, truth.mean, truth.covariance)
    return families.log_density(x, truth)


def latents_of_test_rows(config, unavailable=None):
    """The true latent coordinates of the run's test rows (from <data>.latents.npy), or None when the data
    were not generated with them. A latents file that cannot be these rows' (unreadable, not a finite numeric
    [rows, factors] array, or of another number of rows) is named in a one-line warning and taken as none;
    unavailable (a report's dict, if given) says why under "disentanglement"."""
    if config.test_data:
        path, rows = loading.latents_path(config.test_data), None
        expected = config.test_rows
    else:
        path = loading.latents_path(config.data)
        expected = config.train_rows + config.test_rows
        rows = loading.split_indices(expected, config.test_fraction, config.seed)[1]
    if not os.path.lexists(path):
        return None
    latents, problem = _read_latents(path, expected)
    if problem:
        warn(f"{path}: {problem}; going on without the true latents")
        if unavailable is not None:
            unavailable["disentanglement"] = f"{path}: {problem}"
        return None
    return latents if rows is None else latents[rows]


def _read_latents(path, expected_rows):
    """(the array in the latents file at path, None), or (None, why it cannot be the latents of a data file
    of expected_rows rows)."""
    problem = file_problem(path, "an array file")  # before np.load: a FIFO would block it
    if problem:
        return None, problem
    try:
        latents = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:  # truncated, not an array
        return None, f"unreadable ({first_line(error, 80)})"
    if latents.ndim != 2 or not np.issubdtype(latents.dtype, np.number):
        return None, f"holds a {latents.dtype} array of shape {list(latents.shape)}, not a [rows, factors] array"
    if len(latents) != expected_rows:
        return None, f"holds latents of {counted(len(latents), 'row')}, the data {counted(expected_rows, 'row')}"
    if not np.isfinite(latents).all():
        return None, "holds values that are not finite"
    return latents, None


def mean_and_stderr(values):
    """Mean and standard error of per-row values (the standard error None for a single row)."""
    values = np.asarray(values, dtype=float)
    return {"mean": float(values.mean()),
            "stderr": float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else None}


def advantage(better, worse):
    """Mean and standard error of the per-row difference of log-densities log p_better - log p_worse."""
    return mean_and_stderr(np.asarray(better, dtype=float) - np.asarray(worse, dtype=float))


def fitted_gaussian_excess(dim, train_rows):
    """The expected excess -log p(x) (nats) of a full-covariance Gaussian fitted to train_rows rows over the
    true Gaussian, on held-out rows: its D + D(D+1)/2 parameters cost about p / 2n (the asymptotic
    out-of-sample KL of a maximum-likelihood fit). A model that beats the fitted Gaussian by this much
    beats it by estimation error alone, not because the data are non-Gaussian."""
    return (dim + dim * (dim + 1) / 2) / (2.0 * train_rows)


def reference_notes(beta, reference, model_advantage, true_advantage=None, *, gaussian_excess=0.0,
                    gaussian_truth=False):
    """Notes that say what the linear references are: the best linear-Gaussian model, whose collapse
    thresholds hold for that family; that a non-linear model can beat them on measurably non-Gaussian data
    (and whether this one does); and that below beta = 1 the objective has no finite optimum.

    model_advantage / true_advantage: `advantage` of the model / the truth over the fitted full-covariance
    Gaussian. The data are called non-Gaussian only when one of them beats it by more than SIGNIFICANCE
    standard errors plus gaussian_excess (the fitted Gaussian's own estimation error,
    `fitted_gaussian_excess`), and never when the truth is known to be Gaussian (gaussian_truth).
    Returns a dict of keys for evaluation.json, with the report's lines under "notes"."""
    collapse = reference.get("collapse_beta")
    notes = [f"the linear references (factor analysis, the full-covariance Gaussian, the linear optimum) are the "
             f"{LINEAR_LABEL}" + ("" if collapse is None else f"; the collapse beta {collapse:.3f} is that family's")]
    keys = {"objective_has_optimum": beta >= 1.0, "non_gaussian": False}
    if beta < 1.0:
        notes.append("below beta = 1 the beta-objective has no finite optimum (a decoder variance can shrink "
                     "without bound), so a gap to an optimum is no missed target"
                     + ("; the linear optimum shown sits at the decoder-scale floor e^-7"
                        if "linear_beta_optimum" in reference else ""))
    evidence = [a for a in (true_advantage, model_advantage) if a is not None and a["stderr"] is not None]
    beaten = [a for a in evidence if a["mean"] > SIGNIFICANCE * a["stderr"] + gaussian_excess]
    if gaussian_truth:
        notes.append("the data's truth is Gaussian, so the full-covariance Gaussian is the exact family; it "
                     "differs from the truth only by its estimation error")
    elif beaten:
        keys["non_gaussian"] = True
        witness = "the truth's" if beaten[0] is true_advantage else "this model's"
        note = (f"the data are measurably non-Gaussian ({witness} -log p(x) is {beaten[0]['mean']:.4f} nats below "
                f"the fitted full-covariance Gaussian's), so a non-linear model can beat the {LINEAR_LABEL}")
        if model_advantage is not None and model_advantage["stderr"] is not None:
            side = "below" if model_advantage["mean"] > 0 else "above"
            note += (f"; this model's -log p(x) is {abs(model_advantage['mean']):.4f} +- "
                     f"{model_advantage['stderr']:.4f} nats {side} the Gaussian's")
        notes.append(note)
    return {**keys, "notes": notes}


def truth_entries(config, train, test, reference, model_log_p, truth, true_log_p):
    """What the truth says of a model, as top-level entries of the report: gap_to_truth (the model's -log p(x)
    minus the truth's; only with a truth) and the reference_notes keys.

    reference: the report's "reference" (true_nll among it, with a truth); model_log_p / true_log_p: the
    model's / the truth's log p(x) per test row; truth: the data's Truth, or None (true_log_p None too)."""
    try:
        gaussian_rows = gaussian_log_densities(test, train.mean(axis=0), np.atleast_2d(np.cov(train, rowvar=False)))
    except (ValueError, np.linalg.LinAlgError):  # degenerate training rows: no Gaussian to compare with
        gaussian_rows = None
    compare = lambda rows: None if gaussian_rows is None else advantage(rows, gaussian_rows)  # noqa: E731
    entries, true_advantage = {}, None
    if true_log_p is not None:
        entries["gap_to_truth"] = -float(np.mean(model_log_p)) - reference["true_nll"]
        true_advantage = compare(true_log_p)
    entries.update(reference_notes(config.beta, reference, compare(model_log_p), true_advantage,
                                   gaussian_excess=fitted_gaussian_excess(test.shape[1], len(train)),
                                   gaussian_truth=truth is not None and truth.linear))
    return entries
