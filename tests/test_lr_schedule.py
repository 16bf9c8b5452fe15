"""The learning-rate schedule: its values, and that changing the rate between epochs does not recompile."""
import numpy as np
import pytest
import tensorflow as tf

from betavae.data import loading
from betavae.model.objectives import BetaObjective
from betavae.model.vae import BetaVAE, Trainer, make_optimizer, scheduled_learning_rate


def test_cosine_schedule_decays_from_lr_towards_zero_and_constant_keeps_lr():
    rates = [scheduled_learning_rate(epoch, 1e-3, 200, "cosine") for epoch in range(200)]
    assert rates[0] == 1e-3 and rates[100] == pytest.approx(5e-4) and 0 < rates[-1] < 1e-6
    assert all(later < earlier for earlier, later in zip(rates, rates[1:]))
    assert scheduled_learning_rate(150, 1e-3, 200, "constant") == 1e-3
    with pytest.raises(ValueError, match="'linear'"):
        scheduled_learning_rate(0, 1e-3, 200, "linear")


def test_a_new_rate_each_epoch_reuses_the_compiled_epoch_and_is_used():
    tf.keras.utils.set_random_seed(0)
    model = BetaVAE(3, 1, 8, np.zeros(3), np.ones(3))
    trainer = Trainer(model, make_optimizer("adam", 1e-3), BetaObjective(1.0), seed=0)
    rows = tf.constant(np.random.default_rng(0).standard_normal((64, 3)).astype(np.float32))
    for epoch, rate in enumerate((1e-3, 0.0, 5e-4)):
        trainer.optimizer.learning_rate.assign(rate)
        before = [variable.numpy() for variable in model.trainable_variables]
        trainer.run_epoch(rows, *loading.epoch_order(64, 32, 0, epoch), first_step=2 * epoch)
        moved = max(np.abs(after.numpy() - start).max() for after, start in zip(model.trainable_variables, before))
        assert (moved > 0) == (rate > 0)
    assert trainer._compiled_epoch.tracing_count() == 1
