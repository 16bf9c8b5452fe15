"""What the KL is made of: the rate split into index-code mutual information, total correlation and
dimension-wise KL (Hoffman & Johnson 2016; Chen et al. 2018), estimated over a set of rows. Numpy only.

With the aggregate posterior q(z) = (1/N) sum_m q(z|x_m) over the N rows and z_n ~ q(z|x_n),

    E_n KL(q(z|x_n) || p(z)) = I_q(x; z) + TC(z) + sum_j KL(q(z_j) || N(0, 1)),
    I_q = E[log q(z|x) - log q(z)],  TC = E[log q(z) - sum_j log q(z_j)],
    dimension-wise KL = E[sum_j log q(z_j) - log p(z)],

each log q a log-sum-exp over the N posteriors. The three per-sample terms telescope, so their sum is
the Monte Carlo estimate of the mean KL exactly; that estimate is unbiased, the parts are not (the
mixture is of N rows only).
"""
import numpy as np

from betavae.constants import LOG_2PI

SAMPLES_PER_ROW = 1
FLOAT32_RANGE = 30.0  # nats of log-scale per dimension below which float32 exponentials are safe
MAX_ROWS = 10_000  # rows at most; at 10k rows 1.4 s of CPU for a 2-D latent, 11 s for 10-D (loaded CPU)
MAX_BLOCK_VALUES = 1 << 16  # (samples x posteriors) densities per array: 512 kB of float64, in cache
PARTS = ("index_code_mi", "total_correlation", "dimension_wise_kl")
ESTIMATOR = ("log q(z) and log q(z_j) as log-sum-exp over the posteriors of all rows (the aggregate posterior "
             "of Chen et al. 2018), z drawn from q(z|x) of each row")


def _aggregate_log_densities(z, means, log_scales, block):
    """log q(z_i) and log q(z_ij) of each sample z_i [M, d] under the mixture of the N diagonal Gaussians
    (means, log_scales [N, d]), without the -log N: [M] and [M, d]. Samples go `block` at a time and the
    dimensions one at a time, so that at most a few block x N values are held at once.

    Each dimension's densities are shifted by its largest log-normaliser, not by each sample's maximum: no
    exponential can overflow, and none that the sums need can underflow, since every sample's own
    posterior is in the mixture at a shifted log-density of at least -noise^2 / 2 minus the dimension's
    range of log-scales (at most 10 for the encoder). So the exponentials, the costly part, can be float32
    (2 to 3 times faster, and within 1e-7 relatively) unless that range is wide. The joint density is the
    product of the dimensions' (float64, where it cannot underflow), so the exponentials serve both."""
    scale = np.exp(-log_scales) * np.sqrt(0.5)
    centres = means * scale
    offsets = -log_scales - 0.5 * LOG_2PI
    shifts = offsets.max(axis=0)
    offsets -= shifts
    precision = np.float32 if np.ptp(log_scales, axis=0).max() < FLOAT32_RANGE else np.float64
    joint, marginal = np.empty(len(z)), np.empty(z.shape)
    for first in range(0, len(z), block):
        rows = slice(first, first + block)
        product = np.ones((len(z[rows]), len(means)))
        for j in range(z.shape[1]):
            exponent = np.multiply.outer(z[rows, j], scale[:, j])
            exponent -= centres[:, j]
            np.square(exponent, out=exponent)
            np.subtract(offsets[:, j], exponent, out=exponent)
            density = np.exp(exponent, dtype=precision)
            marginal[rows, j] = np.log(density.sum(axis=1, dtype=np.float64)) + shifts[j]
            product *= density
        joint[rows] = np.log(product.sum(axis=1)) + shifts.sum()
    return joint, marginal


def kl_decomposition(means, log_scales, seed, samples_per_row=SAMPLES_PER_ROW, block=None, max_rows=MAX_ROWS):
    """The decomposition of the mean KL over N rows of diagonal-Gaussian posteriors (means, log_scales
    [N, d], log sigma), in nats per sample: a dict of index_code_mi, total_correlation, dimension_wise_kl,
    kl_monte_carlo (their sum), kl_analytic (the closed-form mean KL), standard_errors (over rows, of each
    part and of kl_monte_carlo - kl_analytic, treating the rows' terms as independent although the mixture
    couples them), n_rows, samples_per_row, index_code_mi_max (log N) and the estimator.

    samples_per_row draws of z per row (noise from `seed`); block: samples per block (default: as many as
    keep MAX_BLOCK_VALUES log-densities at once; the numbers do not depend on it). With this estimator
    I_q <= log N, since a row's own posterior is one of the N in the mixture: it saturates at log N
    when the posteriors do not overlap. The cost grows as N^2: beyond max_rows rows, a random subset of
    max_rows (chosen by `seed`) is used, and n_rows says so."""
    means, log_scales = np.asarray(means, np.float64), np.asarray(log_scales, np.float64)
    if means.ndim != 2 or means.shape != log_scales.shape or not len(means):
        raise ValueError(f"means {means.shape} and log-scales {log_scales.shape}: expected two equal [N, d] shapes")
    if samples_per_row < 1:
        raise ValueError(f"samples_per_row {samples_per_row}: expected at least 1")
    generator = np.random.default_rng(seed)
    if len(means) > max_rows:
        subset = np.sort(generator.choice(len(means), max_rows, replace=False))
        means, log_scales = means[subset], log_scales[subset]
    rows, dims = means.shape
    noise = generator.standard_normal((samples_per_row, rows, dims))
    z = (means + np.exp(log_scales) * noise).reshape(-1, dims)  # sample s of row n at s * rows + n
    block = block or max(1, MAX_BLOCK_VALUES // rows)
    log_mixture, log_marginals = _aggregate_log_densities(z, means, log_scales, block)
    log_mixture -= np.log(rows)
    log_marginals = (log_marginals - np.log(rows)).sum(axis=1)
    log_posterior = (-0.5 * np.sum(noise.reshape(-1, dims) ** 2 + LOG_2PI, axis=1)
                     - np.tile(log_scales.sum(axis=1), samples_per_row))
    log_prior = -0.5 * np.sum(z ** 2 + LOG_2PI, axis=1)
    per_sample = {"index_code_mi": log_posterior - log_mixture, "total_correlation": log_mixture - log_marginals,
                  "dimension_wise_kl": log_marginals - log_prior}
    per_row = {name: values.reshape(samples_per_row, rows).mean(axis=0) for name, values in per_sample.items()}
    analytic = 0.5 * np.sum(means ** 2 + np.exp(2.0 * log_scales) - 1.0 - 2.0 * log_scales, axis=1)
    per_row["kl_monte_carlo_minus_analytic"] = sum(per_row[name] for name in PARTS) - analytic
    standard_errors = {name: float(values.std(ddof=1) / np.sqrt(rows)) if rows > 1 else None
                       for name, values in per_row.items()}
    result = {name: float(per_row[name].mean()) for name in PARTS}
    return {**result, "kl_monte_carlo": sum(result.values()), "kl_analytic": float(analytic.mean()),
            "standard_errors": standard_errors, "n_rows": rows, "samples_per_row": samples_per_row,
            "index_code_mi_max": float(np.log(rows)), "estimator": ESTIMATOR}
