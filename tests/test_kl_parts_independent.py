"""The KL decomposition checked against numbers computed apart from it: the total against the KL of each
draw from scipy's densities, the parts of a Gaussian aggregate posterior with a different scale per
dimension against their closed forms, and the standard error against the spread of the estimate over seeds.
(That the parts sum to kl_monte_carlo is how the code defines kl_monte_carlo; it is no test of either.)"""
import numpy as np
import pytest
from scipy import stats

from betavae.scoring.kl_decomposition import PARTS, kl_decomposition


def test_the_total_is_the_mean_kl_of_the_draws_from_scipys_densities():
    rng = np.random.default_rng([11, 99])
    means, log_scales = rng.standard_normal((80, 3)) * [0.5, 1.0, 2.0], rng.uniform(-2.0, 0.5, (80, 3))
    result = kl_decomposition(means, log_scales, seed=7, samples_per_row=2)
    z = means + np.exp(log_scales) * np.random.default_rng(7).standard_normal((2, 80, 3))  # the same draws
    per_draw = (stats.norm.logpdf(z, means, np.exp(log_scales)) - stats.norm.logpdf(z)).sum(axis=2)
    assert result["kl_monte_carlo"] == pytest.approx(per_draw.mean(), rel=1e-9)
    assert sum(result[name] for name in PARTS) == pytest.approx(per_draw.mean(), rel=1e-9)


def test_a_gaussian_aggregate_posterior_with_unequal_scales_gives_the_closed_form_parts():
    """Means ~ N(0, M) and scales s_j per dimension: q(z) tends to N(0, S), S = M + diag(s^2), as rows grow
    (M here the means' own covariance, which the mixture of these rows has), so I_q = 1/2 log det S -
    sum_j log s_j, TC = 1/2 sum_j log S_jj - 1/2 log det S, and the dimension-wise KL is
    sum_j KL(N(0, S_jj) || N(0, 1))."""
    rows, scales = 3000, np.array([0.3, 0.6, 1.2])
    mixing = np.array([[1.0, 0.0, 0.0], [0.7, 0.5, 0.0], [-0.4, 0.3, 1.5]])
    means = np.random.default_rng(3).standard_normal((rows, 3)) @ mixing.T
    result = kl_decomposition(means, np.tile(np.log(scales), (rows, 1)), seed=5)
    aggregate = np.cov(means.T, bias=True) + np.diag(scales ** 2)
    variances, log_det = np.diag(aggregate), np.linalg.slogdet(aggregate)[1]
    expected = {"index_code_mi": 0.5 * log_det - np.log(scales).sum(),
                "total_correlation": 0.5 * np.log(variances).sum() - 0.5 * log_det,
                "dimension_wise_kl": np.sum(0.5 * (variances - 1 - np.log(variances)))}
    for name, value in expected.items():
        assert result[name] == pytest.approx(value, abs=0.02 + 2 * result["standard_errors"][name]), name
    assert expected["total_correlation"] > 0.2 and expected["dimension_wise_kl"] > 0.5  # not near zero


def test_the_standard_error_of_the_total_is_its_spread_over_seeds():
    """The per-row Monte Carlo KL minus the closed form is independent across rows (the mixture cancels from
    the total), so its standard error is exact: 200 seeds' estimates spread as much (within 20%)."""
    rng = np.random.default_rng([12, 99])
    means, log_scales = rng.standard_normal((100, 2)), rng.uniform(-2.5, 1.0, (100, 2))
    runs = [kl_decomposition(means, log_scales, seed=seed, samples_per_row=3) for seed in range(200)]
    spread = np.std([run["kl_monte_carlo"] - run["kl_analytic"] for run in runs], ddof=1)
    reported = np.mean([run["standard_errors"]["kl_monte_carlo_minus_analytic"] for run in runs])
    assert reported == pytest.approx(spread, rel=0.2)
