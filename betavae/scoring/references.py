"""Exact references for Gaussian data, in nats per sample: pure numpy, no TensorFlow or scipy.

The best any model with a d-dimensional linear-Gaussian latent can do is known in closed form: factor
analysis (FA) at beta = 1, and a whitened PPCA solution for any beta (see `linear_beta_optimum`).
"""
import math

import numpy as np

from betavae.constants import LOG_2PI

ACTIVE_THRESHOLD = 0.01  # a latent unit is active above this: variance of its mean, or its KL in nats


def gaussian_log_densities(x, mean, covariance):
    """log N(x_i; mean, covariance) of each row x_i, by Cholesky (which refuses a covariance that is not
    positive definite)."""
    cholesky = np.linalg.cholesky(np.atleast_2d(covariance))
    whitened = np.linalg.solve(cholesky, (np.atleast_2d(x) - mean).T)
    log_det = 2.0 * np.sum(np.log(np.diag(cholesky)))
    return -0.5 * (np.sum(whitened ** 2, axis=0) + log_det + len(cholesky) * LOG_2PI)


def gaussian_nll(x, mean, covariance):
    """Mean negative log-density of rows x under N(mean, covariance)."""
    return -float(np.mean(gaussian_log_densities(x, mean, covariance)))


def gaussian_entropy(covariance):
    """Differential entropy of N(., covariance): the lowest expected NLL any model of that data can reach."""
    return 0.5 * float(np.linalg.slogdet(2.0 * np.pi * np.e * np.asarray(covariance))[1])


def symmetric_sqrt(matrix):
    """The symmetric square root of a symmetric positive semi-definite matrix, by its eigendecomposition
    (round-off below zero is clipped)."""
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def frechet_distance(mean_a, cov_a, mean_b, cov_b):
    """Squared 2-Wasserstein distance between N(mean_a, cov_a) and N(mean_b, cov_b) (the FID formula)."""
    root_b = symmetric_sqrt(np.atleast_2d(cov_b))
    cross = symmetric_sqrt(root_b @ np.atleast_2d(cov_a) @ root_b)
    distance = np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2.0 * np.trace(cross)
    return float(max(distance, 0.0))


def factor_analysis(covariance, factors, iterations=5000, tolerance=1e-12):
    """Maximum-likelihood FA of a sample covariance by EM (Rubin & Thayer 1982): returns (W, psi) with
    covariance ~ W W' + diag(psi), W's columns rotated so that W' diag(psi)^-1 W is diagonal, descending.

    EM can stop in a local optimum, so it runs from a few starts and keeps the most likely fit."""
    covariance = np.asarray(covariance, dtype=float)
    fits = [_factor_analysis_em(covariance, factors, np.diag(covariance) * fraction, iterations, tolerance)
            for fraction in (0.05, 0.3, 0.7)]
    loadings, psi, _ = min(fits, key=lambda fit: fit[2])
    return _rotate_to_diagonal(loadings, psi), psi


def _factor_analysis_em(covariance, factors, psi, iterations, tolerance):
    """EM for FA from noise psi (loadings from the top eigenvectors of covariance - psi); returns
    (W, psi, expected NLL up to a constant)."""
    values, vectors = _whitened_eigen(covariance, psi)
    loadings = np.sqrt(psi)[:, None] * vectors[:, :factors] * np.sqrt(np.maximum(values[:factors] - 1.0, 1e-3))
    floor = 1e-9 * np.diag(covariance)
    previous = np.inf
    for _ in range(iterations):
        posterior_cov = np.linalg.inv(np.eye(factors) + loadings.T @ (loadings / psi[:, None]))
        projection = posterior_cov @ (loadings / psi[:, None]).T  # E[z|x] = projection @ (x - mean)
        loadings = covariance @ projection.T @ np.linalg.inv(posterior_cov + projection @ covariance @ projection.T)
        psi = np.maximum(np.diag(covariance - loadings @ projection @ covariance), floor)
        model_cov = loadings @ loadings.T + np.diag(psi)
        nll = 0.5 * (np.linalg.slogdet(model_cov)[1] + np.trace(np.linalg.solve(model_cov, covariance)))
        if previous - nll < tolerance:
            break
        previous = nll
    return loadings, psi, nll


def _rotate_to_diagonal(loadings, noise):
    """Rotate latent axes so that W' diag(noise)^-1 W is diagonal with descending entries."""
    _, vectors = np.linalg.eigh(loadings.T @ (loadings / noise[:, None]))
    return loadings @ vectors[:, ::-1]


def linear_vae(mean, loadings, psi, beta):
    """The best encoder for a linear decoder N(mean + W z, diag psi) under the beta-objective: the FA
    posterior computed with noise beta * psi (exact, and diagonal once W is rotated by _rotate_to_diagonal).

    Returns a dict: mean, W, psi, and the encoder q(z|x) = N(B (x - mean), diag z_var)."""
    precision = loadings.T @ (loadings / (beta * psi)[:, None])
    z_var = 1.0 / (1.0 + np.diag(precision))
    projection = z_var[:, None] * (loadings / (beta * psi)[:, None]).T
    return {"mean": mean, "W": loadings, "psi": psi, "B": projection, "z_var": z_var}


def linear_vae_objective(model, beta, data_mean, data_cov):
    """Expected beta-objective of a linear-Gaussian VAE on data with the given mean and covariance, in
    closed form; returns (objective, rate, distortion, kl_per_dim)."""
    offset = data_mean - model["mean"]
    second_moment = data_cov + np.outer(offset, offset)
    projection, loadings, psi, z_var = model["B"], model["W"], model["psi"], model["z_var"]
    code_second_moment = np.diag(projection @ second_moment @ projection.T)
    kl_per_dim = 0.5 * (z_var + code_second_moment - 1.0 - np.log(z_var))
    residual = np.eye(len(psi)) - loadings @ projection
    distortion = 0.5 * (np.sum(np.log(2.0 * np.pi * psi))
                        + np.trace((residual @ second_moment @ residual.T) / psi[:, None])
                        + np.sum(z_var * np.diag(loadings.T @ (loadings / psi[:, None]))))
    rate = float(np.sum(kl_per_dim))
    return beta * rate + distortion, rate, float(distortion), kl_per_dim


def _whitened_eigen(covariance, noise):
    """Eigen-decomposition (descending) of noise^-1/2 covariance noise^-1/2 for a diagonal noise."""
    root = 1.0 / np.sqrt(noise)
    values, vectors = np.linalg.eigh(covariance * np.outer(root, root))
    return values[::-1], vectors[:, ::-1]


def _profile_objective(psi, covariance, beta, latent_dim):
    """beta/2 [sum_{i<=d} h(l_i) + sum_{i>d} l_i] + 1/2 sum log(2 pi psi): the beta-objective minimised over
    encoder and W for a fixed decoder variance psi."""
    values, _ = _whitened_eigen(covariance, beta * psi)
    top, rest = values[:latent_dim], values[latent_dim:]
    h = np.where(top > 1.0, 1.0 + np.log(np.maximum(top, 1.0)), top)
    return 0.5 * beta * (np.sum(h) + np.sum(rest)) + 0.5 * np.sum(LOG_2PI + np.log(psi))


def linear_beta_optimum(data_mean, data_cov, beta, latent_dim, min_log_scale=-7.0, fa_psi=None):
    """The best beta-objective of the linear-Gaussian VAE family with a learned diagonal decoder variance
    (fitted to the given moments): minimise the profile objective over psi by block coordinate descent from
    a few starts, each step rebuilding W (whitened PPCA, Tipping & Bishop 1999) and the encoder.

    Below beta = 1 the objective is unbounded (a latent unit spent on one coordinate lets its variance go
    to 0), so decoder scales are bounded below by exp(min_log_scale) data standard deviations, the same
    floor as the model's soft clamp (beta_vae_layers.LOG_SCALE_MIN). fa_psi: the noise of a factor analysis
    of data_cov with latent_dim factors, if already fitted (a start; fitted here when None). Latent units
    beyond the data dimension get zero loadings (they are never worth their KL).

    Returns the model dict of linear_vae plus objective, rate, distortion, kl_per_dim, active_units."""
    if beta <= 0:
        raise ValueError(f"beta {beta}: the linear optimum needs beta > 0 (at beta = 0 the rate is free)")
    data_cov = np.atleast_2d(np.asarray(data_cov, dtype=float))
    variances = np.diag(data_cov)
    bounds = (variances * np.exp(2.0 * min_log_scale), variances * 10.0)
    if fa_psi is None:
        fa_psi = factor_analysis(data_cov, min(latent_dim, len(variances)))[1]
    starts = [variances * fraction for fraction in (0.02, 0.2, 0.9)] + [np.asarray(fa_psi, dtype=float)]
    psi, profile = min((_descend(data_cov, beta, latent_dim, np.clip(start, *bounds), bounds) for start in starts),
                       key=lambda fit: fit[1])
    model = linear_vae(np.asarray(data_mean, dtype=float), _ppca_loadings(data_cov, beta, latent_dim, psi), psi, beta)
    objective, rate, distortion, kl_per_dim = linear_vae_objective(model, beta, data_mean, data_cov)
    return {**model, "objective": objective, "rate": rate, "distortion": distortion,
            "kl_per_dim": kl_per_dim, "active_units": int(np.sum(kl_per_dim > ACTIVE_THRESHOLD)),
            "profile_objective": profile}


def _ppca_loadings(covariance, beta, latent_dim, psi):
    """The best W for decoder noise psi: the whitened PPCA solution, zero columns past the data dimension."""
    values, vectors = _whitened_eigen(covariance, beta * psi)
    used = min(latent_dim, len(psi))
    loadings = np.sqrt(beta * psi)[:, None] * vectors[:, :used] * np.sqrt(np.maximum(values[:used], 1.0) - 1.0)
    return np.pad(loadings, ((0, 0), (0, latent_dim - used)))


def _descend(covariance, beta, latent_dim, psi, bounds, iterations=5000, tolerance=1e-13):
    """Block coordinate descent on the beta-objective: W and the encoder are optimal for psi in closed form,
    and psi optimal for them is the expected squared residual (clipped to bounds), so each step lowers the
    profile objective. Returns (psi, profile objective). Needs no optimizer library (scipy takes ~1 s to
    import, more than the whole fit)."""
    previous = np.inf
    for _ in range(iterations):
        loadings = _ppca_loadings(covariance, beta, latent_dim, psi)
        model = linear_vae(np.zeros(len(psi)), loadings, psi, beta)
        residual = np.eye(len(psi)) - loadings @ model["B"]
        psi = np.clip(np.diag(residual @ covariance @ residual.T) + (loadings ** 2) @ model["z_var"], *bounds)
        objective = _profile_objective(psi, covariance, beta, latent_dim)
        if previous - objective < tolerance:
            break
        previous = objective
    return psi, float(objective)


def held_out_linear_optimum(train_moments, test_moments, beta, latent_dim, min_log_scale=-7.0, fa_psi=None):
    """The linear beta-optimum fitted to training moments (mean, covariance) and scored on test moments:
    a dict of objective, rate, distortion, kl_per_dim (list), active_units, train_objective and the loadings W."""
    optimum = linear_beta_optimum(*train_moments, beta, latent_dim, min_log_scale=min_log_scale, fa_psi=fa_psi)
    objective, rate, distortion, kl_per_dim = linear_vae_objective(optimum, beta, *test_moments)
    return {"objective": objective, "rate": rate, "distortion": distortion, "kl_per_dim": kl_per_dim.tolist(),
            "active_units": int(np.sum(kl_per_dim > ACTIVE_THRESHOLD)), "train_objective": optimum["objective"],
            "W": optimum["W"].tolist()}


def collapse_beta(data_cov):
    """The beta at and above which total collapse (no active latent unit) is optimal: the largest
    eigenvalue of the data's correlation matrix."""
    scale = 1.0 / np.sqrt(np.diag(data_cov))
    return float(np.linalg.eigvalsh(data_cov * np.outer(scale, scale))[-1])


def unit_collapse_betas(data_cov, latent_dim, betas, fa_psi=None, tolerance=1e-3):
    """The beta at which each unit of the linear optimum collapses, largest unit first: a unit is active
    while its eigenvalue of the covariance whitened by beta psi*(beta) exceeds 1 (psi* the optimum's decoder
    variance). The largest unit collapses exactly at collapse_beta; each other is bisected, to a relative
    `tolerance`, between the grid points of `betas` that bracket its change. None for a unit that the grid
    never sees active and then inactive."""
    data_cov = np.atleast_2d(np.asarray(data_cov, dtype=float))
    units = min(latent_dim, len(data_cov))
    if fa_psi is None:
        fa_psi = factor_analysis(data_cov, units)[1]

    def active(unit, beta):
        psi = linear_beta_optimum(np.zeros(len(data_cov)), data_cov, beta, latent_dim, fa_psi=fa_psi)["psi"]
        return _whitened_eigen(data_cov, beta * psi)[0][unit] > 1.0

    grid = sorted(float(beta) for beta in betas if beta >= 1.0)  # below 1 the optimum sits at the scale floor
    thresholds = [collapse_beta(data_cov)] + [None] * (latent_dim - 1)
    for unit in range(1, units):
        states = [active(unit, beta) for beta in grid]
        change = next((i for i in range(1, len(grid)) if states[i - 1] and not states[i]), None)
        if change is None:
            continue
        low, high = grid[change - 1], grid[change]
        while high / low - 1.0 > tolerance:
            middle = math.sqrt(low * high)
            low, high = (middle, high) if active(unit, middle) else (low, middle)
        thresholds[unit] = math.sqrt(low * high)
    return thresholds


def active_units(code_means, threshold=ACTIVE_THRESHOLD):
    """Latent dimensions whose encoder mean varies across the data, Cov_x(E_q[z_j]) > threshold
    (Burda et al. 2016)."""
    return int(np.sum(np.var(code_means, axis=0) > threshold))


def moment_errors_of(sample_mean, sample_cov, mean, covariance):
    """How far samples' moments, given as their mean and covariance (so samples may be streamed rather than
    held), are from a reference: L2 mean error, relative Frobenius covariance error (None where the reference
    has no finite, non-zero covariance to be relative to: rows that do not vary), and the Frechet distance."""
    size = np.linalg.norm(covariance)
    relative = float(np.linalg.norm(sample_cov - covariance) / size) if np.isfinite(size) and size > 0 else None
    return {"mean_error": float(np.linalg.norm(sample_mean - mean)), "cov_error": relative,
            "frechet": frechet_distance(sample_mean, sample_cov, np.asarray(mean), np.asarray(covariance))}
