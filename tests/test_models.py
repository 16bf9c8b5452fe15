"""The model and trainer without the CLI: checkpoint round trip, partial batches, compiled = per-step."""
import numpy as np
import pytest
import tensorflow as tf

from betavae.model.layers import LOG_SCALE_MAX, LOG_SCALE_MIN, soft_clamp
from betavae.model import inference
from betavae.model.inference import encode_with_kl, iwae_log_likelihood, reconstruct, sample_prior
from betavae.model.objectives import BetaObjective, CapacityObjective, capacity_objective
from betavae.model.vae import BetaVAE, Trainer, linear_ramp, make_optimizer
from conftest import factor_data_array
from betavae.data.loading import epoch_order


def small_model(seed=0, data_dim=4):
    tf.keras.utils.set_random_seed(seed)
    return BetaVAE(data_dim, 2, 16, np.full(data_dim, 50.0), np.full(data_dim, 10.0))


def test_soft_clamp_bounds_and_keeps_the_middle():
    values = tf.constant([-1e6, -2.0, 1e6])
    clamped = soft_clamp(values, LOG_SCALE_MIN, LOG_SCALE_MAX).numpy()
    assert LOG_SCALE_MIN <= clamped[0] < LOG_SCALE_MIN + 1e-3 and LOG_SCALE_MAX - 1e-3 < clamped[2] <= LOG_SCALE_MAX
    assert clamped[1] == pytest.approx(-2.0)


def test_checkpoint_round_trip_gives_identical_outputs(tmp_path):
    model = small_model(seed=1)
    z = tf.random.normal([7, 2])
    before = model.decode(z)
    path = tf.train.Checkpoint(model=model).save(str(tmp_path / "ckpt"))
    fresh = small_model(seed=2)
    assert not np.allclose(fresh.decode(z)[0], before[0])
    tf.train.Checkpoint(model=fresh).restore(path).assert_existing_objects_matched()
    for got, expected in zip(fresh.decode(z), before):
        np.testing.assert_array_equal(got.numpy(), expected.numpy())


def test_outputs_are_in_the_data_units():
    model = small_model()
    mean, log_scale = model.decode(tf.zeros([3, 2]))
    assert np.all(np.abs(mean.numpy() - 50) < 30) and np.all(log_scale.numpy() > np.log(10) + LOG_SCALE_MIN)


def test_padded_partial_batch_takes_the_same_step_as_its_rows_alone():
    data = tf.constant(factor_data_array(250))
    indices, weights = epoch_order(250, 100, seed=0, epoch=0)
    assert weights[-1].sum() == 50
    step = tf.constant(9, tf.int64)
    padded = Trainer(small_model(), make_optimizer("sgd", 1e-2), BetaObjective(1.0), seed=0)
    padded_means = padded.train_step(tf.gather(data, indices[-1]), weights[-1], step).numpy()
    alone = Trainer(small_model(), make_optimizer("sgd", 1e-2), BetaObjective(1.0), seed=0)
    alone_means = alone.train_step(tf.gather(data, indices[-1, :50]), tf.ones([50]), step).numpy()
    np.testing.assert_allclose(padded_means, alone_means, rtol=1e-5)
    for after_padded, after_alone in zip(padded.model.trainable_variables, alone.model.trainable_variables):
        np.testing.assert_allclose(after_padded.numpy(), after_alone.numpy(), rtol=1e-5, atol=1e-7)


def history(compiled, beta=4.0, epochs=3):
    data = tf.constant(factor_data_array(330))
    trainer = Trainer(small_model(), make_optimizer("adam", 1e-2), BetaObjective(beta), seed=7, mc_samples=2)
    return np.array([list(trainer.run_epoch(data, *epoch_order(330, 64, 0, epoch), first_step=epoch * 6,
                                            compiled=compiled).values()) for epoch in range(epochs)])


@pytest.fixture(scope="module")
def compiled_history():
    """history(compiled=True), trained once for the tests that compare other trainings with it."""
    return history(compiled=True)


def test_compiled_epoch_equals_per_step_loop(compiled_history):
    np.testing.assert_allclose(compiled_history, history(compiled=False), rtol=1e-5)


def test_seeded_training_repeats_exactly(compiled_history):
    np.testing.assert_array_equal(history(compiled=True), compiled_history)


def test_training_lowers_the_loss():
    losses = history(compiled=True, beta=1.0, epochs=30)[:, 0]
    assert losses[-1] < losses[0] - 1.0


def test_prior_samples_and_reconstructions_are_seeded_shaped_and_finite():
    model = small_model()
    samples = sample_prior(model, 1000, seed=3)
    assert samples.shape == (1000, 4) and np.all(np.isfinite(samples))
    np.testing.assert_array_equal(samples, sample_prior(model, 1000, seed=3))
    assert not np.array_equal(samples, sample_prior(model, 1000, seed=4))
    means = sample_prior(model, 1000, seed=3, mean_only=True)
    assert means.std(axis=0).sum() < samples.std(axis=0).sum()
    x = np.random.default_rng(0).normal(50, 10, size=(20, 4)).astype(np.float32)
    assert reconstruct(model, x, seed=0).shape == (20, 4)


def test_chunks_of_one_padded_size_give_the_unchunked_results_and_compile_once():
    model = small_model()
    x = np.random.default_rng(1).normal(50, 10, size=(7, 4)).astype(np.float32)
    whole = iwae_log_likelihood(model, x, 16, seed=0)
    traces = inference._iwae_chunk.tracing_count()
    chunked = iwae_log_likelihood(model, x, 16, seed=0, max_evaluations=42)  # 16 draws of 7 rows: 6 + 6 + 4
    # The blocks of draws run in one compiled loop: a new block size needs no new trace.
    assert inference._iwae_chunk.tracing_count() == traces
    np.testing.assert_allclose(chunked, whole, rtol=1e-6)
    means, kl = encode_with_kl(model, x)
    assert means.shape == kl.shape == (7, 2)
    assert len(sample_prior(model, 5, seed=0)) == 5


def test_linear_ramp_rises_from_zero_and_then_holds():
    assert [linear_ramp(epoch, 4.0, 4) for epoch in range(6)] == [0.0, 1.0, 2.0, 3.0, 4.0, 4.0]
    assert linear_ramp(0, 4.0, 0) == 4.0


def test_capacity_objective_pulls_the_kl_towards_the_capacity():
    data = tf.constant(factor_data_array(200))
    trainer = Trainer(small_model(), make_optimizer("adam", 1e-3), CapacityObjective(1.0, gamma=50.0), seed=0)
    trainer.capacity.assign(2.0)
    metrics = trainer.evaluate(data, key=0)
    assert metrics.loss == pytest.approx(50.0 * abs(metrics.kl - 2.0) - metrics.log_likelihood, rel=1e-5)
    assert capacity_objective(tf.constant(3.0), tf.constant(-1.0), 10.0, 2.0).numpy() == pytest.approx(11.0)
