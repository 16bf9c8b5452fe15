"""Constants checked against the values the documentation gives them, not against themselves: a test that compares
a result with the very constant that produced it holds for any value of that constant. The iwae objective's
default K (8), the bounds of every log-scale (a scale floored at e^-7 and capped at e^3 standard deviations)
and the prior grid's points per posterior scale (eight with a 1-D latent, one with a 2-D latent)."""
import numpy as np
import pytest

from betavae.model.inference import grid_log_likelihood
from betavae.model.vae import BetaVAE
from conftest import factor_data_array, run_config_for

DATA_SCALE = np.array([1.0, 2.0, 4.0, 0.5])


def test_the_iwae_objective_draws_eight_samples_unless_told(tmp_path):
    np.save(tmp_path / "data.npy", factor_data_array(100))
    assert run_config_for(tmp_path / "run", tmp_path / "data.npy", "--objective", "iwae").mc_samples == 8
    assert run_config_for(tmp_path / "run", tmp_path / "data.npy").mc_samples == 1
    assert run_config_for(tmp_path / "run", tmp_path / "data.npy", "--objective", "iwae", "--mc-samples",
                          "3").mc_samples == 3


@pytest.mark.parametrize("raw, log_scale", [(-1e4, -7.0), (-2.0, -2.0), (1e4, 3.0)])
def test_the_decoders_scale_lies_between_e_to_the_minus_7_and_e_to_the_3_standard_deviations(raw, log_scale):
    """A head whose raw log-scale output is far below the bounds, at their middle (kept as it is), or far above."""
    model = BetaVAE(4, 2, 8, np.zeros(4), DATA_SCALE)
    z = np.zeros((3, 2), np.float32)
    model.decode(z)  # builds the layers
    head = model.decoder.head
    head.kernel.assign(np.zeros(head.kernel.shape))
    head.bias.assign(np.r_[np.zeros(4), np.full(4, raw)])
    np.testing.assert_allclose(model.decode(z)[1].numpy(), np.tile(log_scale + np.log(DATA_SCALE), (3, 1)),
                               atol=1e-5)


@pytest.mark.parametrize("latent_dim, points_per_scale", [(1, 8.0), (2, 1.0)])
def test_the_prior_grid_takes_eight_points_per_posterior_scale_in_1d_and_one_in_2d(latent_dim, points_per_scale):
    import tensorflow as tf
    tf.keras.utils.set_random_seed(0)
    model = BetaVAE(4, latent_dim, 8, np.zeros(4), DATA_SCALE)
    _, grid = grid_log_likelihood(model, factor_data_array(5)[:, :4] / 50.0)
    assert grid["resolved"]
    assert grid["spacing"] == pytest.approx(grid["posterior_scale"] / points_per_scale, rel=1e-9)
