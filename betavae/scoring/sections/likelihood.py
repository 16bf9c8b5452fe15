"""The model's own scores of the rows (one pass of inference.score_rows, and the prior grid for a latent of 1
or 2), and the sections that report its likelihood: the ELBO, the beta-objective, -log p(x), and the share
of rows whose posterior q misses (folding)."""
import numpy as np

from betavae.scoring.folding import folded_posterior, folding_lines, remedy_flags
from betavae.scoring.references import ACTIVE_THRESHOLD, active_units
from betavae.scoring.sections.base import Section, nats
from betavae.scoring.truth import LINEAR_LABEL
from betavae.words import counted


def model_scores(model, test, beta, iwae_samples, seed, unavailable, names):
    """The model's own scores on the test rows (inference.score_rows, averaged), under "report": ELBO,
    beta-objective, -log p(x), the rate per latent dimension, active units and the reconstruction error
    (with the reason under its name in `unavailable` where a test column does not vary); and per row, the
    encoder means ("code_means") and the posterior family's parameters ("code_params"), log p(x) ("log_p": on the grid over the
    prior for a latent of 1 or 2 dimensions, exact whatever the posterior's shape, else IWAE) and every
    score of score_rows with the grid's log p(x) as "grid" (None without one) ("row_scores")."""
    from betavae.model.inference import grid_log_likelihood, score_rows
    scores = score_rows(model, test, iwae_samples, seed)
    kl_per_dim = scores["kl_per_dim"].mean(axis=0)
    # The closed form's KL is its dimensions' sum; a family without one is not factorised in general (a
    # mixture), and its KL is the joint one, above the sum by q's own total correlation.
    kl = float(kl_per_dim.sum()) if model.posterior_family.has_closed_form_kl else float(scores["kl"].mean())
    log_likelihood = float(scores["log_likelihood"].mean())
    squared_errors = (scores["recon_means"] - test) ** 2
    variances = test.var(axis=0)
    if np.any(variances <= 0):
        constant = ", ".join(names[j] for j in np.flatnonzero(variances <= 0)[:5])
        unavailable["recon.explained_variance"] = f"the test rows ({len(test)}) do not vary in {constant}"
    result = {"test_elbo": log_likelihood - kl, "test_beta_objective": beta * kl - log_likelihood,
              "test_nll_iwae": -float(scores["iwae"].mean()), "kl": kl, "kl_per_dim": kl_per_dim.tolist(),
              "active_units": active_units(scores["code_means"]),
              "active_units_kl": int(np.sum(kl_per_dim > ACTIVE_THRESHOLD)),
              "recon": {"mse": float(squared_errors.mean()), "columns": list(names),
                        "explained_variance": [1 - error / variance if variance > 0 else None
                                               for error, variance in zip(squared_errors.mean(axis=0), variances)]}}
    log_p, scores["grid"] = scores["iwae"], None
    if model.latent_dim <= 2:
        log_p, result["quadrature"] = grid_log_likelihood(model, test)
        scores["grid"], result["test_nll_quadrature"] = log_p, -float(log_p.mean())
    return {"report": result, "code_means": scores["code_means"], "code_params": scores["code_params"],
            "log_p": log_p, "row_scores": scores}


def model_nll(report):
    """The model's -log p(x) the gaps are taken from: the prior grid's where there is one, else IWAE's."""
    return report.get("test_nll_quadrature", report["test_nll_iwae"])


def grid_description(entry):
    """What the grid of -log p(x) was: its rule, points and step, and whether the step resolves the decoder's
    narrowest posterior."""
    scale = entry["posterior_scale"]  # null for a diverged decoder
    coarse = ("" if entry["resolved"] else f", too coarse for the decoder's narrowest posterior scale "
              f"{'n/a' if scale is None else f'{scale:.3g}'}: an approximation")
    return f"trapezoid rule, {entry['points']:,} points, step {entry['spacing']:.3g}{coarse}"


class LikelihoodSection(Section):
    name = "likelihood"
    keys = {
        "test_elbo": "the ELBO (beta = 1), with E_q log p(x\\|z) from the IWAE's draws and the KL in closed form",
        "test_beta_objective": "the beta-objective at the run's beta, from the same terms",
        "test_nll_iwae": "-log p(x) by importance weighting (Burda et al. 2016) with `--iwae-samples` draws",
        "test_nll_quadrature": "-log p(x) by the trapezoid rule on a grid over the prior N(0, I), z in [-6, 6] "
                               "per latent dimension (latent dimension 1 or 2), deterministic and independent of "
                               "q(z\\|x), so it holds where the posterior has several modes",
        "quadrature": "how the grid was laid: `rule`, `spacing`, `points`, the decoder's narrowest "
                      "`posterior_scale` (from the Jacobians of its mean and log-scale, the Fisher information, "
                      "on a 41-point-per-axis grid within 3 prior scales) and whether the step `resolved` it (one "
                      "point per scale with a 2-D latent, eight with a 1-D one; false when that would take more "
                      "than 262,144 points, and the report then calls the value an approximation)",
    }
    optional = ("test_nll_quadrature", "quadrature")

    def stage(self, context):
        grid = " and the prior grid" if context.config.latent_dim <= 2 else ""
        return (f"IWAE{grid}", f"test rows {len(context.test)}, {counted(context.iwae_samples, 'importance sample')}")

    def compute(self, context):
        scores = context.scores()["report"]
        return {key: scores[key] for key in self.keys if key in scores}

    def lines(self, report):
        optimum = report["reference"].get("linear_beta_optimum") or {}
        other = report["objective"] != "beta"
        # A capacity, tc or iwae run trained another objective: the beta-objective and the linear optimum are
        # labelled as a comparison at the run's beta, not as its target.
        beta_objective = f"beta-objective at beta {report['beta']:g}" if other else "beta-objective"
        comparison = "; a comparison, not the objective this run trained" if other else ""
        quadrature = (f", on a grid over the prior {nats(report['test_nll_quadrature'])} "
                      f"({grid_description(report['quadrature'])})" if "test_nll_quadrature" in report else "")
        return [f"{beta_objective} {nats(report['test_beta_objective'])} ({LINEAR_LABEL} "
                f"{nats(optimum.get('objective'))}, gap_to_linear_optimum {nats(report['gap_to_linear_optimum'])}"
                f"{comparison}); ELBO {nats(report['test_elbo'])}",
                f"-log p(x): IWAE (K={report['iwae_samples']}) {nats(report['test_nll_iwae'])}{quadrature}"]

    def columns(self, report):
        rate, objective = report["kl"], report["test_beta_objective"]
        return {"rate": rate,
                "distortion": None if rate is None or objective is None else objective - report["beta"] * rate,
                "elbo": report.get("test_elbo"), "test_nll_iwae": report["test_nll_iwae"]}


class FoldingSection(Section):
    name = "folding"
    keys = {"folded_posterior": "the share of rows whose log p(x) exceeds their ELBO by more than `threshold` "
                                "(1 nat), with `log_p` (`grid`, or `iwae` for a latent above 2 dimensions), "
                                "`rows`, `criterion`, the median and worst per-row gap, and `remedy_flags`: the "
                                "training flags to try instead (argv words), for a run of the beta objective at "
                                "beta <= 1 whose share is above 1% (unless it trained with them), else empty: see "
                                "\"Folded posteriors\""}

    def compute(self, context):
        entry = folded_posterior(context.scores()["row_scores"])
        return {"folded_posterior": {**entry, "remedy_flags": remedy_flags(entry["share_of_rows"], context.config)}}

    def lines(self, report):
        return folding_lines(report.get("folded_posterior"), report["objective"], report["beta"])
