"""The map g of each non-linear family, as its parameters in units of the map's own scale (sample_family in
families.py rescales every data dimension into data units and adds the noise).

    g(z) = offset + A z + B sin(Omega z + phi) + C q(z) + H tanh(Gamma z) + R roll(Rho z + rho)

with q(z) the quadratic monomials of z and roll(u) = (u_1 cos u_1, u_1 sin u_1, u_2 cos u_2, ...). Every
loading matrix (A, B, C, H, R) is a fixed random lift of the family's few features into the D data
dimensions, so a large --dim gives the same map seen through many noisy coordinates. Pure numpy.

  sine        a smooth wave over a plane
  sheet       a curved, quadratic sheet
  mixture     two clusters in latent space pushed through a linear map
  periodic    sin and cos of 2 z_j with a weak linear part: z and z + pi land on nearly the same x
  saturating  tanh(2 z) with a weak linear part: the tails beyond |z| ~ 1.5 fold onto nearly the same x
  roll        z1 rolled into 1.5 turns of a spiral (a swiss roll with z2 as its height)
  fold        the quadratic monomials with a weak linear part: z and -z land on nearly the same x
"""
import numpy as np

NONLINEAR_FAMILIES = ("sine", "sheet", "mixture", "periodic", "saturating", "roll", "fold")
LOADING_SCALE = 0.8  # standard deviation of the random loadings of a family's main features
WEAK_LINEAR = 0.15  # of the folding maps' linear part (the others': 0.8): the truth stays identifiable, barely
PERIODIC_FREQUENCY = 2.0  # k in sin(k z), cos(k z)
SATURATION = 2.0  # the scale inside tanh
FOLD_CURVATURE = 0.3  # of the fold's quadratic loadings (as the sheet's): steeper maps need far finer grids
ROLL_CENTRE, ROLL_RATE = 3.0 * np.pi, 0.5 * np.pi  # u = 3 pi + z1 pi / 2: from 1.5 pi to 4.5 pi within 3 scales


def unit_map(family, dim, k, rng):
    """The parameters of the family's g (before rescaling to data units) for a k-dimensional latent in
    `dim` data dimensions, drawn from rng; the prior is a mixture given by prior_weights, _means, _scales."""
    if family not in NONLINEAR_FAMILIES:
        raise ValueError(f"family '{family}': expected one of {', '.join(NONLINEAR_FAMILIES)}")
    waves = 2 * k
    unit = {"A": LOADING_SCALE * rng.standard_normal((dim, k)), "B": np.zeros((dim, 0)), "Omega": np.zeros((0, k)),
            "phi": np.zeros(0), "C": np.zeros((dim, 0)), "H": np.zeros((dim, 0)), "Gamma": np.zeros((0, k)),
            "R": np.zeros((dim, 0)), "Rho": np.zeros((0, k)), "rho": np.zeros(0), "prior_weights": [1.0],
            "prior_means": [[0.0] * k], "prior_scales": [1.0]}
    weak = WEAK_LINEAR / LOADING_SCALE
    if family == "sine":
        unit.update(B=0.5 * rng.standard_normal((dim, waves)), Omega=rng.standard_normal((waves, k)),
                    phi=rng.uniform(0, 2 * np.pi, waves))
    elif family == "sheet":
        unit["C"] = 0.3 * rng.standard_normal((dim, k * (k + 1) // 2))
    elif family == "mixture":
        centre = rng.standard_normal(k)
        centre *= 1.3 / np.linalg.norm(centre)
        unit.update(prior_weights=[0.5, 0.5], prior_means=[centre.tolist(), (-centre).tolist()],
                    prior_scales=[0.55, 0.55])
    elif family == "periodic":  # rows of Omega: k e_1 twice (sine, then cosine by phi = pi / 2), k e_2 twice
        unit.update(A=weak * unit["A"], B=LOADING_SCALE * rng.standard_normal((dim, waves)),
                    Omega=PERIODIC_FREQUENCY * np.repeat(np.eye(k), 2, axis=0), phi=np.tile([0.0, np.pi / 2], k))
    elif family == "saturating":
        unit.update(A=weak * unit["A"], H=LOADING_SCALE * rng.standard_normal((dim, k)), Gamma=SATURATION * np.eye(k))
    elif family == "roll":  # z1 only through the spiral, z2 (if any) as the roll's height; u ~ 3 pi scaled to 1
        unit.update(A=unit["A"] * (np.arange(k) > 0), R=LOADING_SCALE / ROLL_CENTRE * rng.standard_normal((dim, 2)),
                    Rho=ROLL_RATE * np.eye(1, k), rho=np.array([ROLL_CENTRE]))
    else:  # fold
        unit.update(A=weak * unit["A"], C=FOLD_CURVATURE * rng.standard_normal((dim, k * (k + 1) // 2)))
    return unit
