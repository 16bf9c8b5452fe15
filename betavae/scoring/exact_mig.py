"""Exact mutual informations and MIG where the truth allows: a linear-Gaussian truth and a (near-)linear code.

For x = mean + W z + e (z ~ N(0, I_k), e ~ N(0, diag psi)) and a code c = A x + b, (c_j, z_k) are jointly
Gaussian with correlation rho_jk, so their mutual information is known in closed form. Two exact references
sit beside the binned estimate of `betavae.scoring.disentanglement` (see docs/evaluation.md, "Disentanglement metrics"):

(i)  the continuous mutual information -1/2 log(1 - rho^2) (nats) and the MIG from it;
(ii) the mutual information of the two variables discretised at the very bin edges the estimator used
     (the outer bins extended to +-infinity), from bivariate normal cell probabilities, and the MIG from it.

Both MIGs divide by the exact entropy of the discretised factor at those edges, as the binned MIG divides
by its plug-in estimate. The binned MIG converges to (ii), not (i), as rows grow: binned MIG - (ii) is the
finite-sample bias of the plug-in estimator, (ii) - (i) the bias of discretising (binning loses information,
so (ii) <= (i) term by term). Numpy and scipy only.
"""
import numpy as np
from scipy.special import ndtr, owens_t

from betavae.scoring.disentanglement_scores import NUM_BINS, bin_edges, entropy, mig
from betavae.words import counted

RHO_ONE = 1.0 - 1e-12  # |rho| beyond which a pair is treated as an exact linear function of each other


def continuous_information(rho):
    """Mutual information in nats of two jointly Gaussian variables with correlation rho: -1/2 log(1 - rho^2)."""
    return -0.5 * np.log1p(-np.minimum(np.square(rho), RHO_ONE))


def bivariate_cdf(h, k, rho):
    """P(U <= h, V <= k) for standard normal U, V with correlation rho (broadcast over finite h, k), by Owen's T
    function (Owen 1956, eq. 2.1), exact to rounding; |rho| = 1 by the limit (one variable a copy of the other)."""
    h, k = np.broadcast_arrays(np.asarray(h, dtype=float), np.asarray(k, dtype=float))
    if abs(rho) >= RHO_ONE:
        return ndtr(np.minimum(h, k)) if rho > 0 else np.maximum(ndtr(h) - ndtr(-k), 0.0)
    h = np.where(h == 0, 1e-300, h)  # Owen's formula divides by h and k; its limit at 0 is the value at 0+
    k = np.where(k == 0, 1e-300, k)
    scale = np.sqrt(1.0 - rho * rho)
    beta = np.where((h > 0) == (k > 0), 0.0, 0.5)  # signs, not h * k, which underflows
    return (0.5 * (ndtr(h) + ndtr(k)) - owens_t(h, (k - rho * h) / (h * scale))
            - owens_t(k, (h - rho * k) / (k * scale)) - beta)


def cell_probabilities(rho, code_edges, factor_edges):
    """The probability of each cell [len(code_edges) + 1, len(factor_edges) + 1] of two standard normal
    variables with correlation rho, cut at the interior edges (standardised units; outer cells unbounded)."""
    corner = np.zeros((len(code_edges) + 2, len(factor_edges) + 2))  # CDF at the cell corners, -inf .. +inf
    corner[1:-1, 1:-1] = bivariate_cdf(np.asarray(code_edges)[:, None], np.asarray(factor_edges)[None, :], rho)
    corner[-1, 1:-1], corner[1:-1, -1], corner[-1, -1] = ndtr(factor_edges), ndtr(code_edges), 1.0
    return np.maximum(np.diff(np.diff(corner, axis=0), axis=1), 0.0)  # differencing can round below 0


def discretised_information(rho, code_edges, factor_edges):
    """Mutual information in nats of the pair discretised at the interior edges (standardised units)."""
    cells = cell_probabilities(rho, code_edges, factor_edges)
    cells /= cells.sum()
    return float(entropy(cells.sum(axis=1)) + entropy(cells.sum(axis=0)) - entropy(cells.ravel()))


def gaussian_references(mean, covariance, num_codes, edges):
    """Exact references for jointly Gaussian (codes, factors): mean [d + k], covariance [d + k, d + k] with the
    d = num_codes codes first; edges [d + k, num_bins + 1] the estimator's histogram edges per variable.
    Returns the correlations, both information matrices [d][k], the discretised factors' entropies and both
    MIGs (None for a single code)."""
    mean, covariance = np.asarray(mean, dtype=float), np.asarray(covariance, dtype=float)
    std = np.sqrt(np.maximum(np.diag(covariance), 0.0))
    interior = [(np.asarray(e, dtype=float)[1:-1] - m) / s if s > 0 else None
                for e, m, s in zip(edges, mean, std)]
    d, k = num_codes, len(mean) - num_codes
    rho = np.zeros((d, k))
    continuous, discretised = np.zeros((d, k)), np.zeros((d, k))
    for j in range(d):
        for f in range(d, d + k):
            if std[j] > 0 and std[f] > 0:  # a constant code carries no information
                rho[j, f - d] = np.clip(covariance[j, f] / (std[j] * std[f]), -1.0, 1.0)
                continuous[j, f - d] = continuous_information(rho[j, f - d])
                discretised[j, f - d] = discretised_information(rho[j, f - d], interior[j], interior[f])
    factor_entropy = np.array([entropy(np.diff(np.concatenate([[0.0], ndtr(interior[f]), [1.0]])))
                               for f in range(d, d + k)])
    several = d > 1
    return {"correlation": rho.tolist(), "information_continuous": continuous.tolist(),
            "information_discretised": discretised.tolist(), "factor_entropy": factor_entropy.tolist(),
            "mig_continuous": mig(continuous, factor_entropy) if several else None,
            "mig_discretised": mig(discretised, factor_entropy) if several else None}


def linear_code_fit(x, codes):
    """Least-squares codes ~ x A' + b: returns A [d, D], b [d] and R^2 per code (1 for an exactly linear code;
    1 for a constant code, which a constant fits exactly)."""
    design = np.column_stack([x, np.ones(len(x))])
    solution = np.linalg.lstsq(design, codes, rcond=None)[0]
    residual = np.sum((codes - design @ solution) ** 2, axis=0)
    total = np.sum((codes - codes.mean(axis=0)) ** 2, axis=0)
    r2 = np.where(total > 0, 1.0 - residual / np.where(total > 0, total, 1.0), 1.0)
    return solution[:-1].T, solution[-1], r2


def exact_references(x, codes, factors, truth, num_bins=NUM_BINS):
    """Exact MI and MIG for codes [N, d] of rows x [N, D] whose factors [N, k] came from a linear-Gaussian truth
    (a linear Truth's mean, W, psi): the code is replaced by its least-squares linear fit A x + b (R^2 per
    code under "code_r2": the references hold for the code only as far as it is linear in x), and the bins are
    those the binned estimator puts on these codes and factors. See gaussian_references for the keys; adds
    "code_r2" and "n_rows". Raises ValueError for another family or mismatched arrays."""
    if not truth.linear:
        raise ValueError(f"exact references need a linear-Gaussian truth, got family {truth.family!r}")
    x, codes, factors = (np.asarray(a, dtype=float) for a in (x, codes, factors))
    weights, psi, mean = truth.W, truth.psi, truth.mean
    if not (x.ndim == codes.ndim == factors.ndim == 2 and len(x) == len(codes) == len(factors)):
        raise ValueError(f"x {x.shape}, codes {codes.shape} and factors {factors.shape} must be 2-D with one "
                         "row each per data row")
    if x.shape[1] != len(mean) or factors.shape[1] != weights.shape[1]:
        raise ValueError(f"x has {counted(x.shape[1], 'column')} and factors {factors.shape[1]}; the truth has "
                         f"{counted(len(mean), 'data dimension')} and {counted(weights.shape[1], 'factor')}")
    a, b, r2 = linear_code_fit(x, codes)
    loading = a @ weights  # Cov(code, z)
    code_covariance = loading @ loading.T + (a * psi) @ a.T
    d, k = codes.shape[1], factors.shape[1]
    joint = np.block([[code_covariance, loading], [loading.T, np.eye(k)]])
    edges = [bin_edges(column, num_bins) for column in np.column_stack([codes, factors]).T]
    result = gaussian_references(np.concatenate([a @ mean + b, np.zeros(k)]), joint, d, edges)
    return {**result, "code_r2": r2.tolist(), "n_rows": len(x)}
