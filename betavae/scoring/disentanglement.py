"""Disentanglement metrics on plain arrays, as the field computes them: `metrics(codes, factors)`.

codes [N, d] are encoder means E_q[z] of N rows, factors [N, k] the rows' continuous true factors. By default
every estimator follows disentanglement_lib (Locatello et al. 2019; see docs/evaluation.md, "Disentanglement metrics"):
all latent units, 20-bin histograms of each code and each factor, plug-in mutual information in nats, DCI by
gradient-boosted trees on a training half scored on the other half. `ESTIMATOR` says per metric what was
estimated from what, so a report can state it. Numpy and scikit-learn only (no TensorFlow).
"""
import time

import numpy as np

from betavae.scoring import disentanglement_scores as scores
from betavae.words import counted

LEVEL = 0.95  # coverage of the bootstrap intervals
BOOTSTRAP = 100  # default resamples per interval (seconds for MIG, SAP and modularity on 10,000 rows)
SLOW = ("dci", "factor_vae")  # seconds to minutes: DCI fits trees, FactorVAE calls the sampler per batch
KEYS = ("mig", "dci_disentanglement", "dci_completeness", "dci_informativeness", "sap", "modularity",
        "factor_vae")

ESTIMATOR = {
    "mig": "Chen et al. 2018: all rows; each code and each factor in num_bins equal-width histogram bins over "
           "its range; plug-in mutual information in nats (sklearn mutual_info_score); gap of the top two codes "
           "divided by the binned factor's plug-in entropy, averaged over factors",
    "dci": "Eastwood & Williams 2018: rows split in halves by the seed; per factor (binned as for MIG, bins over "
           "all rows) a GradientBoostingClassifier (sklearn defaults: 100 stages of depth 3) fitted on the "
           "training half from all codes; importances = |feature_importances_|; informativeness = mean "
           "test-half accuracy",
    "sap": "Kumar et al. 2018, continuous factors: all rows; score = squared Pearson correlation of each code "
           "with each factor (0 for a constant code); gap of the top two codes, averaged over factors",
    "modularity": "Ridgeway & Mozer 2018: the MIG's binned mutual information matrix; a code informative "
                  "about no factor scores 0; averaged over codes",
    "factor_vae": "Kim & Mnih 2018: codes scaled by their std over the given rows (units with std < 0.05 cannot "
                  "vote); factor_vae_votes training and evaluation batches of 64 rows with one uniformly drawn "
                  "factor fixed; a majority-vote classifier; score = evaluation accuracy",
    "bootstrap": "95% intervals of the sampling spread: the point estimate plus the 2.5 and 97.5 percentiles of "
                 "the resamples' deviations from their mean; MIG, SAP and modularity resample all rows (bins "
                 "recomputed); DCI informativeness resamples the test half with the trees fixed (disentanglement "
                 "and completeness get none: that would refit the trees); FactorVAE resamples the evaluation "
                 "votes with the classifier fixed",
}


def _checked(array, name):
    """array as a finite 2-D float array, or a one-line ValueError naming it."""
    array = np.asarray(array, dtype=float)
    if array.ndim != 2 or min(array.shape) < 1:
        raise ValueError(f"{name} must be a non-empty [N, columns] array, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} holds NaN or infinite values; expected finite numbers")
    return array


def _interval(values, point):
    """The LEVEL interval of the point estimate's sampling spread: point plus the central percentiles of the
    resamples' deviations from their own mean, or None without resamples. Centred on the resamples' mean, a
    plain percentile interval would carry the shift that repeated rows give plug-in mutual information (for
    MIG and modularity often larger than the spread itself); that bias is what the exact references measure."""
    if len(values) == 0:
        return None
    tail = 50.0 * (1.0 - LEVEL)
    low, high = np.percentile(values, [tail, 100.0 - tail]) - np.mean(values) + point
    return [float(low), float(high)]


def _information_metrics(codes, factors, num_bins):
    """MIG (None for one code), modularity (None for one factor) and SAP (None for one code) of the rows."""
    binned_codes, binned_factors = scores.discretise(codes, num_bins), scores.discretise(factors, num_bins)
    information = scores.mutual_information(binned_codes, binned_factors, num_bins)
    several_codes, several_factors = codes.shape[1] > 1, factors.shape[1] > 1
    return {"mig": scores.mig(information, scores.entropies(binned_factors, num_bins)) if several_codes else None,
            "modularity": scores.modularity(information) if several_factors else None,
            "sap": scores.sap(codes, factors) if several_codes else None}


def _dci(codes, factors, seed, num_bins, resamples, rng):
    """DCI's three numbers and the informativeness interval over test-half resamples."""
    order = np.random.default_rng(seed).permutation(len(codes))
    train, test = order[: len(codes) // 2], order[len(codes) // 2:]
    binned = scores.discretise(factors, num_bins)
    importance, correct = scores.dci_fit(codes[train], binned[train], codes[test], binned[test], seed)
    draws = [correct[rng.integers(len(test), size=len(test))].mean() for _ in range(resamples)]
    return ({"dci_disentanglement": scores.dci_disentanglement(importance) if factors.shape[1] > 1 else None,
             "dci_completeness": scores.dci_completeness(importance) if codes.shape[1] > 1 else None,
             "dci_informativeness": float(correct.mean())},
            {"dci_informativeness": _interval(draws, float(correct.mean()))})


def _factor_vae(codes, num_factors, sampler, votes, resamples, rng):
    """The FactorVAE score and its interval over resampled evaluation votes."""
    global_std = codes.std(axis=0, ddof=1)
    if not np.any(global_std >= scores.FACTOR_VAE_MIN_STD):  # every unit collapsed: none can be read
        return 0.0, None
    train_factor, train_unit = scores.factor_vae_votes(sampler, num_factors, global_std, votes[0], rng)
    classifier = scores.majority_classifier(train_factor, train_unit, num_factors, codes.shape[1])
    eval_factor, eval_unit = scores.factor_vae_votes(sampler, num_factors, global_std, votes[1], rng)
    right = classifier[eval_unit] == eval_factor
    draws = [right[rng.integers(len(right), size=len(right))].mean() for _ in range(resamples)]
    return float(right.mean()), _interval(draws, float(right.mean()))


def _unavailable(num_codes, num_factors, skip, sampler, votes):
    """Why each metric that is None is None."""
    reasons = {}
    if num_codes == 1:
        reasons.update(dict.fromkeys(("mig", "sap", "dci_completeness"), "needs at least two latent units"))
    if num_factors == 1:
        reasons.update(dict.fromkeys(("modularity", "dci_disentanglement"), "needs at least two factors"))
    if "dci" in skip:
        for key in ("dci_disentanglement", "dci_completeness", "dci_informativeness"):
            reasons.setdefault(key, "skipped: it fits gradient-boosted trees (seconds to minutes)")
    if "factor_vae" in skip:
        batches = counted(sum(votes), "generated batch", "generated batches", ",")
        reasons["factor_vae"] = f"skipped: it encodes {batches} (seconds or more)"
    elif sampler is None:
        reasons["factor_vae"] = ("needs batches with one factor fixed from the data's generator "
                                 "(generated data and a factor_vae_sampler)")
    return reasons


def metrics(codes, factors, *, seed=0, num_bins=scores.NUM_BINS, bootstrap=BOOTSTRAP, factor_vae_sampler=None,
            factor_vae_votes=scores.FACTOR_VAE_VOTES, skip=()):
    """MIG, DCI (disentanglement, completeness, informativeness), SAP, modularity and the FactorVAE score of
    codes [N, d] (encoder means) against continuous factors [N, k], with bootstrap intervals.

    seed drives the DCI halves, the trees, the resamples and the FactorVAE votes; bootstrap is the number of
    resamples per interval (0: none). factor_vae_sampler(factor_index, batch_size, rng) -> codes [batch, d]
    must return the codes of a fresh batch from the data's generator with that one factor fixed (at a value
    it draws); without it factor_vae is None. skip names metrics to leave out ("dci", "factor_vae"; SLOW
    holds both, which take seconds to minutes where the others take milliseconds). Returns plain floats
    (None where a metric is undefined, with the reason in "unavailable"), "intervals" ([low, high] or None
    per metric), "n_rows", "estimator" (what each number is estimated from) and "seconds" (time per metric).
    Raises ValueError on bad arrays or options."""
    unknown = set(skip) - set(SLOW)
    if unknown:
        raise ValueError(f"skip {sorted(unknown)}: expected a subset of {list(SLOW)}")
    if bootstrap < 0:
        raise ValueError(f"bootstrap {bootstrap}: expected a number of resamples >= 0")
    codes, factors = _checked(codes, "codes"), _checked(factors, "factors")
    if len(codes) != len(factors):
        raise ValueError(f"codes have {counted(len(codes), 'row')} but factors {len(factors)}; expected one code per "
                         "row")
    if len(codes) < 4:
        raise ValueError(f"too few rows ({len(codes)}); expected at least 4 (two per DCI half)")
    constant = np.flatnonzero(np.ptp(factors, axis=0) == 0)
    if constant.size:
        raise ValueError(f"factor column {constant[0]} is constant; expected factors that vary over the rows")
    rng = np.random.default_rng(seed)
    result = dict.fromkeys(KEYS)
    intervals, seconds = dict.fromkeys(KEYS), {}

    start = time.perf_counter()
    result.update(_information_metrics(codes, factors, num_bins))
    draws = [_information_metrics(codes[rows], factors[rows], num_bins)
             for rows in rng.integers(len(codes), size=(bootstrap, len(codes)))]
    for key in ("mig", "modularity", "sap"):
        if result[key] is not None:
            intervals[key] = _interval([draw[key] for draw in draws], result[key])
    seconds["mig_sap_modularity"] = time.perf_counter() - start

    if "dci" not in skip:
        start = time.perf_counter()
        values, informativeness = _dci(codes, factors, seed, num_bins, bootstrap, rng)
        result.update(values)
        intervals.update(informativeness)
        seconds["dci"] = time.perf_counter() - start
    if "factor_vae" not in skip and factor_vae_sampler is not None:
        start = time.perf_counter()
        result["factor_vae"], intervals["factor_vae"] = _factor_vae(codes, factors.shape[1], factor_vae_sampler,
                                                                    factor_vae_votes, bootstrap, rng)
        seconds["factor_vae"] = time.perf_counter() - start

    unavailable = _unavailable(codes.shape[1], factors.shape[1], skip, factor_vae_sampler, factor_vae_votes)
    return {**result, "intervals": intervals, "n_rows": len(codes), "unavailable": unavailable,
            "estimator": {**ESTIMATOR, "num_bins": num_bins, "bootstrap_resamples": bootstrap,
                          "dci_train_rows": len(codes) // 2, "dci_test_rows": len(codes) - len(codes) // 2,
                          "factor_vae_votes": list(factor_vae_votes)},
            "seconds": seconds}
