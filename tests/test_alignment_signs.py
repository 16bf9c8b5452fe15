"""Signs: a latent unit may point against the factor it reads (a decoder direction opposite its loading, a code
anti-correlated with its factor); every comparison up to sign must score it as one pointing along it."""
import math

import numpy as np
import pytest

from betavae.scoring import alignment
from betavae.scoring.exact_mig import bivariate_cdf, gaussian_references


def test_a_direction_opposite_its_loading_aligns_fully():
    loadings = np.random.default_rng(0).standard_normal((6, 2))
    directions = loadings[:, [1, 0]] * [-2.0, 0.5]  # unit 0 reads loading 1 backwards, unit 1 loading 0
    np.testing.assert_allclose(alignment.direction_alignment(directions, loadings), [1.0, 1.0], atol=1e-12)
    result = alignment.alignment(-loadings, [True, True], np.linspace(0.5, 3.0, 6), true_loadings=loadings)
    assert result["per_unit_to_truth"] == pytest.approx([1.0, 1.0], abs=1e-12)


def test_the_cosine_is_taken_in_standardised_units():
    """In standardised units the loadings are the axes and the direction (-1, -1): |cosine| 1/sqrt(2) with
    either. In data units (scale 1 and 3) the same vectors would give 3/sqrt(10) against the second."""
    scale = np.array([1.0, 3.0])
    loadings = np.diag(scale)  # the standardised axes, in data units
    direction = -scale[:, None]  # (-1, -1) standardised
    result = alignment.alignment(direction, [True], scale, optimum_loadings=loadings)
    assert result["per_unit_to_optimum"] == pytest.approx([1 / math.sqrt(2)], abs=1e-12)


def test_a_negatively_correlated_code_keeps_its_sign_and_its_information():
    edges = [np.linspace(-4, 4, 21)] * 3
    results = {}
    for rho in (0.6, -0.6):
        covariance = np.array([[1.0, 0.0, rho], [0.0, 1.0, 0.0], [rho, 0.0, 1.0]])  # code 0 reads the factor
        results[rho] = gaussian_references(np.zeros(3), covariance, 2, edges)
    assert results[-0.6]["correlation"][0][0] == pytest.approx(-0.6, abs=1e-12)
    assert results[-0.6]["information_continuous"][0][0] == pytest.approx(-0.5 * math.log(1 - 0.36), abs=1e-12)
    # symmetric edges: the flipped code's binned information equals the unflipped one's
    np.testing.assert_allclose(results[-0.6]["information_discretised"], results[0.6]["information_discretised"],
                               atol=1e-12)


def test_a_code_that_is_the_factor_negated_carries_its_whole_entropy():
    """Correlation -1: P(U <= h, -U <= k) = P(-k <= U <= h), so each of the code's bins is one of the
    factor's and their mutual information is the factor's discretised entropy."""
    from scipy.stats import norm
    h, k = np.array([-1.0, 0.3, 2.0]), np.array([1.5, 0.3, -0.5])
    np.testing.assert_allclose(bivariate_cdf(h, k, -1.0), np.maximum(norm.cdf(h) - norm.cdf(-k), 0.0), atol=1e-15)
    edges = [np.linspace(-4, 4, 21)] * 3
    covariance = np.array([[1.0, 0.0, -1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 1.0]])
    result = gaussian_references(np.zeros(3), covariance, 2, edges)
    assert result["information_discretised"][0][0] == pytest.approx(result["factor_entropy"][0], abs=1e-12)
    assert result["mig_discretised"] == pytest.approx(1.0, abs=1e-12)
