"""The FactorVAE batches: one true factor fixed per batch, drawn from the data's own generator."""
import os

import numpy as np

from betavae.data.families import sample_family
from betavae.data.loading import load_truth
from betavae.data.truth import Truth
from betavae.scoring.factor_sampling import fixed_factor_sampler, independent_factors_problem
from conftest import REPO


def test_the_fixed_factor_is_the_one_that_stops_varying():
    truth = load_truth(os.path.join(REPO, "data", "gaussian_10d.npy"))
    assert independent_factors_problem(truth) is None
    unmix = np.linalg.pinv(truth.W)  # the codes are the factors plus projected noise
    sample = fixed_factor_sampler(truth, lambda x: (x - truth.mean) @ unmix.T)
    rng = np.random.default_rng(0)
    for factor in (0, 1):
        spread = np.mean([sample(factor, 200, rng).std(axis=0) for _ in range(5)], axis=0)
        other = 1 - factor
        assert spread[factor] < 0.5 * spread[other] and spread[other] > 0.8  # the other factor keeps its N(0, 1)


def test_a_mixture_prior_has_no_independent_factors():
    truth = Truth.from_json(sample_family("mixture", dim=3, factors=2, rows=4, seed=0)[2])
    assert "not independent" in independent_factors_problem(truth)
