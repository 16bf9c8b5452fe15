"""Disentanglement scores where codes and factors differ in number (3 codes x 2 factors, 2 codes x 3 factors):
with as many codes as factors, a score taken over the wrong axis or in the wrong base gives the same number,
and with two codes the second-best code is also the worst. Expected values are worked out by hand."""
import math

import numpy as np
import pytest

from betavae.scoring import disentanglement_scores as scores
from betavae.scoring.disentanglement import SLOW, metrics
from betavae.scoring.exact_mig import continuous_information, gaussian_references

# Importances [codes, factors] whose DCI is known: each row a code, each column a factor.
THREE_BY_TWO = np.array([[1.0, 0.0],   # code 0: factor 0 only
                         [0.0, 1.0],   # code 1: factor 1 only
                         [1.0, 1.0]])  # code 2: both alike
TWO_BY_THREE = np.array([[1.0, 1.0, 1.0],   # code 0: all three factors alike
                         [0.0, 0.0, 1.0]])  # code 1: factor 2 only


def test_dci_disentanglement_takes_each_codes_entropy_over_the_factors_in_base_k():
    # 3 x 2: codes 0 and 1 are disentangled (1), code 2 is spread evenly over 2 factors (1 - log2 2 = 0); the
    # codes weigh 1/4, 1/4, 1/2 of the importance.
    assert scores.dci_disentanglement(THREE_BY_TWO) == pytest.approx(0.25 + 0.25 + 0.0, abs=1e-9)
    # 2 x 3: code 0 is spread evenly over 3 factors (1 - log3 3 = 0) with weight 3/4, code 1 scores 1 with 1/4.
    assert scores.dci_disentanglement(TWO_BY_THREE) == pytest.approx(0.25, abs=1e-9)


def test_dci_completeness_takes_each_factors_entropy_over_the_codes_in_base_d():
    # 3 x 2: each factor is spread evenly over 2 of the 3 codes: 1 - log 2 / log 3, weights 1/2 and 1/2.
    assert scores.dci_completeness(THREE_BY_TWO) == pytest.approx(1 - math.log(2) / math.log(3), abs=1e-9)
    # 2 x 3: factors 0 and 1 on code 0 only (1 each, weight 1/4 each), factor 2 evenly on both codes (0, 1/2).
    assert scores.dci_completeness(TWO_BY_THREE) == pytest.approx(0.5, abs=1e-9)


def test_dci_fit_gives_importances_codes_by_factors():
    """100 rows, 2 bins (one tree per stage): factor 0 read off code 2 and factor 1 off code 0; code 1 is noise."""
    rng = np.random.default_rng(0)
    factors = rng.standard_normal((100, 2))
    codes = np.column_stack([factors[:, 1], rng.standard_normal(100), factors[:, 0]])
    binned = scores.discretise(factors, 2)
    importance, correct = scores.dci_fit(codes[:50], binned[:50], codes[50:], binned[50:])
    assert importance.shape == (3, 2) and correct.shape == (50, 2)
    assert importance[2, 0] > 0.9 and importance[0, 1] > 0.9


# Mutual informations [codes, factors] and factor entropies for MIG: the best, second-best and worst code
# differ for every factor.
INFORMATION = np.array([[0.9, 0.1],
                        [0.5, 0.0],
                        [0.1, 0.7]])
ENTROPY = np.array([1.0, 1.4])


def test_mig_is_the_gap_to_the_second_best_code_not_to_the_worst():
    # factor 0: 0.9 - 0.5 over 1.0; factor 1: 0.7 - 0.1 over 1.4
    assert scores.mig(INFORMATION, ENTROPY) == pytest.approx((0.4 / 1.0 + 0.6 / 1.4) / 2, abs=1e-12)
    # 2 codes x 3 factors: one gap per factor, over that factor's entropy
    information = np.array([[0.2, 0.9, 0.3], [0.6, 0.1, 0.3]])
    assert scores.mig(information, np.array([1.0, 2.0, 0.5])) == pytest.approx((0.4 + 0.8 / 2 + 0.0) / 3, abs=1e-12)


def test_sap_is_the_gap_between_the_two_best_codes_of_each_factor():
    rng = np.random.default_rng(1)
    factors = rng.standard_normal((5000, 2))
    noise = rng.standard_normal((5000, 3))
    codes = np.column_stack([factors[:, 0] + 0.3 * noise[:, 0],   # best for factor 0
                             factors[:, 0] + 1.0 * noise[:, 1],   # second for factor 0
                             -factors[:, 1] + 0.5 * noise[:, 2]])  # best for factor 1; the others near 0
    r2 = np.corrcoef(codes.T, factors.T)[:3, 3:] ** 2
    second = [sorted(r2[:, k])[-2] for k in range(2)]
    expected = np.mean([r2[0, 0] - second[0], r2[2, 1] - second[1]])
    assert scores.sap(codes, factors) == pytest.approx(expected, abs=1e-9)
    assert expected < np.mean([r2[0, 0] - r2[:, 0].min(), r2[2, 1] - r2[:, 1].min()]) - 0.1  # not to the worst


def test_modularity_divides_by_the_number_of_factors_minus_one():
    # 3 x 2: code 0 scores 1; code 1, alike about both factors, 1 - 1 / (1 * (2 - 1)) = 0; code 2 knows nothing: 0.
    assert scores.modularity(np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])) == pytest.approx(1 / 3, abs=1e-12)
    # 2 x 3: code 0 (1, 1, 0) scores 1 - 1 / (1 * (3 - 1)) = 1/2; code 1 (2, 0, 0) scores 1.
    assert scores.modularity(np.array([[1.0, 1.0, 0.0], [2.0, 0.0, 0.0]])) == pytest.approx(0.75, abs=1e-12)


def test_the_scores_that_need_several_codes_or_several_factors_ask_the_right_one():
    rng = np.random.default_rng(2)
    one_factor = rng.standard_normal((500, 1))
    codes = np.column_stack([one_factor[:, 0], rng.standard_normal(500), rng.standard_normal(500)])
    three_codes = metrics(codes, one_factor, bootstrap=0, skip=SLOW)
    assert three_codes["mig"] > 0.5 and three_codes["sap"] > 0.9 and three_codes["modularity"] is None
    three_factors = metrics(codes[:, :1], codes, bootstrap=0, skip=SLOW)
    assert three_factors["mig"] is None and three_factors["sap"] is None and three_factors["modularity"] > 0.5


def test_dci_leaves_out_disentanglement_for_one_factor_and_completeness_for_one_code():
    """100 rows, 2 bins: the trees are few."""
    rng = np.random.default_rng(3)
    factor = rng.standard_normal((100, 1))
    codes = np.column_stack([factor[:, 0], rng.standard_normal(100), rng.standard_normal(100)])
    three_codes = metrics(codes, factor, bootstrap=0, num_bins=2, skip=("factor_vae",))
    assert three_codes["dci_disentanglement"] is None and three_codes["dci_completeness"] > 0.5
    three_factors = metrics(factor, codes, bootstrap=0, num_bins=2, skip=("factor_vae",))
    assert three_factors["dci_completeness"] is None and three_factors["dci_disentanglement"] is not None


def _joint_covariance(loadings, noise):
    """The covariance of (codes, factors) for codes = loadings @ factors + noise, factors ~ N(0, I)."""
    loadings = np.asarray(loadings, dtype=float)
    codes = loadings @ loadings.T + np.diag(noise)
    return np.block([[codes, loadings], [loadings.T, np.eye(loadings.shape[1])]])


@pytest.mark.parametrize("loadings", [
    [[0.9, 0.0], [0.5, 0.3], [0.0, -0.8]],  # 3 codes x 2 factors
    [[0.9, 0.0, 0.4], [0.0, -0.7, 0.2]],  # 2 codes x 3 factors
])
def test_exact_references_pair_each_code_with_each_factor(loadings):
    loadings = np.asarray(loadings)
    d, k = loadings.shape
    covariance = _joint_covariance(loadings, np.full(d, 0.5))
    edges = [np.linspace(-4, 4, 21)] * (d + k)
    result = gaussian_references(np.zeros(d + k), covariance, d, edges)
    code_std = np.sqrt(np.diag(covariance)[:d])
    rho = loadings / code_std[:, None]  # Cov(code_j, z_f) = loading, Var(z_f) = 1
    np.testing.assert_allclose(result["correlation"], rho, atol=1e-12)
    np.testing.assert_allclose(result["information_continuous"], -0.5 * np.log(1 - rho ** 2), atol=1e-12)
    assert np.array(result["information_discretised"]).shape == (d, k) and len(result["factor_entropy"]) == k
    continuous = np.array(result["information_continuous"])
    second = np.sort(continuous, axis=0)[-2]
    expected = np.mean((continuous.max(axis=0) - second) / np.array(result["factor_entropy"]))
    assert result["mig_continuous"] == pytest.approx(expected, abs=1e-12)
    assert continuous_information(rho[0, 0]) == pytest.approx(continuous[0, 0], abs=1e-15)
