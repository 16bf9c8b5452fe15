"""Generated data with a known truth: the linear Gaussian factor model, and non-linear families x = g(z) + e
with a 1-D or 2-D latent z whose exact -log p(x) is computed by quadrature.

    g(z) = offset + A z + B sin(Omega z + phi) + C q(z) + H tanh(Gamma z) + R roll(Rho z + rho),
    e ~ N(0, diag psi),   z ~ sum_c w_c N(m_c, s_c^2 I),

q(z) being the quadratic monomials of z (z1^2, z1 z2, z2^2) and roll(u) = (u_1 cos u_1, u_1 sin u_1, ...).
Each family (family_maps.py) sets some parts to zero. The truth JSON holds every parameter, so the density
can be recomputed from it alone; the functions below take it parsed, as a truth.Truth. Pure numpy.
"""
import numpy as np

from betavae.data.family_maps import NONLINEAR_FAMILIES, unit_map
from betavae.data.truth import Truth
from betavae.grid_quadrature import LOG_2PI, PRIOR_REACH, grid_step, log_density_on_grid, product_grid, tensor_grid
from betavae.words import counted

# Default correlation eigenvalues of generated data: 0.7 D, then each factor 0.23 times the one before
# (7 and 1.6 for the shipped 10-D, 2-factor data), so that on the shipped data beta = 1 and 2 keep both
# latent dimensions, beta = 4 keeps one and beta above about 7 none (see README.md, "What beta does").
DEFAULT_TOP_EIGENVALUE = 0.7
DEFAULT_EIGENVALUE_RATIO = 0.23
AXIS_ONLY_STEPS = 200  # see factor_model
EIGENVALUE_TOLERANCE = 5e-3  # generated correlation eigenvalues are within 0.5% of those asked for
CELLS_PER_POSTERIOR_SCALE = 1.0  # grid points per posterior standard deviation (see `grid_spacing`)


def quadratic_terms(z):
    """The monomials z_i z_j (i <= j) of each row of z [n, k], as [n, k (k + 1) / 2]."""
    k = z.shape[-1]
    return np.stack([z[:, i] * z[:, j] for i in range(k) for j in range(i, k)], axis=-1)


def roll_terms(u):
    """The spiral features (u_1 cos u_1, u_1 sin u_1, u_2 cos u_2, ...) of u [n, m], as [n, 2 m]."""
    return np.stack([u * np.cos(u), u * np.sin(u)], axis=-1).reshape(len(u), -1)


def decoder_mean(z, truth):
    """g(z) for latent rows z [n, k]: the noise-free data point of each latent coordinate, [n, D]."""
    curved = quadratic_terms(z) @ truth.C.T if truth.C.shape[1] else 0.0
    rolled = roll_terms(z @ truth.Rho.T + truth.rho) @ truth.R.T if truth.R.shape[1] else 0.0
    return (truth.offset + z @ truth.A.T + np.sin(z @ truth.Omega.T + truth.phi) @ truth.B.T + curved
            + np.tanh(z @ truth.Gamma.T) @ truth.H.T + rolled)


def decoder_jacobian(z, truth):
    """dg/dz at latent rows z [n, k], as [n, D, k] (analytic)."""
    k = z.shape[1]
    waves = np.cos(z @ truth.Omega.T + truth.phi)
    jacobian = truth.A[None] + np.einsum("dm,nm,mk->ndk", truth.B, waves, truth.Omega)
    jacobian += np.einsum("dm,nm,mk->ndk", truth.H, 1.0 - np.tanh(z @ truth.Gamma.T) ** 2, truth.Gamma)
    u = z @ truth.Rho.T + truth.rho  # d(u cos u)/du = cos u - u sin u, d(u sin u)/du = sin u + u cos u
    for columns, slope in ((truth.R[:, 0::2], np.cos(u) - u * np.sin(u)),
                           (truth.R[:, 1::2], np.sin(u) + u * np.cos(u))):
        jacobian += np.einsum("dm,nm,mk->ndk", columns, slope, truth.Rho)
    if truth.C.shape[1]:
        pairs = [(i, j) for i in range(k) for j in range(i, k)]
        for column, (i, j) in enumerate(pairs):  # d(z_i z_j)/dz_l = [l = i] z_j + [l = j] z_i
            jacobian[:, :, i] += truth.C[None, :, column] * z[:, j, None]
            jacobian[:, :, j] += truth.C[None, :, column] * z[:, i, None]
    return jacobian


def _prior_components(z, truth):
    """log (w_c N(z; m_c, s_c^2 I)) of each prior component c at latent rows z [n, k], as [n, c]."""
    k = z.shape[1]
    squared = np.sum((z[:, None, :] - truth.prior_means[None]) ** 2, axis=-1) / truth.prior_scales ** 2
    log_normaliser = k * (LOG_2PI + 2.0 * np.log(truth.prior_scales))
    return np.log(truth.prior_weights) - 0.5 * (squared + log_normaliser)


def log_prior(z, truth):
    """log p(z) of the Gaussian-mixture prior at latent rows z [n, k]."""
    return np.logaddexp.reduce(_prior_components(z, truth), axis=1)


def log_joint(x, z, truth):
    """log p(x|z) + log p(z) under the truth and its gradient in z, for z [..., rows, k] paired row by row with
    x [rows, D]: ([..., rows], [..., rows, k]). The gradient is analytic: J(z)' (x - g(z)) / psi from the
    likelihood, sum_c r_c(z) (m_c - z) / s_c^2 from the prior (r_c: the components' responsibilities)."""
    shape, k = z.shape[:-1], z.shape[-1]
    flat = np.reshape(z, (-1, k))
    residual = np.reshape(np.broadcast_to(x, (*shape, x.shape[-1])), (len(flat), -1)) - decoder_mean(flat, truth)
    log_likelihood = -0.5 * np.sum(residual ** 2 / truth.psi + LOG_2PI + np.log(truth.psi), axis=1)
    components = _prior_components(flat, truth)
    prior = np.logaddexp.reduce(components, axis=1)
    responsibilities = np.exp(components - prior[:, None])
    towards_means = (truth.prior_means[None] - flat[:, None, :]) / truth.prior_scales[None, :, None] ** 2
    gradient = (np.einsum("nd,ndk->nk", residual / truth.psi, decoder_jacobian(flat, truth))
                + np.einsum("nc,nck->nk", responsibilities, towards_means))
    return np.reshape(log_likelihood + prior, shape), np.reshape(gradient, z.shape)


def grid_spacing(truth):
    """The latent grid step of `log_density`: grid_quadrature.grid_step of the true map's Jacobian within 3
    prior scales (wider out rows are rare and their posteriors barely narrower), one point per posterior
    standard deviation (tests/test_data_families.py checks it against a finer grid and Monte Carlo). The step
    follows the map through J: a periodic map of frequency k gets a step about k times finer (tested up to
    k = 12)."""
    points = _latent_axes(truth, 41, reach=3.0)
    return grid_step(decoder_jacobian(points, truth), 1.0 / truth.psi, 1.0 / np.min(truth.prior_scales) ** 2,
                     CELLS_PER_POSTERIOR_SCALE)


def _latent_axes(truth, count=None, spacing=None, reach=PRIOR_REACH):
    """A tensor grid [points, k] over `reach` prior scales: `count` points per axis, or a given spacing."""
    low = np.min(truth.prior_means - reach * truth.prior_scales[:, None], axis=0)
    high = np.max(truth.prior_means + reach * truth.prior_scales[:, None], axis=0)
    if spacing:
        return tensor_grid(low, high, spacing)
    return product_grid([np.linspace(lo, hi, count) for lo, hi in zip(low, high)])


def log_density(x, truth, spacing=None):
    """log p(x) of rows x [n, D] under the truth, integrating p(x|z) p(z) over z by the trapezoid rule on a
    tensor grid (spacing: default `grid_spacing`); exact to round-off for a 1-D or 2-D latent."""
    if truth.latent_dim > 2:
        raise ValueError(f"latent dimension {truth.latent_dim}: quadrature is for 1 or 2 latent dimensions")
    spacing = spacing or grid_spacing(truth)
    grid = _latent_axes(truth, spacing=spacing)
    log_weights = log_prior(grid, truth) + grid.shape[1] * np.log(spacing)
    return log_density_on_grid(x, decoder_mean(grid, truth), truth.psi, log_weights)


def exact_moments(truth):
    """Mean and covariance of x under the truth, by the same quadrature over the prior."""
    spacing = grid_spacing(truth)
    grid = _latent_axes(truth, spacing=spacing)
    weights = np.exp(log_prior(grid, truth)) * spacing ** grid.shape[1]
    weights /= weights.sum()
    means = decoder_mean(grid, truth)
    mean = weights @ means
    return mean, (means - mean).T @ ((means - mean) * weights[:, None]) + np.diag(truth.psi)


def sample_family(family, dim, factors, rows, seed):
    """Rows of a non-linear family: (float32 data [rows, D], true latents z [rows, k], the truth JSON's dict:
    every parameter in the data's units, plus the exact mean and covariance of x as "mean" and "covariance")."""
    if family not in NONLINEAR_FAMILIES:
        raise ValueError(f"family '{family}': expected one of {', '.join(NONLINEAR_FAMILIES)}")
    if factors not in (1, 2):
        raise ValueError(f"family {family} has a 1-D or 2-D latent: --factors must be 1 or 2, got {factors}")
    rng = np.random.default_rng([seed, 7])
    k = factors
    unit = unit_map(family, dim, k, rng)
    noise_variance = rng.uniform(0.2, 0.5, size=dim)  # in units of the map's scale, before rescaling
    scales, offset = rng.uniform(0.5, 3.0, size=dim), rng.uniform(-5.0, 5.0, size=dim)
    truth = {"family": family, "offset": offset.tolist(), "psi": (noise_variance * scales ** 2).tolist(),
             **{name: (scales[:, None] * unit[name]).tolist() for name in ("A", "B", "C", "H", "R")},
             **{name: np.asarray(unit[name]).tolist() for name in ("Omega", "phi", "Gamma", "Rho", "rho",
                                                                  "prior_weights", "prior_means", "prior_scales")}}
    law = Truth.from_json(truth, moments=False)  # the map and prior, whose moments follow from them
    component = rng.choice(len(law.prior_weights), size=rows, p=law.prior_weights)
    z = law.prior_means[component] + law.prior_scales[component, None] * rng.standard_normal((rows, k))
    data = decoder_mean(z, law) + rng.standard_normal((rows, dim)) * np.sqrt(law.psi)
    mean, covariance = exact_moments(law)
    truth.update(mean=mean.tolist(), covariance=covariance.tolist(), seed=seed, rows=rows, dim=dim,
                 factors=factors)
    return data.astype(np.float32), z, truth


def check_eigenvalues(eigenvalues, dim, factors):
    """Refuse correlation eigenvalues that factor_model cannot produce, saying what it can: one per factor,
    positive, descending, each above the mean of the other eigenvalues, summing to less than D but to more
    than D - (D - factors) / 1.4 (the noise variances, spread +-40% around that mean, must stay below 1)."""
    eigenvalues = np.asarray(eigenvalues, dtype=float)
    low = dim - (dim - factors) / 1.4
    if len(eigenvalues) != factors:
        raise ValueError(f"--eigenvalues: need one value per factor ({factors}), got {len(eigenvalues)}")
    if np.any(eigenvalues <= 0) or not np.all(np.isfinite(eigenvalues)) or np.any(np.diff(eigenvalues) > 0):
        raise ValueError(f"--eigenvalues {eigenvalues.tolist()}: need positive values in descending order")
    noise_mean = (dim - eigenvalues.sum()) / (dim - factors)
    if eigenvalues[-1] <= noise_mean:
        raise ValueError(f"--eigenvalues {eigenvalues.tolist()}: the smallest must exceed the mean of the other "
                       f"{counted(dim - factors, 'eigenvalue')}, (D - sum) / (D - factors) = {noise_mean:.3f}")
    if not low < eigenvalues.sum() < dim:
        raise ValueError(f"--eigenvalues {eigenvalues.tolist()} sum to {eigenvalues.sum():g}; achievable for "
                       f"--dim {dim} and --factors {factors}: a sum between {low:.3f} and {dim}")
    return eigenvalues


def factor_model(dim, factors, eigenvalues, rng):
    """Loadings W and noise variances psi of a correlation matrix W W' + diag(psi) whose top eigenvalues
    are within EIGENVALUE_TOLERANCE of `eigenvalues` (unit variances), for data a `factors`-dimensional
    latent can represent exactly."""
    eigenvalues = check_eigenvalues(eigenvalues, dim, factors)
    noise_mean = (dim - eigenvalues.sum()) / (dim - factors)  # the mean of the other eigenvalues
    spread = rng.uniform(0.6, 1.4, size=dim)
    directions = rng.standard_normal((dim, factors))
    # Axis i is stretched towards the i-th eigenvalue. For close eigenvalues (4, 3.9) two axes can swap ranks,
    # and the stretching then runs away (one axis shrinks to nothing, the scales overflow); the search is then
    # repeated with the axes turned onto the loadings' principal axes at each step, which keeps their ranks.
    # The plain search goes first: it is how the shipped data were made.
    for principal_axes in (False, True):
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            loadings, psi, achieved = _fit_loadings(directions, spread, noise_mean, eigenvalues, principal_axes)
        if loadings is not None:
            break
    else:
        raise ValueError(f"--eigenvalues {eigenvalues.tolist()}: a {dim}-D correlation matrix with these noise "
                         f"levels reaches only {np.round(achieved, 3).tolist()}; try other values or another --seed")
    # Rotate the factors so that W'W is diagonal with descending entries (the PCA-like convention).
    _, vectors = np.linalg.eigh(loadings.T @ loadings)
    return loadings @ vectors[:, ::-1], psi


def _fit_loadings(directions, spread, noise_mean, eigenvalues, principal_axes):
    """The fixed point of factor_model: (loadings, psi, achieved), loadings None when it is not reached."""
    dim, factors = directions.shape
    rows, axis_scales = directions, np.ones(factors)
    # Stretch each latent axis until its eigenvalue matches; after AXIS_ONLY_STEPS steps the noise level
    # moves too, for spectra the axes alone cannot reach.
    for step in range(20 * AXIS_ONLY_STEPS):
        psi = np.minimum(noise_mean * spread, 1.0 - 1e-9)
        rows = rows * axis_scales if principal_axes else directions * axis_scales
        rows /= np.linalg.norm(rows, axis=1, keepdims=True)
        loadings = rows * np.sqrt(1.0 - psi)[:, None]
        if not np.all(np.isfinite(loadings)):  # the run-away: an axis scaled to 0 or to infinity
            break
        if principal_axes:
            turn = np.linalg.eigh(loadings.T @ loadings)[1][:, ::-1]
            rows, loadings, axis_scales = rows @ turn, loadings @ turn, np.ones(factors)
        achieved = np.linalg.eigvalsh(loadings @ loadings.T + np.diag(psi))[::-1][:factors]
        if step >= AXIS_ONLY_STEPS - 1 and np.allclose(achieved, eigenvalues, rtol=EIGENVALUE_TOLERANCE, atol=0):
            return loadings, psi, achieved
        axis_scales *= (eigenvalues / achieved) ** 0.25
        if step >= AXIS_ONLY_STEPS - 1:
            noise_mean *= ((dim - eigenvalues.sum()) / (dim - achieved.sum())) ** 0.5
    return None, None, achieved


def generate(dim, factors, rows, seed, eigenvalues=None, family="linear"):
    """Sample data of a family: "linear" is x = mu + W z + e, z ~ N(0, I), e ~ N(0, diag psi), with random
    means and scales; the others are sample_family's non-linear maps of a 1-D or 2-D z.

    Returns the float32 data and a dict of the true parameters (in the data's units); its "latents" entry
    holds the rows' true z, which the CLI saves beside the data rather than in the JSON."""
    if family != "linear":
        if eigenvalues is not None:
            raise ValueError(f"--eigenvalues sets the spectrum of the linear family, not of --family {family}")
        data, latents, truth = sample_family(family, dim, factors, rows, seed)
        return data, {**truth, "latents": latents}
    if eigenvalues is None:
        eigenvalues = DEFAULT_TOP_EIGENVALUE * dim * DEFAULT_EIGENVALUE_RATIO ** np.arange(factors)
    rng = np.random.default_rng(seed)
    loadings, psi = factor_model(dim, factors, eigenvalues, rng)
    scales = rng.uniform(0.5, 3.0, size=dim)
    mean = rng.uniform(-5.0, 5.0, size=dim)
    weights = loadings * scales[:, None]
    noise_variance = psi * scales ** 2
    z = rng.standard_normal((rows, factors))
    noise = rng.standard_normal((rows, dim)) * np.sqrt(noise_variance)
    data = (mean + z @ weights.T + noise).astype(np.float32)
    covariance = weights @ weights.T + np.diag(noise_variance)
    correlation_eigenvalues = np.sort(np.linalg.eigvalsh(loadings @ loadings.T + np.diag(psi)))[::-1]
    truth = {"family": "linear", "mean": mean.tolist(), "covariance": covariance.tolist(), "W": weights.tolist(),
             "psi": noise_variance.tolist(), "seed": seed, "rows": rows, "dim": dim, "factors": factors,
             "correlation_eigenvalues": correlation_eigenvalues.tolist(), "latents": z}
    return data, truth
