"""Objective objects: objective_for picks the run's, the Trainer computes any objective from the same batch
terms (so a new objective is a new class only), and schedule variables change the loss without a retrace."""
import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from betavae.config import RunConfig
from betavae.model.objectives import BetaObjective, CapacityObjective, Objective, objective_for
from betavae.model.vae import BetaVAE, Trainer, make_optimizer
from conftest import factor_data_array

ROWS, MC_SAMPLES, LATENT = 40, 3, 2


def small_trainer(objective):
    tf.keras.utils.set_random_seed(0)
    model = BetaVAE(4, LATENT, 8, np.full(4, 50.0), np.full(4, 10.0))
    return Trainer(model, make_optimizer("sgd", 1e-3), objective, seed=0, mc_samples=MC_SAMPLES)


def config(**changes):
    base = RunConfig(schema_version=1, data="d.npy", data_sha256="0", test_data=None, test_data_sha256=None,
                     test_fraction=0.1, beta=4.0, epochs=1, batch_size=10, latent_dim=2, hidden_units=8,
                     mc_samples=1, kl_warmup_epochs=0, capacity=None, capacity_epochs=0, gamma=30.0, lr=1e-3,
                     optimizer="adam", seed=0, save_every=1, streaming=False, data_dim=1, train_rows=90,
                     test_rows=10, data_shift=(0.0,), data_scale=(1.0,))
    return dataclasses.replace(base, **changes)


def test_objective_for_picks_the_capacity_objective_only_when_a_capacity_is_set():
    beta = objective_for(config())
    assert type(beta) is BetaObjective and beta.name == "beta" and beta.beta.numpy() == 4.0
    capacity = objective_for(config(capacity=5.0))
    assert type(capacity) is CapacityObjective and capacity.name == "capacity" and capacity.gamma == 30.0
    assert capacity.dataset_size == beta.dataset_size == 90


class RowsOverDatasetSize(Objective):
    """Not a loss: a probe that the batch terms and the training-set size reach a new objective."""

    def batch_loss(self, terms):
        assert terms.z.shape[0] == MC_SAMPLES and terms.z.shape[-1] == LATENT
        assert terms.z_mean.shape[-1] == terms.z_log_scale.shape[-1] == LATENT
        return tf.reduce_sum(terms.weights) / self.dataset_size


def test_a_new_objective_is_a_new_class_the_trainer_computes_from_the_batch_terms():
    trainer = small_trainer(RowsOverDatasetSize(beta=1.0, dataset_size=4 * ROWS))
    metrics = trainer.evaluate(factor_data_array(ROWS), key=0)
    assert metrics.loss == pytest.approx(0.25)
    beta = small_trainer(BetaObjective(1.0)).evaluate(factor_data_array(ROWS), key=0)
    assert (metrics.kl, metrics.log_likelihood) == (beta.kl, beta.log_likelihood)  # same model, same noise


def test_the_scheduled_beta_changes_the_loss_without_a_retrace():
    trainer = small_trainer(BetaObjective(1.0))
    data = factor_data_array(ROWS)
    for beta in (0.0, 1.0, 4.0):
        trainer.beta.assign(beta)
        metrics = trainer.evaluate(data, key=0)
        assert metrics.loss == pytest.approx(beta * metrics.kl - metrics.log_likelihood, rel=1e-6)
    assert trainer._evaluate.experimental_get_tracing_count() == 1
