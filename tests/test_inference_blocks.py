"""IWAE in blocks of importance samples, the prior grid in chunks of rows: the same numbers as in one block,
and memory bounded by max_evaluations whatever the number of samples."""
import numpy as np
import tensorflow as tf

from betavae import grid_quadrature
from betavae.model.inference import grid_log_likelihood, iwae_log_likelihood
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


def test_the_prior_grid_in_chunks_of_rows_equals_one_chunk_in_one_and_two_dimensions(monkeypatch):
    for latent_dim in (1, 2):
        model = small_model(latent_dim)
        x = np.random.default_rng(2).normal(50, 10, size=(5, 4)).astype(np.float32)
        whole, entry = grid_log_likelihood(model, x)
        monkeypatch.setattr(grid_quadrature, "MAX_TERMS", 2 * entry["points"] + 1)  # rows in chunks of 2: 2 + 2 + 1
        np.testing.assert_allclose(grid_log_likelihood(model, x)[0], whole, rtol=1e-12)
        monkeypatch.undo()


def test_a_huge_number_of_importance_samples_runs_in_bounded_blocks():
    model = small_model()
    x = np.random.default_rng(3).normal(50, 10, size=(2, 4)).astype(np.float32)
    # 50k samples in blocks of 2 ** 12 (two rows): unblocked, the tensors would hold 100k decoder passes.
    estimate = iwae_log_likelihood(model, x, 50_000, seed=0, max_evaluations=1 << 13)
    few = iwae_log_likelihood(model, x, 100, seed=0)
    assert estimate.shape == (2,) and np.all(np.isfinite(estimate))
    assert np.all(estimate >= few - 0.5)  # more samples: a bound at least as tight, up to noise
