"""The references a model is measured against: the best linear-Gaussian models fitted to the training rows
(scoring.references) and the truth of generated data, with the model's gaps to them."""
import numpy as np

from betavae.scoring import references as linear
from betavae.scoring.sections.base import Section, difference, nats
from betavae.scoring.sections.likelihood import model_nll
from betavae.scoring.truth import LINEAR_LABEL


def _covariance_problem(rows, covariance, what, names):
    """Why the covariance of `rows` cannot serve as a Gaussian's (None when it can)."""
    constant = np.flatnonzero(np.diag(covariance) <= 0)
    if len(constant):
        return f"{', '.join(names[j] for j in constant[:5])} constant in the {what} rows"
    if len(rows) <= covariance.shape[0]:
        return f"too few {what} rows ({len(rows)}) for a {covariance.shape[0]}-D covariance"
    values = np.linalg.eigvalsh(covariance / np.sqrt(np.outer(np.diag(covariance), np.diag(covariance))))
    return f"the {what} rows' covariance is singular" if values[0] <= 1e-10 * values[-1] else None


def linear_references(config, train, test, unavailable):
    """The references of the best linear-Gaussian model (scoring.references), fitted to the training rows
    and scored on the test rows. A reference that cannot be computed is None, with the reason under its
    name in `unavailable`."""
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
    attempt("gaussian_nll", lambda: linear.gaussian_nll(test, train_mean, unbiased_cov))
    fa = {}
    attempt("fa_nll", lambda: _fa_nll(fa, train_mean, train_cov, test, min(latent_dim, train.shape[1])))
    attempt("collapse_beta", lambda: linear.collapse_beta(train_cov))
    if config.beta > 0:
        from betavae.model.layers import LOG_SCALE_MIN
        attempt("linear_beta_optimum", lambda: linear.held_out_linear_optimum(
            (train_mean, train_cov), test_moments, config.beta, latent_dim, LOG_SCALE_MIN, fa.get("psi")))
    else:  # left out, not null: there is nothing to compute
        unavailable["reference.linear_beta_optimum"] = "at beta 0 the rate is free: no optimum to compare"
    return result


def _fa_nll(fit, mean, covariance, test, factors):
    """-log p(test) under the FA fit of the training moments; keeps the fit's noise in `fit` for reuse."""
    loadings, fit["psi"] = linear.factor_analysis(covariance, factors)
    return linear.gaussian_nll(test, mean, loadings @ loadings.T + np.diag(fit["psi"]))


def reference_entry(context):
    """The report's "reference": the linear references, and with a truth its -log p(x) of the test rows
    (true_nll) and, for a Gaussian truth, its entropy."""
    entry = linear_references(context.config, context.train, context.test, context.unavailable)
    if context.truth is not None:
        entry["true_nll"] = -float(np.mean(context.true_log_p()))
        if context.truth.linear:
            entry["entropy"] = linear.gaussian_entropy(context.truth.covariance)
    return entry


class ReferencesSection(Section):
    name = "references"
    detail = "full-covariance Gaussian, factor analysis, linear optimum"
    keys = {
        "reference": "`gaussian_nll`: a full-covariance Gaussian fitted to the training rows; `fa_nll`: "
                     "maximum-likelihood factor analysis with latent-dim factors (EM), the best -log p(x) of a "
                     "linear-Gaussian latent model; `linear_beta_optimum`: the best beta-objective of the "
                     "linear-Gaussian VAE family at the run's beta, with its rate, distortion, KL per dimension "
                     "and active units; `collapse_beta`: the beta from which no latent unit is worth its KL (the "
                     "top eigenvalue of the correlation matrix); `true_nll`, `entropy`: the true distribution's "
                     "(when the data came with a truth JSON: in closed form for linear data, by quadrature over "
                     "z for the non-linear families; the entropy only for Gaussian truths)",
        "gap_to_fa": "the model's -log p(x) (the prior grid's for a latent of 1 or 2 dimensions, else IWAE) "
                     "minus `reference.fa_nll`",
        "gap_to_linear_optimum": "`test_beta_objective` minus `reference.linear_beta_optimum.objective`",
    }

    def compute(self, context):
        reference, scores = context.reference(), context.scores()["report"]
        optimum = reference.get("linear_beta_optimum")
        return {"reference": reference, "gap_to_fa": difference(model_nll(scores), reference.get("fa_nll")),
                "gap_to_linear_optimum": difference(scores["test_beta_objective"], optimum and optimum["objective"])}

    def lines(self, report):
        reference = report["reference"]
        truth = (f"; truth {nats(reference['true_nll'])}, gap_to_truth {nats(report['gap_to_truth'])}"
                 if "true_nll" in reference else "") + (
            f" (the truth's entropy {nats(reference['entropy'])})" if "entropy" in reference else "")
        return [f"{LINEAR_LABEL}s: factor analysis {nats(reference['fa_nll'])} (gap_to_fa {nats(report['gap_to_fa'])}); "
                f"full-covariance Gaussian {nats(reference['gaussian_nll'])}{truth}"]

    def columns(self, report):
        optimum = report["reference"].get("linear_beta_optimum") or {}
        return {"gap_to_fa": report.get("gap_to_fa"), "gap_to_linear_optimum": report.get("gap_to_linear_optimum"),
                "optimum_objective": optimum.get("objective"), "optimum_rate": optimum.get("rate"),
                "optimum_distortion": optimum.get("distortion"), "optimum_active_units": optimum.get("active_units")}
