"""The model's gap to the truth, nat by nat (Cremer, Li & Duvenaud 2018), on a seeded subset of the rows:

    -ELBO(encoder) - (-log p_true) = to_truth + approximation + amortization
    to_truth      = -log p_model(x) - (-log p_true(x))        the decoder's distance from the truth
    approximation = -ELBO(best q) - (-log p_model(x))          what the posterior family cannot represent
    amortization  = -ELBO(encoder's q) - (-ELBO(best q))       what the encoder fails to find

the best q being the member of the run's posterior family that maximises each row's ELBO (posterior_fit),
and both ELBOs taken by the same deterministic rule. With a truth, the truth's own ELBO with its best member
says what the family costs even with the true decoder.
"""
import numpy as np

from betavae.scoring import posterior_fit
from betavae.scoring.sections.base import Section, nats
from betavae.scoring.truth import advantage, mean_and_stderr
from betavae.words import counted

GAP_ROWS = 200  # rows of the decomposition, a seeded choice: the fit's cost grows with them, the errors shrink
GAP_IWAE_SAMPLES = 5000  # K of the IWAE bound on log p(x) above 2 latent dimensions, on those rows only


def gap_rows(count, seed):
    """The rows of the decomposition: min(GAP_ROWS, count) of `count` rows, drawn without replacement by the
    evaluation's seed, in ascending order."""
    chosen = np.random.default_rng([seed, 0x6A9]).choice(count, min(GAP_ROWS, count), replace=False)
    return np.sort(chosen)


def best_members(model, x, mean, log_scale, rule, finer):
    """posterior_fit.best_diagonal_gaussians of the model on rows x, from the encoder's q (mean, log_scale) and,
    for a latent of 1 or 2, from each row's grid mode; with "check": how much the mean approximation and
    amortization move when the two ELBOs are taken by the `finer` rule instead."""
    from betavae.model.inference import log_joint_function
    log_joint = log_joint_function(model, x)
    starts = [(mean, log_scale)]
    if model.latent_dim <= 2:
        starts.append(posterior_fit.mode_start(log_joint, len(x), model.latent_dim))
    best = posterior_fit.best_diagonal_gaussians(log_joint, starts, rule)

    def finer_elbo(mean, log_scale):
        return posterior_fit.elbo_and_gradient(log_joint, np.asarray(mean, float), np.asarray(log_scale, float),
                                               finer)[0]

    best_finer, encoder_finer = finer_elbo(best["mean"], best["log_scale"]), finer_elbo(mean, log_scale)
    best["check"] = {"rule": finer.name, "approximation": float(np.mean(best["elbo"] - best_finer)),
                     "amortization": float(np.mean(best_finer - encoder_finer - best["elbo"] + best["start_elbo"]))}
    return best


def truth_elbo(truth, x, true_log_p, model_best, seed):
    """The truth's own ELBO per row with the best diagonal Gaussian over its latent, and how it was found: in
    closed form for a linear-Gaussian truth (its posterior is Gaussian of precision I + W' diag(1/psi) W, the
    same for every row: posterior_fit.diagonal_shortfall), else fitted as the model's is, from each row's grid
    mode and from the model's best member when the latents have the same dimension."""
    if truth.linear:
        precision = np.eye(truth.latent_dim) + truth.W.T @ (truth.W / truth.psi[:, None])
        return (true_log_p - posterior_fit.diagonal_shortfall(precision),
                "closed form: the linear-Gaussian truth's exact posterior")
    from betavae.data.families import log_joint
    rows = np.asarray(x, float)
    truth_joint = lambda z: log_joint(rows, z, truth)  # noqa: E731
    rule = posterior_fit.rule_for(truth.latent_dim, seed)
    starts = [posterior_fit.mode_start(truth_joint, len(rows), truth.latent_dim)]
    if model_best["mean"].shape[1] == truth.latent_dim:
        starts.append((model_best["mean"], model_best["log_scale"]))
    return (posterior_fit.best_diagonal_gaussians(truth_joint, starts, rule)["elbo"],
            f"fitted as the model's: L-BFGS by {rule.name}, from each row's grid mode"
            + (" and the model's best member" if len(starts) > 1 else ""))


def model_log_p(context, model, rows):
    """The model's log p(x) of the decomposition's rows and what estimated it: the prior grid's of the
    likelihood section for a latent of 1 or 2, else IWAE with GAP_IWAE_SAMPLES draws (a bound)."""
    if model.latent_dim <= 2:
        return context.model_log_p()[rows], "the prior grid (test_nll_quadrature's)"
    from betavae.model.inference import iwae_log_likelihood
    return (iwae_log_likelihood(model, context.test[rows], GAP_IWAE_SAMPLES, context.seed).astype(float),
            f"IWAE, K={GAP_IWAE_SAMPLES}: a lower bound on log p(x), so to_truth is an upper bound and "
            "approximation a lower one")


def decomposition(context):
    """The gap_decomposition entry of the context's run (None, with the reason, for a posterior family that is
    no diagonal Gaussian; its truth's parts None, with the reason, without a truth)."""
    model, scores = context.model(), context.scores()
    gaussians = model.posterior_family.diagonal_gaussians(scores["code_params"])
    if gaussians is None:
        name = model.posterior_family.name
        context.unavailable["gap_decomposition"] = (f"the best member is fitted for diagonal-Gaussian posteriors, "
                                                    f"not {name}; the best diagonal Gaussian, a member of {name} "
                                                    f"too, would only bound its approximation gap from above")
        return None
    rows = gap_rows(len(context.test), context.seed)
    x, k = context.test[rows], model.latent_dim
    rule = posterior_fit.rule_for(k, context.seed)
    best = best_members(model, x, gaussians[0][rows], gaussians[1][rows], rule,
                        posterior_fit.rule_for(k, context.seed, finer=True))
    log_p, estimator = model_log_p(context, model, rows)
    entry = {"rows": len(rows), "row_choice": f"{len(rows)} of the {counted(len(context.test), 'row')}, drawn without "
                                              "replacement by the evaluation's seed",
             "family": model.posterior_family.name, "quadrature": {"rule": rule.name, "nodes": rule.nodes},
             "quadrature_check": best["check"],
             "optimiser": (f"L-BFGS on the rows' summed ELBO until a step gains under {posterior_fit.STEP_GAIN:g} "
                           f"nats per row (at most {posterior_fit.MAX_STEPS} iterations; {best['steps']} taken), "
                           f"log-scales within {list(posterior_fit.LOG_SCALE_BOUNDS)}, from each row's better start "
                           "of the encoder's q" + (" and its best point on a grid over the prior" if k <= 2 else "")
                           + "; a row keeps its start where the fit did not beat it"),
             "kept_start": best["kept_start"], "log_p": "grid" if k <= 2 else "iwae", "log_p_estimator": estimator,
             "encoder_elbo": float(best["start_elbo"].mean()), "best_elbo": float(best["elbo"].mean()),
             "approximation": advantage(log_p, best["elbo"]), "amortization": advantage(best["elbo"], best["start_elbo"])}
    if context.truth is None:
        for name in ("to_truth", "elbo_to_truth", "truth_elbo"):
            entry[name] = None
            context.unavailable[f"gap_decomposition.{name}"] = "no truth of these rows"
        return entry
    true_log_p = np.asarray(context.true_log_p(), float)[rows]
    elbo, method = truth_elbo(context.truth, x, true_log_p, best, context.seed)
    entry.update(to_truth=advantage(true_log_p, log_p), elbo_to_truth=advantage(true_log_p, best["start_elbo"]),
                 truth_elbo={**mean_and_stderr(elbo), "approximation": advantage(true_log_p, elbo),
                             "method": method})
    return entry


def _part(entry, name):
    """A part as `mean +- stderr`."""
    part = entry[name]
    return "n/a" if part is None else f"{nats(part['mean'])} +- {nats(part['stderr'])}"


class GapDecompositionSection(Section):
    name = "gap decomposition"
    keys = {"gap_decomposition": "the encoder's -ELBO minus the truth's -log p(x), nat by nat, on `rows` test rows "
                                 "(`row_choice`): `to_truth` (the model's -log p(x) minus the truth's; `log_p`: "
                                 "the prior grid's for a latent of 1 or 2 dimensions, else IWAE with "
                                 f"K = {GAP_IWAE_SAMPLES}, a bound), `approximation` (the -ELBO of the best member of the posterior `family` "
                                 "per row minus the model's -log p(x)), `amortization` (the encoder's -ELBO minus "
                                 "that best member's; `encoder_elbo` and `best_elbo` are the two ELBOs' means) and "
                                 "`elbo_to_truth` (their sum), each a `mean` and `stderr`; the ELBOs by "
                                 "`quadrature` (`quadrature_check`: how far both gaps move by a rule of twice the "
                                 "nodes), the fit by `optimiser` (`kept_start`: rows whose fit did not beat their "
                                 "start); `truth_elbo`: the truth's own ELBO with its best member and that "
                                 "member's `approximation` gap (null without a truth): see \"The gap to the truth, "
                                 "nat by nat\""}

    def stage(self, context):
        return self.name, f"the best diagonal Gaussian of {counted(min(GAP_ROWS, len(context.test)), 'row')}, by L-BFGS"

    def compute(self, context):
        return {"gap_decomposition": decomposition(context)}

    def lines(self, report):
        entry = report.get("gap_decomposition")
        if entry is None:
            return []
        sum_of = (f"approximation {_part(entry, 'approximation')} + amortization {_part(entry, 'amortization')}")
        if entry["to_truth"] is None:
            first = (f"gap of the -ELBO to the model's -log p(x) on {counted(entry['rows'], 'row')} chosen by the seed, "
                     f"nats/sample, mean +- standard error (no truth): {sum_of}")
        else:
            first = (f"gap to the truth on {counted(entry['rows'], 'row')} chosen by the seed, nats/sample, mean +- standard "
                     f"error: -ELBO - true -log p(x) {_part(entry, 'elbo_to_truth')} = to_truth "
                     f"{_part(entry, 'to_truth')} + {sum_of}")
        log_p = "on the prior grid" if entry["log_p"] == "grid" else f"by {entry['log_p_estimator']}"
        check = entry["quadrature_check"]
        lines = [first,
                 f"how: -log p(x) {log_p}; approximation: the best {entry['family']} per row, fitted by L-BFGS on "
                 f"the ELBO by {entry['quadrature']['rule']} (by {check['rule']} approximation moves by "
                 f"{check['approximation']:.1e}, amortization by {check['amortization']:.1e}); amortization: the "
                 f"encoder's q against that best one, both by the beta = 1 ELBO; {counted(entry['kept_start'], 'row')} "
                 "kept a start the fit did not beat"]
        trained = {"beta": f"beta {report['beta']:g} weights the KL",
                   "iwae": "the IWAE bound, whose q is a proposal wider than the posterior"}.get(report["objective"],
                                                                                            report["objective"])
        if report["beta"] != 1 or report["objective"] != "beta":
            lines.append(f"note: this run's encoder was trained on another objective than the ELBO ({trained}), so "
                         "its q sits off the posterior by design: amortization holds that choice as well as what "
                         "the encoder fails to find")
        truth = entry.get("truth_elbo")
        if truth is not None:
            lines.append(f"the truth's own ELBO with the best {entry['family']} per row {_part(entry, 'truth_elbo')}"
                         f", {_part(truth, 'approximation')} below its log p(x) ({truth['method']})")
        return lines
