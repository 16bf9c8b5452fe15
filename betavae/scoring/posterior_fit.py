"""The best diagonal Gaussian q(z|x) of each row: its mean and log-scale fitted to maximise that row's ELBO,

    ELBO(q) = E_q[log p(x|z) + log p(z)] + H(q),   H(q) = sum_j log_scale_j + k/2 log(2 pi e),

with the expectation by a deterministic rule in q's own coordinates (z = mean + exp(log_scale) t, so the rule
follows q however narrow it gets): Gauss-Hermite for a latent of 1 or 2 dimensions, scrambled Sobol points
(seeded) above. log p(x) - ELBO(q) is KL(q || p(z|x)); its minimum over the family is what the family cannot
represent (Cremer, Li & Duvenaud 2018). Pure numpy and scipy: the log-joint comes as a function (the model's
from inference.log_joint_function, the truth's from families.log_joint).
"""
import math

import numpy as np

# Nodes per axis, by latent dimension. A ReLU decoder's kinks make Gauss-Hermite converge slowly per row
# (10 per axis is 0.003 nats from 48 on a row, on average), but the errors scatter around zero: the mean gaps
# of a default run moved by about 1e-4. The report measures that each time (a rule of twice the nodes).
GAUSS_HERMITE_NODES = {1: 40, 2: 10}
SOBOL_POINTS = 256  # above 2 latent dimensions: 128 scrambled Sobol points and their mirror images
MAX_STEPS = 300  # L-BFGS iterations at most; a fit stops earlier when the ELBO stops moving
STEP_GAIN = 1e-6  # nats per row: a fit stops at a step that gains less than this on average
LOG_SCALE_BOUNDS = (-10.0, 5.0)  # the fit's log-scales stay within these (q's width from 5e-5 to 150)
MODE_AXIS_POINTS = 21  # points per axis of the grid whose best point per row is a second start (k <= 2)
MODE_REACH = 4.0  # that grid spans +- this many prior scales


class Rule:
    """Standard-normal points t [n, k] and weights [n] (summing to 1) with sum w f(t) ~ E[f(t)], t ~ N(0, I),
    and what the report says of them (`name`, `nodes`)."""

    def __init__(self, points, weights, name):
        self.points, self.weights, self.name = points, weights, name
        self.nodes = len(weights)


def gauss_hermite(latent_dim, nodes_per_axis=None):
    """The tensor-product Gauss-Hermite rule (probabilists') of nodes_per_axis (default GAUSS_HERMITE_NODES)
    points per axis, for a latent of 1 or 2 dimensions: exact for polynomials of degree < 2 * nodes_per_axis
    in each coordinate."""
    if latent_dim not in (1, 2):
        raise ValueError(f"latent_dim {latent_dim}: the Gauss-Hermite rule here is for 1 or 2 dimensions")
    count = nodes_per_axis or GAUSS_HERMITE_NODES[latent_dim]
    nodes, weights = np.polynomial.hermite_e.hermegauss(count)
    grids = np.meshgrid(*[nodes] * latent_dim, indexing="ij")
    products = np.prod(np.meshgrid(*[weights] * latent_dim, indexing="ij"), axis=0).ravel()
    name = f"Gauss-Hermite, {count} nodes" if latent_dim == 1 else f"Gauss-Hermite {count}x{count} = {count ** 2} nodes"
    return Rule(np.stack([grid.ravel() for grid in grids], axis=-1), products / products.sum(), name)


def sobol(latent_dim, points=SOBOL_POINTS, seed=0):
    """points / 2 scrambled Sobol points (seeded, so deterministic) mapped to N(0, I) and their mirror images
    -t, each coordinate rescaled to unit second moment: E[t] and E[t_j^2] are exact, so the standard normal
    prior's term is."""
    from scipy.stats import norm, qmc
    half = norm.ppf(qmc.Sobol(latent_dim, scramble=True, seed=seed).random(points // 2))
    mirrored = np.concatenate([half, -half])
    mirrored /= np.sqrt(np.mean(mirrored ** 2, axis=0))
    return Rule(mirrored, np.full(len(mirrored), 1.0 / len(mirrored)),
                f"{len(mirrored)} scrambled Sobol points (seed {seed}, mirrored)")


def rule_for(latent_dim, seed=0, finer=False):
    """The rule of a latent's dimension: Gauss-Hermite for 1 or 2, Sobol above. finer: the check of its
    error, twice the nodes per axis (Gauss-Hermite) or twice the points under another seed (Sobol)."""
    if latent_dim <= 2:
        return gauss_hermite(latent_dim, GAUSS_HERMITE_NODES[latent_dim] * (2 if finer else 1))
    return sobol(latent_dim, SOBOL_POINTS * 2, seed + 1) if finer else sobol(latent_dim, seed=seed)


def entropy(log_scale):
    """H(N(mean, diag exp(log_scale)^2)) per row, [rows] for log_scale [rows, k]."""
    k = log_scale.shape[-1]
    return np.sum(log_scale, axis=-1) + 0.5 * k * (1.0 + math.log(2.0 * math.pi))


def elbo_and_gradient(log_joint, mean, log_scale, rule):
    """The ELBO of each row's q = N(mean, diag exp(log_scale)^2) by the rule, [rows], and its gradients in
    mean and log_scale, [rows, k] each. log_joint(z [nodes, rows, k]) -> (log p(x|z) + log p(z) [nodes, rows],
    its gradient in z [nodes, rows, k]), row r of z paired with row r of the data."""
    t = rule.points[:, None, :]
    scale = np.exp(log_scale)
    values, gradients = log_joint(mean[None] + scale[None] * t)
    weights = rule.weights[:, None]
    elbo = np.sum(weights * np.asarray(values, float), axis=0) + entropy(log_scale)
    weighted = rule.weights[:, None, None] * np.asarray(gradients, float)
    return elbo, weighted.sum(axis=0), np.sum(weighted * t, axis=0) * scale + 1.0


def fit(log_joint, mean, log_scale, rule, max_steps=MAX_STEPS):
    """L-BFGS from (mean, log_scale) [rows, k] on the sum of the rows' ELBOs (each row's parameters touch only
    its own term), until a step gains less than STEP_GAIN nats per row on average (or after max_steps):
    returns (mean, log_scale, elbo [rows], steps taken)."""
    from scipy.optimize import minimize
    shape = mean.shape

    def negative(theta):
        mean_, log_scale_ = theta.reshape(2, *shape)
        elbo, grad_mean, grad_log_scale = elbo_and_gradient(log_joint, mean_, log_scale_, rule)
        return -elbo.sum(), -np.concatenate([grad_mean.ravel(), grad_log_scale.ravel()])

    start = np.concatenate([np.asarray(mean, float).ravel(), np.clip(log_scale, *LOG_SCALE_BOUNDS).ravel()])
    bounds = [(None, None)] * mean.size + [LOG_SCALE_BOUNDS] * mean.size
    # scipy stops on a gain relative to |sum of ELBOs|; this one is STEP_GAIN nats per row whatever that sum
    relative = STEP_GAIN * shape[0] / max(abs(negative(start)[0]), 1.0)
    result = minimize(negative, start, jac=True, method="L-BFGS-B", bounds=bounds,
                      options={"maxiter": max_steps, "ftol": relative, "gtol": 1e-4})
    fitted_mean, fitted_log_scale = result.x.reshape(2, *shape)
    return fitted_mean, fitted_log_scale, elbo_and_gradient(log_joint, fitted_mean, fitted_log_scale, rule)[0], \
        int(result.nit)


def mode_start(log_joint, rows, latent_dim):
    """A start near each row's highest posterior mode: the best point of log p(x, z) on a grid of
    MODE_AXIS_POINTS per axis within MODE_REACH prior scales (k <= 2), at the grid's step as its scale;
    (mean, log_scale) [rows, k]."""
    axis = np.linspace(-MODE_REACH, MODE_REACH, MODE_AXIS_POINTS)
    grid = np.stack([g.ravel() for g in np.meshgrid(*[axis] * latent_dim, indexing="ij")], axis=-1)
    values = np.asarray(log_joint(np.broadcast_to(grid[:, None, :], (len(grid), rows, latent_dim)))[0])
    return grid[np.argmax(values, axis=0)], np.full((rows, latent_dim), math.log(axis[1] - axis[0]))


def best_diagonal_gaussians(log_joint, starts, rule, max_steps=MAX_STEPS):
    """The best diagonal Gaussian of each row found by one L-BFGS fit from the row's best start (of `starts`,
    a list of (mean, log_scale), [rows, k] each, by their ELBOs). A row whose fit ends below that start keeps
    the start, so the result is never worse than any start. Returns a dict: "elbo" [rows] with the chosen
    "mean" and "log_scale" [rows, k], "start_elbo" (the first start's ELBO by the same rule), "kept_start"
    (rows whose fit did not beat their start) and "steps" (the fit's L-BFGS iterations)."""
    means, log_scales = (np.stack([np.asarray(start[i], float) for start in starts]) for i in (0, 1))
    elbos = np.stack([elbo_and_gradient(log_joint, mean, log_scale, rule)[0]
                      for mean, log_scale in zip(means, log_scales)])
    best, row = np.argmax(elbos, axis=0), np.arange(elbos.shape[1])
    start = means[best, row], log_scales[best, row], elbos[best, row]
    fitted = fit(log_joint, start[0], start[1], rule, max_steps)
    kept = fitted[2] <= start[2]
    chosen = [np.where(np.reshape(kept, (-1,) + (1,) * (old.ndim - 1)), old, new) for old, new in zip(start, fitted[:3])]
    return {"mean": chosen[0], "log_scale": chosen[1], "elbo": chosen[2], "start_elbo": elbos[0],
            "kept_start": int(np.sum(kept)), "steps": fitted[3]}


def diagonal_shortfall(precision):
    """min over diagonal Gaussians q of KL(q || N(m, precision^-1)) = 1/2 (sum log diag P - log det P): the
    approximation gap of a diagonal Gaussian family on a Gaussian posterior of precision P (its best member
    has P's mean and variances 1 / P_jj)."""
    precision = np.asarray(precision, float)
    return 0.5 * (np.sum(np.log(np.diag(precision))) - np.linalg.slogdet(precision)[1])
