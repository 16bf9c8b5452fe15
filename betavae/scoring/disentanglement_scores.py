"""The disentanglement scores as pure functions of codes [N, d] and factors [N, k], numpy and scikit-learn only.

Each follows disentanglement_lib's convention (Locatello et al. 2019) so that its numbers compare with the
published ones; `betavae.scoring.disentanglement.metrics` is the entry point that validates the arrays,
splits the rows, bootstraps and names the estimator choices.
"""
import numpy as np

NUM_BINS = 20  # disentanglement_lib's histogram bins for codes and continuous factors
FACTOR_VAE_BATCH = 64  # rows per batch with one factor fixed (disentanglement_lib's default)
FACTOR_VAE_VOTES = (10000, 5000)  # batches voting for the classifier / scoring it (disentanglement_lib's)
FACTOR_VAE_MIN_STD = 0.05  # units whose std over the data is below this are collapsed and cannot vote


def entropy(counts, base=None):
    """Shannon entropy, in nats or in `base`, of each distribution given (unnormalised) along axis 0 of
    counts, as scipy.stats.entropy computes it; numpy's, since importing scipy.stats costs every after-training
    CLI about a second."""
    p = np.asarray(counts, dtype=float)
    p = p / p.sum(axis=0, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        nats = -np.sum(np.where(p > 0, p * np.log(p), 0.0), axis=0)
    return nats / np.log(base) if base else nats


def bin_edges(column, num_bins=NUM_BINS):
    """The num_bins + 1 edges of np.histogram over one column: equal widths from its minimum to its maximum."""
    return np.histogram_bin_edges(np.asarray(column, dtype=float), bins=num_bins)


def discretise(values, num_bins=NUM_BINS):
    """Each column of values [N, m] as bin indices 0..num_bins-1 of its own histogram (the maximum falls in the
    last bin), as disentanglement_lib's histogram discretiser does."""
    values = np.asarray(values, dtype=float)
    return np.stack([np.digitize(column, bin_edges(column, num_bins)[1:-1]) for column in values.T], axis=1)


def _contingency(a, b, num_bins):
    """The num_bins x num_bins table of counts of the pairs (a_n, b_n) of bin indices."""
    return np.bincount(a * num_bins + b, minlength=num_bins * num_bins).reshape(num_bins, num_bins)


def mutual_information(binned_codes, binned_factors, num_bins=NUM_BINS):
    """Plug-in mutual information in nats between each binned code and each binned factor, [d, k]
    (sklearn's mutual_info_score on the pair's contingency table)."""
    from sklearn.metrics import mutual_info_score  # here, not at import: every after-training CLI imports this module
    return np.array([[mutual_info_score(None, None, contingency=_contingency(code, factor, num_bins))
                      for factor in binned_factors.T] for code in binned_codes.T])


def entropies(binned, num_bins=NUM_BINS):
    """Plug-in entropy in nats of each binned column (its mutual information with itself)."""
    return np.array([entropy(np.bincount(column, minlength=num_bins)) for column in binned.T])


def mig(information, factor_entropy):
    """Mutual information gap (Chen et al. 2018, eq. 6): mean over factors of the gap between the two codes
    most informative about it, divided by the factor's entropy. information [d, k] (d >= 2), entropy [k]."""
    top = np.sort(information, axis=0)[::-1]
    return float(np.mean((top[0] - top[1]) / factor_entropy))


def modularity(information):
    """Modularity (Ridgeway & Mozer 2018, eq. 2) from information [d, k] (k >= 2): per code, 1 minus the
    squared information it has about factors other than its best, relative to (k - 1) times the best's;
    averaged over codes, a code informative about nothing scoring 0 (disentanglement_lib's choice)."""
    squared = np.asarray(information, dtype=float) ** 2
    best = squared.max(axis=1)
    deviation = (squared.sum(axis=1) - best) / np.where(best > 0, best * (squared.shape[1] - 1), 1.0)
    return float(np.mean(np.where(best > 0, 1.0 - deviation, 0.0)))


def sap(codes, factors):
    """SAP score (Kumar et al. 2018, sec. 3) for continuous factors: the score of code j for factor k is the
    squared Pearson correlation (R^2 of a linear fit), 0 for a constant code; mean over factors of the gap
    between the two best codes. codes [N, d] (d >= 2), factors [N, k]."""
    centred_codes = codes - codes.mean(axis=0)
    centred_factors = factors - factors.mean(axis=0)
    code_var = np.sum(centred_codes ** 2, axis=0)
    factor_var = np.sum(centred_factors ** 2, axis=0)
    covariance = centred_codes.T @ centred_factors
    safe_var = np.where(code_var > 1e-12 * len(codes), code_var, np.inf)
    score = covariance ** 2 / (safe_var[:, None] * factor_var[None, :])
    top = np.sort(score, axis=0)[::-1]
    return float(np.mean(top[0] - top[1]))


def dci_fit(codes_train, binned_train, codes_test, binned_test, seed=0):
    """Gradient-boosted trees (sklearn defaults: 100 stages of depth 3) predicting each binned factor from all
    codes, as disentanglement_lib's DCI does: the importance matrix [d, k] (|feature_importances_|) and, per
    factor, a boolean [N_test] of correct test predictions (informativeness is their mean)."""
    from sklearn import ensemble
    importance, correct = [], []
    for train_target, test_target in zip(binned_train.T, binned_test.T):
        model = ensemble.GradientBoostingClassifier(random_state=seed).fit(codes_train, train_target)
        importance.append(np.abs(model.feature_importances_))
        correct.append(model.predict(codes_test) == test_target)
    return np.stack(importance, axis=1), np.stack(correct, axis=1)


def dci_disentanglement(importance):
    """DCI disentanglement (Eastwood & Williams 2018, eq. 2): 1 minus each code's entropy (base k) over the
    factors of its importances, weighted by its share of the total importance. importance [d, k], k >= 2."""
    if importance.sum() <= 0:  # no code is used for any factor: nothing is disentangled
        return 0.0
    per_code = 1.0 - entropy(importance.T + 1e-11, base=importance.shape[1])
    return float(np.sum(per_code * importance.sum(axis=1) / importance.sum()))


def dci_completeness(importance):
    """DCI completeness (Eastwood & Williams 2018, eq. 3): 1 minus each factor's entropy (base d) over the
    codes of its importances, weighted by its share of the total importance. importance [d, k], d >= 2."""
    return dci_disentanglement(importance.T)


def factor_vae_votes(sampler, num_factors, global_std, votes, rng, batch_size=FACTOR_VAE_BATCH):
    """Kim & Mnih (2018, sec. 4) votes: for each of `votes` batches, a factor drawn uniformly is fixed by
    sampler(factor, batch_size, rng) -> codes [batch_size, d], and the batch votes for the active unit whose
    variance, in units of its variance over the data (global_std ** 2), is least. Returns (factor, unit)
    index arrays of length votes; units are indices among all d (disentanglement_lib indexes the active ones,
    which is the same when every unit is active)."""
    active = np.flatnonzero(global_std >= FACTOR_VAE_MIN_STD)
    factor_of_vote = rng.integers(num_factors, size=votes)
    unit_of_vote = np.empty(votes, dtype=int)
    for n, factor in enumerate(factor_of_vote):
        batch = np.asarray(sampler(int(factor), batch_size, rng), dtype=float)
        relative = np.var(batch[:, active], axis=0, ddof=1) / global_std[active] ** 2
        unit_of_vote[n] = active[np.argmin(relative)]
    return factor_of_vote, unit_of_vote


def majority_classifier(factor_of_vote, unit_of_vote, num_factors, num_units):
    """The FactorVAE classifier: each unit predicts the factor that most often voted for it (ties: the lower
    factor index; a unit with no votes predicts factor 0)."""
    counts = np.zeros((num_factors, num_units), dtype=int)
    np.add.at(counts, (factor_of_vote, unit_of_vote), 1)
    return np.argmax(counts, axis=0)
