"""The KL decomposition over rows (betavae.scoring.kl_decomposition): the parts sum to the KL of the draws, and
known aggregate posteriors give their known mutual information, total correlation and dimension-wise KL."""
import numpy as np
import pytest
from scipy import special, stats

from betavae.scoring.kl_decomposition import PARTS, kl_decomposition


def posteriors(rows, dims, seed, low=-2.0, high=0.5):
    rng = np.random.default_rng([seed, 99])  # not the decomposition's noise seed
    return rng.standard_normal((rows, dims)) * rng.uniform(0.2, 2.0, dims), rng.uniform(low, high, (rows, dims))


def test_the_parts_sum_to_the_monte_carlo_kl_which_agrees_with_the_closed_form():
    means, log_scales = posteriors(3000, 3, seed=1)
    result = kl_decomposition(means, log_scales, seed=4, samples_per_row=2)
    z = means + np.exp(log_scales) * np.random.default_rng(4).standard_normal((2, 3000, 3))  # the same draws
    per_draw = (stats.norm.logpdf(z, means, np.exp(log_scales)) - stats.norm.logpdf(z)).sum(axis=2)
    assert sum(result[name] for name in PARTS) == pytest.approx(per_draw.mean(), rel=1e-9)  # not their own sum
    error = result["standard_errors"]["kl_monte_carlo_minus_analytic"]
    assert 0 < error < 0.05 and abs(result["kl_monte_carlo"] - result["kl_analytic"]) < 4 * error
    assert result["n_rows"] == 3000 and result["samples_per_row"] == 2 and "log-sum-exp" in result["estimator"]


def test_the_mixture_densities_equal_a_direct_log_sum_exp_over_every_row():
    means, log_scales = posteriors(60, 2, seed=2, low=-7.0, high=3.0)  # the encoder's whole range of scales
    result = kl_decomposition(means, log_scales, seed=5, samples_per_row=3)
    noise = np.random.default_rng(5).standard_normal((3, 60, 2))
    z = (means + np.exp(log_scales) * noise).reshape(-1, 2)
    per_dim = stats.norm.logpdf(z[:, None, :], means[None], np.exp(log_scales)[None])  # [samples, rows, d]
    log_q = special.logsumexp(per_dim.sum(axis=2), axis=1) - np.log(60)
    log_marginals = (special.logsumexp(per_dim, axis=1) - np.log(60)).sum(axis=1)
    log_posterior = stats.norm.logpdf(z, np.tile(means, (3, 1)), np.exp(np.tile(log_scales, (3, 1)))).sum(axis=1)
    assert result["index_code_mi"] == pytest.approx(np.mean(log_posterior - log_q), rel=1e-6)
    assert result["total_correlation"] == pytest.approx(np.mean(log_q - log_marginals), rel=1e-5, abs=1e-7)
    assert result["dimension_wise_kl"] == pytest.approx(
        np.mean(log_marginals - stats.norm.logpdf(z).sum(axis=1)), rel=1e-5, abs=1e-7)


def test_the_block_size_changes_memory_not_numbers():
    means, log_scales = posteriors(500, 4, seed=3)
    small, large = (kl_decomposition(means, log_scales, seed=0, block=block) for block in (7, 10_000))
    for name in PARTS:
        assert small[name] == pytest.approx(large[name], rel=1e-12)


def test_beyond_max_rows_a_subset_of_rows_is_used():
    means, log_scales = posteriors(300, 2, seed=6)
    result = kl_decomposition(means, log_scales, seed=0, max_rows=120)
    assert result["n_rows"] == 120 and result["index_code_mi_max"] == pytest.approx(np.log(120))
    assert result == kl_decomposition(means, log_scales, seed=0, max_rows=120)
    assert result["kl_analytic"] != kl_decomposition(means, log_scales, seed=0)["kl_analytic"]


def test_identical_posteriors_carry_no_information_and_no_total_correlation():
    means, log_scales = np.tile([[0.5, -1.0, 2.0]], (400, 1)), np.tile([[-0.3, 0.2, -1.0]], (400, 1))
    result = kl_decomposition(means, log_scales, seed=1)
    # zero to the float32 exponentials' precision (1e-7 relatively)
    assert abs(result["index_code_mi"]) < 1e-6 and abs(result["total_correlation"]) < 1e-6
    assert result["dimension_wise_kl"] == pytest.approx(result["kl_monte_carlo"], abs=1e-6)


def test_a_factorised_aggregate_posterior_has_no_total_correlation():
    # Means on a grid (every pair of column values) with scales by column: the mixture is the product of
    # its marginal mixtures, so the total correlation vanishes for every sample, not only on average.
    first, second = np.meshgrid(np.linspace(-2, 2, 30), [-1.0, 0.0, 0.5, 3.0], indexing="ij")
    means = np.stack([first.ravel(), second.ravel()], axis=1)
    log_scales = np.tile([[-1.0, -0.2]], (len(means), 1))
    result = kl_decomposition(means, log_scales, seed=2, samples_per_row=4)
    assert abs(result["total_correlation"]) < 1e-10 and result["index_code_mi"] > 1.0


def test_a_correlated_gaussian_aggregate_posterior_gives_the_gaussian_parts():
    rows, scale, correlation = 6000, 0.6, 0.8
    mean_cov = np.array([[1.0, correlation], [correlation, 1.0]])
    means = np.random.default_rng(7).multivariate_normal([0, 0], mean_cov, rows)
    result = kl_decomposition(means, np.full((rows, 2), np.log(scale)), seed=3)
    aggregate = mean_cov + scale ** 2 * np.eye(2)  # q(z) = N(0, Cov(means) + scale^2 I) as rows grow
    variances = np.diag(aggregate)
    expected = {"total_correlation": -0.5 * np.log(1 - (correlation / variances[0]) ** 2),
                "index_code_mi": 0.5 * np.linalg.slogdet(aggregate)[1] - 2 * np.log(scale),
                "dimension_wise_kl": np.sum(0.5 * (variances - 1 - np.log(variances)))}
    for name, value in expected.items():
        assert result[name] == pytest.approx(value, abs=0.02 + 4 * result["standard_errors"][name]), name
    assert expected["total_correlation"] == pytest.approx(0.2123, abs=1e-4)  # correlation 0.8 / 1.36


def test_the_mutual_information_saturates_at_log_n_when_posteriors_do_not_overlap():
    means = np.arange(300.0)[:, None] * np.ones((1, 2))
    result = kl_decomposition(means, np.full((300, 2), -5.0), seed=0)
    assert result["index_code_mi"] == pytest.approx(np.log(300), abs=1e-6)  # float32 exponentials
    assert result["index_code_mi"] <= np.log(300) + 1e-6


def test_scales_far_apart_keep_every_part_finite():
    means, log_scales = posteriors(400, 3, seed=8, low=-25.0, high=15.0)  # beyond float32's safe range
    result = kl_decomposition(means, log_scales, seed=1)
    assert all(np.isfinite(result[name]) for name in PARTS)
    assert abs(result["kl_monte_carlo"] - result["kl_analytic"]) < 4 * result["standard_errors"][
        "kl_monte_carlo_minus_analytic"]


@pytest.mark.parametrize("shapes", [((5, 2), (5, 3)), ((5,), (5,)), ((0, 2), (0, 2))])
def test_posteriors_of_other_shapes_are_refused(shapes):
    with pytest.raises(ValueError, match="expected two equal"):
        kl_decomposition(np.zeros(shapes[0]), np.zeros(shapes[1]), seed=0)
