"""IWAE and quadrature in blocks of importance samples / nodes: the same numbers as in one block, and
memory bounded by max_evaluations whatever the number of samples."""
import numpy as np
import tensorflow as tf

from betavae.model.inference import iwae_log_likelihood, quadrature_log_likelihood
from betavae.model.vae import BetaVAE


def small_model(latent_dim=2):
    tf.keras.utils.set_random_seed(0)
    return BetaVAE(4, latent_dim, 8, np.full(4, 50.0), np.full(4, 10.0))


def test_blocked_iwae_equals_one_block_and_depends_on_the_seed():
    model = small_model()
    x = np.random.default_rng(1).normal(50, 10, size=(5, 4)).astype(np.float32)
    whole = iwae_log_likelihood(model, x, 50, seed=3)  # 50 samples x 5 rows in one block
    blocked = iwae_log_likelihood(model, x, 50, seed=3, max_evaluations=5 * 7)  # blocks of 7: 7 x 7 + 1
    np.testing.assert_allclose(blocked, whole, rtol=1e-5)
    assert not np.allclose(iwae_log_likelihood(model, x, 50, seed=4), whole, rtol=1e-5)


def test_blocked_quadrature_equals_one_block_in_one_and_two_dimensions():
    for latent_dim, nodes in ((1, 32), (2, 8)):
        model = small_model(latent_dim)
        x = np.random.default_rng(2).normal(50, 10, size=(3, 4)).astype(np.float32)
        whole = quadrature_log_likelihood(model, x, nodes_per_dim=nodes)
        blocked = quadrature_log_likelihood(model, x, nodes_per_dim=nodes, max_evaluations=3 * 5)
        np.testing.assert_allclose(blocked, whole, rtol=1e-5)


def test_a_huge_number_of_importance_samples_runs_in_bounded_blocks():
    model = small_model()
    x = np.random.default_rng(3).normal(50, 10, size=(2, 4)).astype(np.float32)
    # 50k samples in blocks of 2 ** 12 (two rows): unblocked, the tensors would hold 100k decoder passes.
    estimate = iwae_log_likelihood(model, x, 50_000, seed=0, max_evaluations=1 << 13)
    few = iwae_log_likelihood(model, x, 100, seed=0)
    assert estimate.shape == (2,) and np.all(np.isfinite(estimate))
    assert np.all(estimate >= few - 0.5)  # more samples: a bound at least as tight, up to noise
