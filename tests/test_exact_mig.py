"""Exact references for MIG: the bivariate normal CDF against scipy, the continuous MI against Monte Carlo, and
the binned estimator converging to the discretised exact MI (not the continuous one) as rows grow."""

import numpy as np
import pytest
from scipy.stats import multivariate_normal, norm

from betavae.data import families
from betavae.data.truth import Truth
from betavae.scoring import disentanglement_scores as scores
from betavae.scoring.disentanglement import SLOW, metrics
from betavae.scoring.exact_mig import (bivariate_cdf, cell_probabilities, continuous_information,
                                       discretised_information, exact_references, gaussian_references)


@pytest.mark.parametrize("rho", [-0.95, -0.4, 0.0, 0.3, 0.7, 0.999])
def test_bivariate_cdf_matches_scipy(rho):
    h, k = np.meshgrid([-2.5, -0.7, 0.0, 0.4, 1.9], [-1.3, 0.0, 0.2, 3.0])
    expected = multivariate_normal([0, 0], [[1, rho], [rho, 1]]).cdf(np.stack([h.ravel(), k.ravel()], axis=1))
    assert np.allclose(bivariate_cdf(h, k, rho).ravel(), expected, atol=1e-9)


def test_cells_sum_to_one_with_normal_marginals():
    edges = np.linspace(-2, 2, 9)
    cells = cell_probabilities(0.6, edges, edges[:-2])
    assert cells.shape == (10, 8) and cells.sum() == pytest.approx(1.0, abs=1e-12)
    marginal = np.diff(np.concatenate([[0.0], norm.cdf(edges), [1.0]]))
    assert np.allclose(cells.sum(axis=1), marginal, atol=1e-12)


def test_continuous_information_matches_monte_carlo():
    """E[log p(u, v) / (p(u) p(v))] over 200,000 draws (standard error ~0.001 nats) against the formula."""
    rho = 0.6
    pairs = np.random.default_rng(0).multivariate_normal([0, 0], [[1, rho], [rho, 1]], size=200_000)
    log_ratio = (multivariate_normal([0, 0], [[1, rho], [rho, 1]]).logpdf(pairs)
                 - norm.logpdf(pairs).sum(axis=1))
    assert continuous_information(rho) == pytest.approx(-0.5 * np.log(1 - rho ** 2), rel=1e-12)
    assert log_ratio.mean() == pytest.approx(continuous_information(rho), abs=0.005)


def test_discretised_information_is_below_continuous_and_reaches_it_with_fine_bins():
    """Binning loses information; with bins of width w the loss falls as w^2 (halving w quarters it)."""
    rho = 0.8
    coarse = discretised_information(rho, np.linspace(-3, 3, 19), np.linspace(-3, 3, 19))
    loss = [continuous_information(rho) - discretised_information(rho, edges, edges)
            for edges in (np.linspace(-7, 7, 176), np.linspace(-7, 7, 351))]
    assert continuous_information(rho) - coarse > loss[0] > loss[1] > 0 and loss[1] < 5e-4
    assert loss[0] / loss[1] == pytest.approx(4.0, rel=0.1)


def test_an_exact_copy_carries_the_factors_whole_discretised_entropy():
    edges = [np.linspace(-4, 4, 21)] * 3
    covariance = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 1.0]])  # code 1 copies the factor
    result = gaussian_references(np.zeros(3), covariance, 2, edges)
    assert result["information_discretised"][0][0] == pytest.approx(result["factor_entropy"][0], abs=1e-12)
    assert result["information_discretised"][1][0] == pytest.approx(0.0, abs=1e-12)
    assert result["mig_discretised"] == pytest.approx(1.0, abs=1e-12)


def _gaussian_codes(rows, seed):
    """Two codes and two factors, jointly Gaussian with known covariance (codes first)."""
    rng = np.random.default_rng(seed)
    factors = rng.standard_normal((rows, 2))
    codes = np.column_stack([0.6 * factors[:, 0] + 0.8 * rng.standard_normal(rows),
                             0.3 * factors[:, 0] + 0.8 * factors[:, 1] + 0.5 * rng.standard_normal(rows)])
    covariance = np.array([[1.0, 0.18, 0.6, 0.0], [0.18, 0.98, 0.3, 0.8],
                           [0.6, 0.3, 1.0, 0.0], [0.0, 0.8, 0.0, 1.0]])
    return codes, factors, covariance


def test_binned_mig_converges_to_the_discretised_exact_mig():
    """The plug-in MI's bias (about (bins - 1)^2 / 2N nats per pair) shrinks with N; at 200,000 rows the binned
    MIG is within 0.003 of the exact MIG of the discretised pair, while the continuous MIG stays apart."""
    errors = []
    for rows in (2_000, 20_000, 200_000):
        codes, factors, covariance = _gaussian_codes(rows, seed=rows)
        edges = [scores.bin_edges(column) for column in np.column_stack([codes, factors]).T]
        exact = gaussian_references(np.zeros(4), covariance, 2, edges)
        binned = scores.mutual_information(scores.discretise(codes), scores.discretise(factors))
        errors.append(np.abs(binned - np.array(exact["information_discretised"])).max())
    assert errors[0] > errors[1] > errors[2] and errors[2] < 0.003
    estimate = metrics(codes, factors, bootstrap=0, skip=SLOW)["mig"]
    assert estimate == pytest.approx(exact["mig_discretised"], abs=0.003)
    assert exact["mig_continuous"] - exact["mig_discretised"] > 0.005  # the discretisation bias is not tiny


def test_exact_references_of_a_linear_code_on_generated_data():
    x, truth = families.generate(dim=5, factors=2, rows=20_000, seed=3)
    latents = truth.pop("latents")
    weights, covariance = np.array(truth["W"]), np.array(truth["covariance"])
    codes = (x - np.array(truth["mean"])) @ np.linalg.solve(covariance, weights)  # E[z|x], linear in x
    result = exact_references(x, codes, latents, Truth.from_json(truth))
    assert np.allclose(result["code_r2"], 1.0, atol=1e-9) and result["n_rows"] == 20_000
    sample = np.corrcoef(codes.T, latents.T)[:2, 2:]
    assert np.allclose(result["correlation"], sample, atol=0.02)
    assert np.all(np.array(result["information_discretised"]) <= np.array(result["information_continuous"]))
    assert metrics(codes, latents, bootstrap=0, skip=SLOW)["mig"] == pytest.approx(result["mig_discretised"],
                                                                                    abs=0.02)
    bent = exact_references(x, np.tanh(codes), latents, Truth.from_json(truth))
    assert min(bent["code_r2"]) < 0.99


def test_exact_references_refuse_a_non_linear_truth_and_mismatched_rows():
    with pytest.raises(ValueError, match="linear-Gaussian"):
        exact_references(np.zeros((4, 2)), np.zeros((4, 2)), np.zeros((4, 1)),
                         Truth.from_json(families.sample_family("sine", 2, 1, 4, 0)[2]))
    x, truth = families.generate(dim=3, factors=1, rows=50, seed=0)
    with pytest.raises(ValueError, match="one row each"):
        exact_references(x, np.zeros((49, 2)), truth["latents"], Truth.from_json(truth))
