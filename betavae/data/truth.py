"""The truth of generated data as one object: the parameters `data_processing.py generate` writes to
<stem>.truth.json, parsed and checked once. Pure numpy.

    x = g(z) + e,  g(z) = offset + A z + B sin(Omega z + phi) + C q(z) + H tanh(Gamma z) + R roll(Rho z + rho),
    e ~ N(0, diag psi),  z ~ sum_c w_c N(m_c, s_c^2 I)   (see families.py)

A linear file holds mean, covariance, W and psi (x = mean + W z + e, z ~ N(0, I)): its offset is the mean and
its A is W. A file without "family" is linear (the shipped one predates the key). Terms a file does not hold
(B to rho: all of them for a linear truth, H and R for files older than those terms) have no columns, and a
missing prior is N(0, I). The other keys (seed, rows, dim, factors, correlation_eigenvalues, command) say how
the data were made and are not read.
"""
import dataclasses
import json
import re
from typing import Optional

import numpy as np

from betavae.data.family_maps import NONLINEAR_FAMILIES
from betavae.files import atomic_write_text
from betavae.words import counted

LINEAR = "linear"
# Each array's shape in named sizes (D data dimensions, k latent ones, m waves, q quadratic terms, h tanh
# units, r roll angles, c prior components), in the order they are read: a size is fixed where it first
# appears. "2r": twice r (roll(u) has a cos and a sin column per angle).
SHAPES = {"mean": ("D",), "psi": ("D",), "covariance": ("D", "D"), "offset": ("D",), "A": ("D", "k"),
          "Omega": ("m", "k"), "phi": ("m",), "B": ("D", "m"), "C": ("D", "q"), "Gamma": ("h", "k"),
          "H": ("D", "h"), "Rho": ("r", "k"), "rho": ("r",), "R": ("D", "2r"), "prior_weights": ("c",),
          "prior_means": ("c", "k"), "prior_scales": ("c",)}
POSITIVE = ("psi", "prior_weights", "prior_scales")
SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclasses.dataclass(frozen=True, eq=False)  # its arrays have no single truth value, so no ==
class Truth:
    """The true distribution of a generated dataset (see the module docstring), as float arrays in the data's
    units. mean, covariance: the exact moments of x (None only inside families.sample_family, which computes
    them from the rest). data_sha256: the SHA-256 of the data file written with it (None in older files)."""
    family: str
    mean: Optional[np.ndarray]
    psi: np.ndarray
    covariance: Optional[np.ndarray]
    offset: np.ndarray
    A: np.ndarray
    Omega: np.ndarray
    phi: np.ndarray
    B: np.ndarray
    C: np.ndarray
    Gamma: np.ndarray
    H: np.ndarray
    Rho: np.ndarray
    rho: np.ndarray
    R: np.ndarray
    prior_weights: np.ndarray
    prior_means: np.ndarray
    prior_scales: np.ndarray
    data_sha256: Optional[str] = None

    @property
    def linear(self):
        """Whether this is the linear Gaussian factor model, whose density and references are closed-form."""
        return self.family == LINEAR

    @property
    def W(self):
        """The loadings of a linear truth (x = mean + W z + e); None for the non-linear families."""
        return self.A if self.linear else None

    @property
    def latent_dim(self):
        return self.A.shape[1]

    @classmethod
    def from_json(cls, raw, dim=None, moments=True):
        """The Truth a parsed truth JSON describes, for data of dim columns (None: any). Raises ValueError
        naming the first key that is missing or of the wrong type or shape. moments=False: mean and
        covariance may be absent (the truth of families.sample_family before it computes them)."""
        if not isinstance(raw, dict):
            raise ValueError(f"expected a JSON object, got {type(raw).__name__}")
        family = raw.get("family", LINEAR)
        if family not in (LINEAR,) + NONLINEAR_FAMILIES:
            raise ValueError(f"family {family!r} is none of {', '.join((LINEAR,) + NONLINEAR_FAMILIES)}")
        sha = raw.get("data_sha256")
        if sha is not None and not (isinstance(sha, str) and SHA256.fullmatch(sha)):
            raise ValueError(f"data_sha256 {str(sha)[:70]!r} is not a SHA-256 (64 lowercase hex digits)")
        sources = {name: name for name in SHAPES}
        sources.update(offset="offset" if "offset" in raw else "mean", A="A" if "A" in raw else "W")
        required = {"psi", "offset", "A"} | ({"mean", "covariance"} if moments else set())
        sizes = {} if dim is None else {"D": dim}
        arrays = {}
        for name, shape in SHAPES.items():
            key = sources[name]
            if key not in raw and name in required:
                raise ValueError(f"{key} is missing")
            if key in raw:
                arrays[name] = _array(raw[key], key, shape, sizes)
            elif name.startswith("prior_"):
                arrays[name] = _array(_standard_prior(name, sizes), key, shape, sizes)
            else:
                arrays[name] = None if name in ("mean", "covariance") else np.zeros(_expected(shape, sizes, 0))
            sizes.update(_bound(shape, arrays[name]))
        if family != LINEAR and sizes["k"] > 2:  # the exact density is a quadrature over z
            raise ValueError(f"A has {counted(sizes['k'], 'column')}; a non-linear family's latent has 1 or 2 "
                             "dimensions")
        if arrays["C"].shape[1] not in (0, sizes["k"] * (sizes["k"] + 1) // 2):
            raise ValueError(f"C has {counted(arrays['C'].shape[1], 'column')}, expected 0 or "
                             f"{sizes['k'] * (sizes['k'] + 1) // 2}"
                             f" (the quadratic terms of a {sizes['k']}-D latent)")
        if abs(arrays["prior_weights"].sum() - 1.0) > 1e-6:
            raise ValueError(f"prior_weights sum to {arrays['prior_weights'].sum():g}, expected 1")
        return cls(family=family, data_sha256=sha, **arrays)


def write_truth(path, truth, dim=None):
    """Write a truth (a dict: the parameters, each an array or a list, and the keys that say how the data were
    made) as the truth JSON at path, atomically: the one writer of these files, beside their parser, which
    checks the parameters first (Truth.from_json; dim: the data's columns), so no file is written that it
    would refuse."""
    Truth.from_json(json.loads(json.dumps(truth, default=_listed)), dim)
    atomic_write_text(path, json.dumps(truth, indent=1, default=_listed) + "\n")


def _listed(value):
    """A numpy array or number as JSON holds it (a list or a Python number)."""
    if isinstance(value, (np.ndarray, np.generic)):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _standard_prior(name, sizes):
    """The N(0, I) prior of a file that records none (the linear family's)."""
    return {"prior_weights": [1.0], "prior_means": np.zeros((1, sizes["k"])), "prior_scales": [1.0]}[name]


def _array(value, key, shape, sizes):
    """value as a finite float array of the named shape, whose sizes must agree with those already fixed."""
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{key} is not an array of numbers") from None
    expected = _expected(shape, sizes)
    if array.size == 0 and array.ndim < len(shape):  # JSON writes an empty [0, k] matrix as []
        array = array.reshape(_expected(shape, sizes, 0))
    named = [str(size) if size is not None else name for size, name in zip(expected, shape)]
    if array.ndim != len(shape) or any(size not in (None, got) for size, got in zip(expected, array.shape)):
        raise ValueError(f"{key} has shape {list(array.shape)}, expected [{', '.join(named)}]"
                         + (f" ({sizes['D']}-D data)" if sizes.get("D") is not None else ""))
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{key} holds a value that is not finite")
    if key in POSITIVE and np.any(array <= 0):
        raise ValueError(f"{key} holds a value that is not positive")
    return array


def _expected(shape, sizes, unknown=None):
    """The sizes of a named shape fixed so far, `unknown` for the others."""
    sizes = {**sizes, "2r": 2 * sizes["r"] if "r" in sizes else None}
    return [unknown if sizes.get(name) is None else sizes[name] for name in shape]


def _bound(shape, array):
    """The sizes an array of this named shape fixes (None when it was absent)."""
    if array is None:
        return {}
    return {name: size for name, size in zip(shape, array.shape) if name != "2r"}
