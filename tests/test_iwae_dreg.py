"""The iwae objective's doubly reparameterised gradient (Tucker et al. 2019): the loss is the same bound, the
decoder's gradient is the bound's own, and the encoder's is sum_k w_k^2 d log w_k / d z_k dz_k/dphi, computed
here by another route (per-draw gradients with respect to z by hand, then the chain rule through the encoder);
dreg is refused for every other objective, on the flags and in config.json."""
import numpy as np
import pytest
import tensorflow as tf
from scipy import special

from betavae.model.distributions import DiagonalGaussian
from betavae.model.objectives import IWAEObjective, objective_for
from betavae.model.vae import BetaVAE, batch_terms
from conftest import factor_data_array, run_config_for, run_main
from test_fields import config_error, config_json  # noqa: F401  (a fixture)
from test_objectives import config

ROWS, K, LATENT = 7, 5, 2  # unequal sizes, so that a sum over the wrong axis shows


def gradients(objective, weights):
    """The loss and its gradients of a small model (seeded) on fixed rows and noise, split into the encoder's
    and the decoder's, and the model."""
    tf.keras.utils.set_random_seed(0)
    model = BetaVAE(4, LATENT, 8, np.full(4, 50.0), np.full(4, 10.0))
    x = tf.constant(factor_data_array(ROWS))
    noise = tf.random.stateless_normal([K, ROWS, LATENT], seed=[3, 4])
    with tf.GradientTape() as tape:
        loss = objective.batch_loss(batch_terms(model, x, weights, noise))
    encoder, decoder = model.encoder.trainable_variables, model.decoder.trainable_variables
    grads = tape.gradient(loss, encoder + decoder)
    return loss.numpy(), grads[:len(encoder)], grads[len(encoder):], model, x, noise


WEIGHTS = tf.constant([1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0])  # two padding rows


@pytest.fixture(scope="module")
def plain_and_dreg():
    return gradients(IWAEObjective(1.0), WEIGHTS), gradients(IWAEObjective(1.0, gradient="dreg"), WEIGHTS)


def test_objective_for_gives_the_config_its_gradient():
    assert objective_for(config(objective="iwae", beta=1.0, mc_samples=8, iwae_gradient="dreg")).gradient == "dreg"
    assert objective_for(config(objective="iwae", beta=1.0, mc_samples=8)).gradient == "plain"


def test_the_dreg_loss_is_the_bound_and_the_decoder_gradient_the_bounds_own(plain_and_dreg):
    (plain_loss, _, plain_decoder, *_), (dreg_loss, _, dreg_decoder, *_) = plain_and_dreg
    assert dreg_loss == pytest.approx(plain_loss, rel=1e-6)
    for plain, dreg in zip(plain_decoder, dreg_decoder):
        np.testing.assert_allclose(dreg.numpy(), plain.numpy(), rtol=1e-4, atol=1e-6)


def test_the_dreg_encoder_gradient_is_the_squared_weights_path_derivative(plain_and_dreg):
    """By hand: the log weights at z taken as a leaf with q's parameters as numbers, their gradient per draw
    (each log w_k[b] depends on z_k[b] alone), the normalised weights squared in scipy, then the chain rule
    through the reparameterisation z = mean + sigma * noise to the encoder's variables (a vector-Jacobian
    product), row-weighted and negated as the loss is."""
    _, plain_encoder, _, model, x, noise = plain_and_dreg[0]
    dreg_encoder = plain_and_dreg[1][1]
    mean, log_scale = (value.numpy() for value in model.encode(x))
    z = tf.Variable(mean + np.exp(log_scale) * noise.numpy())
    with tf.GradientTape() as tape:
        log_weights = (model.likelihood(z).log_prob(x) - 0.5 * tf.reduce_sum(z ** 2 + np.log(2 * np.pi), -1)
                       - DiagonalGaussian(tf.constant(mean), tf.constant(log_scale)).log_prob(z))
    per_draw = tape.gradient(log_weights, z).numpy()  # [K, rows, latent]
    squared = np.exp(2 * (log_weights.numpy() - special.logsumexp(log_weights.numpy(), axis=0)))
    row_weights = WEIGHTS.numpy() / WEIGHTS.numpy().sum()
    upstream = -(row_weights[None, :, None] * squared[..., None] * per_draw)
    with tf.GradientTape() as tape:
        encoded_mean, encoded_log_scale = model.encode(x)
        reparameterised = encoded_mean + tf.exp(encoded_log_scale) * noise
    expected = tape.gradient(reparameterised, model.encoder.trainable_variables,
                             output_gradients=tf.constant(upstream, tf.float32))
    for dreg, by_hand, plain in zip(dreg_encoder, expected, plain_encoder):
        np.testing.assert_allclose(dreg.numpy(), by_hand.numpy(), rtol=1e-3, atol=1e-6)
    assert not all(np.allclose(d.numpy(), p.numpy(), rtol=0.05) for d, p in zip(dreg_encoder, plain_encoder))


@pytest.mark.parametrize("objective, flags", [("beta", []), ("tc", []), ("capacity", ["--capacity", "3"])])
def test_dreg_is_refused_with_another_objective_in_one_line(objective, flags, tmp_path):
    from betavae.commands import train
    result = run_main(train.main, "--objective", objective, *flags, "--iwae-gradient", "dreg",
                      "--checkpoint-dir", str(tmp_path / "run"))
    assert result.returncode == 2, result.stderr
    assert result.stderr == f"error: --iwae-gradient dreg is for --objective iwae only (got --objective {objective})\n"
    assert not (tmp_path / "run").exists()


def test_a_hand_edited_config_json_with_dreg_and_another_objective_is_refused(config_json):  # noqa: F811
    assert config_error({**config_json, "iwae_gradient": "dreg"}) == (
        "config.json: field iwae_gradient dreg is for field objective iwae only (got field objective beta)")



def test_a_dreg_run_records_its_gradient_and_names_it_in_the_header(tmp_path):
    from betavae.training.console import header_lines
    np.save(tmp_path / "data.npy", factor_data_array(50))
    run_config = run_config_for(tmp_path / "run", tmp_path / "data.npy", "--objective", "iwae", "--iwae-gradient",
                                "dreg", "--mc-samples", 3)
    assert run_config.to_dict()["iwae_gradient"] == "dreg" and objective_for(run_config).gradient == "dreg"
    assert "K = 3; DReG gradients (Tucker et al. 2019)" in "\n".join(header_lines(run_config, "run"))
