"""The evaluation's "disentanglement" entry: the field's metrics of the encoder means E_q[z] against the true
factors of generated test rows (betavae.scoring.disentanglement), and beside MIG its exact references where
the truth is linear-Gaussian (betavae.scoring.exact_mig), so the report shows the estimator's bias."""
from betavae.scoring.disentanglement import SLOW, metrics
from betavae.scoring.exact_mig import exact_references
from betavae.scoring.factor_sampling import fixed_factor_sampler, independent_factors_problem
from betavae.words import counted

# Resamples per interval in --mode evaluate: MIG, SAP and modularity recompute their bins per resample
# (about 0.01 s each on 10,000 rows), so 50 keep the evaluation's cost near a bare TensorFlow import.
EVALUATE_BOOTSTRAP = 50
SLOW_FLAG = "--slow-metrics"


def disentanglement_entry(test, codes, latents, truth, seed, slow, encode):
    """The metrics of codes [N, d] against the test rows' true latents [N, k] (None: no entry), with the
    exact MIG for a linear-Gaussian truth. slow: also DCI and, for independent true factors, the FactorVAE
    score from batches of the truth's generator encoded by encode(x) -> codes. Returns the dict for
    evaluation.json (its "unavailable" says why a number is null)."""
    sampler, sampler_problem = None, None
    if slow:
        sampler_problem = "no truth JSON" if truth is None else independent_factors_problem(truth)
        sampler = None if sampler_problem else fixed_factor_sampler(truth, encode)
    entry = metrics(codes, latents, seed=seed, bootstrap=EVALUATE_BOOTSTRAP, factor_vae_sampler=sampler,
                    skip=() if slow else SLOW)
    unavailable = entry["unavailable"]
    for key in (key for key, reason in unavailable.items() if reason.startswith("skipped")):
        unavailable[key] = f"not computed by default: pass {SLOW_FLAG} ({unavailable[key][len('skipped: '):]})"
    if sampler_problem:
        unavailable["factor_vae"] = sampler_problem
    entry["exact"] = None
    if truth is not None and truth.linear:
        try:
            entry["exact"] = exact_references(test, codes, latents, truth)
        except ValueError as error:
            unavailable["exact"] = str(error)
    else:
        unavailable["exact"] = "exact references need a linear-Gaussian truth"
    return entry


def disentanglement_lines(entry):
    """The report's lines for the entry (none when there is no entry)."""
    if not entry:
        return []

    def number(key):
        value, interval = entry.get(key), (entry.get("intervals") or {}).get(key)
        if value is None:
            return "n/a"
        return f"{value:.3f}" + ("" if not interval else f" [{interval[0]:.3f}, {interval[1]:.3f}]")

    estimator = entry["estimator"]
    lines = [f"disentanglement of E_q[z] vs the true factors, estimates over {counted(entry['n_rows'], 'row')} (95% "
             f"bootstrap intervals, {counted(estimator['bootstrap_resamples'], 'resample')}; "
             f"{estimator['num_bins']}-bin MI, "
             "disentanglement_lib's conventions): "
             + ", ".join(f"{label} {number(key)}" for key, label in (
                 ("mig", "MIG"), ("sap", "SAP"), ("modularity", "modularity"),
                 ("dci_disentanglement", "DCI disentanglement"), ("dci_completeness", "completeness"),
                 ("dci_informativeness", "informativeness"), ("factor_vae", "FactorVAE")))
             + ("; DCI and FactorVAE with " + SLOW_FLAG if any(SLOW_FLAG in reason for reason in
                                                              entry["unavailable"].values()) else "")]
    exact = entry.get("exact")
    if exact and exact.get("mig_continuous") is not None:
        r2 = ", ".join(f"{value:.3f}" for value in exact["code_r2"])
        lines.append(f"exact MIG (linear-Gaussian truth, codes fitted linearly in x, R^2 {r2}): "
                     f"{exact['mig_continuous']:.3f} from the continuous MI, {exact['mig_discretised']:.3f} at "
                     f"the estimator's bins; the binned estimate minus the latter is its finite-sample bias")
    return lines
