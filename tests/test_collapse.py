"""The linear optimum's per-unit collapse betas: exact for the largest unit, bisected for the others, and
consistent with the optimum's own KL on either side."""
import numpy as np
import pytest

from betavae.scoring.references import collapse_beta, factor_analysis, linear_beta_optimum, unit_collapse_betas


def test_collapse_betas_split_the_optimum_into_active_and_collapsed_units():
    rng = np.random.default_rng(2)
    loadings = np.column_stack([rng.normal(0, 2.0, 8), rng.normal(0, 1.0, 8)])
    covariance = loadings @ loadings.T + np.diag(rng.uniform(0.3, 1.0, 8))
    grid = np.geomspace(1.0, 2 * collapse_beta(covariance), 25)
    thresholds = unit_collapse_betas(covariance, 2, grid)
    assert thresholds[0] == collapse_beta(covariance)  # exact, not a grid point
    assert thresholds[1] is not None and 1.0 < thresholds[1] < thresholds[0]
    assert not any(np.isclose(thresholds[1], grid, rtol=1e-6))
    fa_psi = factor_analysis(covariance, 2)[1]
    for unit, beta in enumerate(thresholds):
        kl = [sorted(linear_beta_optimum(np.zeros(8), covariance, beta * factor, 2, fa_psi=fa_psi)["kl_per_dim"],
                     reverse=True)[unit] for factor in (0.98, 1.02)]
        assert kl[0] > 1e-4 and kl[1] == pytest.approx(0.0, abs=1e-6)  # active just below, collapsed above
