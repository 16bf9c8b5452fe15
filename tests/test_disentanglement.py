"""Disentanglement metrics on plain arrays: known values for a perfect code and for noise, the FactorVAE score
of a perfect and a useless sampler, bootstrap intervals and one-line errors."""
import numpy as np
import pytest

from betavae.scoring import disentanglement_scores as scores
from betavae.scoring.disentanglement import ESTIMATOR, KEYS, SLOW, metrics

PERMUTATION, SCALES = [2, 0, 1], np.array([-4.0, 0.5, -2.0])  # a code unit per factor, rescaled, signs flipped


def _factors(rows, seed=0, k=3):
    return np.random.default_rng(seed).standard_normal((rows, k))


def _perfect(factors):
    return factors[:, PERMUTATION] * SCALES + 7.0


def test_a_permuted_rescaled_sign_flipped_copy_scores_one():
    """Each code's bins are its factor's, so its MI is the factor's whole entropy; what keeps MIG, SAP and
    modularity below 1 is the plug-in MI / R^2 between independent columns, O(bins^2 / N) and O(1 / N)."""
    factors = _factors(20_000)
    codes = _perfect(factors)
    information = scores.mutual_information(scores.discretise(codes), scores.discretise(factors))
    entropy = scores.entropies(scores.discretise(factors))
    assert np.allclose(information[np.arange(3), PERMUTATION], entropy[PERMUTATION], rtol=1e-12)
    result = metrics(codes, factors, bootstrap=0, skip=SLOW)
    assert result["mig"] == pytest.approx(1.0, abs=0.01)
    assert result["sap"] == pytest.approx(1.0, abs=0.002)
    assert result["modularity"] == pytest.approx(1.0, abs=0.001)


def test_dci_of_a_perfect_code_is_one():
    """Trees split only on the unit that copies the factor (5 bins keep the fit to a few seconds)."""
    factors = _factors(1_000, seed=1)
    result = metrics(_perfect(factors), factors, bootstrap=0, num_bins=5)
    assert result["dci_disentanglement"] == pytest.approx(1.0, abs=1e-6)
    assert result["dci_completeness"] == pytest.approx(1.0, abs=1e-6)
    assert result["dci_informativeness"] > 0.97


def test_independent_noise_scores_near_zero():
    """20,000 rows of codes independent of the factors: MIG and SAP below 0.01 (the differences of estimation
    noise); modularity is left out, as it scores how a code's information is spread, not how much it has."""
    result = metrics(np.random.default_rng(9).standard_normal((20_000, 3)), _factors(20_000), bootstrap=0,
                     skip=SLOW)
    assert 0.0 <= result["mig"] < 0.01 and 0.0 <= result["sap"] < 0.01


def test_dci_of_noise_is_near_zero_with_an_interval_for_informativeness():
    """1,000 rows, 5 bins: each factor's trees spread their importance over the units, so D and C < 0.2; the
    test-half accuracy has an interval around it."""
    result = metrics(np.random.default_rng(9).standard_normal((1_000, 3)), _factors(1_000), bootstrap=50,
                     num_bins=5, skip=("factor_vae",))
    assert result["dci_disentanglement"] < 0.2 and result["dci_completeness"] < 0.2
    low, high = result["intervals"]["dci_informativeness"]
    assert low < result["dci_informativeness"] < high
    assert result["intervals"]["dci_disentanglement"] is None  # not bootstrapped: it would refit the trees


def _sampler(encode, k=3):
    """Batches of standard normal factors with one fixed, through encode."""
    def sample(factor, batch, rng):
        z = rng.standard_normal((batch, k))
        z[:, factor] = z[0, factor]
        return encode(z, rng)
    return sample


def test_factor_vae_score_is_one_for_a_perfect_sampler_and_one_over_k_for_noise():
    factors = _factors(2_000, k=4)
    perfect = metrics(factors[:, ::-1] * 3.0, factors, bootstrap=0, factor_vae_votes=(200, 400), skip=("dci",),
                      factor_vae_sampler=_sampler(lambda z, rng: z[:, ::-1] * 3.0, k=4))
    assert perfect["factor_vae"] == 1.0
    noise = metrics(factors, factors, bootstrap=0, factor_vae_votes=(200, 2000), skip=("dci",),
                    factor_vae_sampler=_sampler(lambda z, rng: rng.standard_normal(z.shape), k=4))
    assert noise["factor_vae"] == pytest.approx(0.25, abs=0.04)  # 2,000 votes: standard error 0.01


MIXING = np.array([[1.0, 0.5, 0.0], [0.0, 1.0, 0.5], [0.5, 0.0, 1.0]])


def test_bootstrap_intervals_contain_the_point_estimate():
    """Codes that mix the factors, so that each metric's spread over resamples exceeds its resampling bias."""
    factors = _factors(3_000, seed=4)
    codes = factors @ MIXING + 1.5 * np.random.default_rng(5).standard_normal((3_000, 3))
    result = metrics(codes, factors, bootstrap=100, factor_vae_votes=(100, 300), skip=("dci",),
                     factor_vae_sampler=_sampler(lambda z, rng: z @ MIXING + 1.5 * rng.standard_normal(z.shape)))
    for key in ("mig", "sap", "modularity", "factor_vae"):
        low, high = result["intervals"][key]
        assert low <= result[key] <= high and high > low, key
    assert result["n_rows"] == 3_000 and result["estimator"]["dci_test_rows"] == 1_500


def test_what_cannot_be_computed_is_null_with_a_reason():
    factors = _factors(500, k=1)
    result = metrics(factors * 2.0, factors, bootstrap=0, skip=SLOW)
    assert all(result[key] is None for key in ("mig", "sap", "modularity", "dci_disentanglement", "factor_vae"))
    assert set(result["unavailable"]) == {"mig", "sap", "modularity", "dci_completeness", "dci_disentanglement",
                                          "dci_informativeness", "factor_vae"}
    assert set(KEYS) <= set(result) and {"mig", "dci", "sap", "modularity", "factor_vae"} <= set(ESTIMATOR)


@pytest.mark.parametrize("codes, factors, message", [
    (np.full((10, 2), np.nan), np.ones((10, 1)), "codes holds NaN"),
    (np.zeros(10), np.ones((10, 1)), r"codes must be a non-empty \[N, columns\] array"),
    (np.zeros((10, 2)), np.ones((9, 1)), "codes have 10 rows but factors 9"),
    (np.zeros((10, 2)), np.ones((10, 1)), "factor column 0 is constant"),
    (np.zeros((10, 2)), np.arange(10.0)[:, None], r"skip \['sap'\]: expected a subset"),
    (np.zeros((10, 2)), np.arange(10.0)[:, None], "bootstrap -1: expected a number of resamples"),
])
def test_bad_arrays_raise_one_line(codes, factors, message):
    with pytest.raises(ValueError, match=message) as error:
        metrics(codes, factors, skip=("sap",) if "skip" in message else (),
                bootstrap=-1 if "bootstrap" in message else 0)
    assert "\n" not in str(error.value)


def test_the_entropy_equals_scipys_in_nats_and_in_a_base_along_axis_0():
    from scipy.stats import entropy as scipy_entropy
    rng = np.random.default_rng(3)
    counts = rng.integers(0, 5, size=(6, 4)).astype(float)  # zero cells included, columns unnormalised
    counts[:, 0] = [0, 0, 7, 0, 0, 0]  # a certain outcome: entropy 0
    np.testing.assert_allclose(scores.entropy(counts), scipy_entropy(counts), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(scores.entropy(counts + 1e-11, base=4), scipy_entropy(counts + 1e-11, base=4),
                               rtol=1e-12)
    assert scores.entropy(np.array([1, 1, 2])) == pytest.approx(scipy_entropy([1, 1, 2]), rel=1e-12)
