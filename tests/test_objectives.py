"""Objective objects: objective_for picks the run's, the Trainer computes any objective from the same batch
terms (so a new objective is a new class only), and schedule variables change the loss without a retrace."""
import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from betavae.config import RunConfig
from scipy import stats

from betavae.model.objectives import BetaObjective, CapacityObjective, Objective, TCObjective, objective_for
from betavae.model.tc import tc_terms
from betavae.model.vae import BetaVAE, Trainer, batch_terms, make_optimizer
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
        assert all(value.shape[-1] == LATENT for value in terms.posterior.params().values())
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
    assert trainer._evaluate.tracing_count() == 1


def test_objective_for_picks_the_tc_objective_with_its_weights():
    tc = objective_for(config(objective="tc", alpha=0.5, gamma=2.0))
    assert type(tc) is TCObjective and tc.name == "tc" and (tc.alpha, tc.beta.numpy(), tc.gamma) == (0.5, 4.0, 2.0)
    assert tc.dataset_size == 90


def test_tc_objective_at_unit_weights_is_the_negative_elbo():
    """alpha = beta = gamma = 1: MI + TC + dimension-wise KL is log q(z|x) - log p(z) for each draw (the
    single-sample KL, checked with scipy), whatever the minibatch estimate of q(z); over many draws it
    is the closed-form KL, so the loss is the beta-1 objective's. Padding rows (weight 0) take no part."""
    tf.keras.utils.set_random_seed(0)
    model = BetaVAE(4, LATENT, 8, np.full(4, 50.0), np.full(4, 10.0))
    x = tf.constant(factor_data_array(ROWS))
    weights = tf.constant(np.r_[np.ones(ROWS - 5), np.zeros(5)], tf.float32)
    noise = tf.random.stateless_normal([2000, ROWS, LATENT], seed=[0, 1])
    terms = batch_terms(model, x, weights, noise)
    loss = TCObjective(1.0, 1.0, 1.0, dataset_size=1000).batch_loss(terms).numpy()
    z, mean, scale = terms.z.numpy(), terms.posterior.mean().numpy(), np.exp(terms.posterior.log_scale.numpy())
    kl_draws = (stats.norm(mean, scale).logpdf(z) - stats.norm.logpdf(z)).sum(axis=-1).mean(axis=0)
    w = weights.numpy()
    expected = np.sum(w * (kl_draws - terms.log_likelihood.numpy())) / w.sum()
    assert loss == pytest.approx(expected, rel=1e-4)
    closed_form = BetaObjective(1.0).batch_loss(terms).numpy()
    assert loss == pytest.approx(closed_form, abs=0.02)  # 2000 draws: the Monte-Carlo KL's error
    parts = tc_terms(terms.z, terms.posterior, weights)
    dimension_wise = np.sum(w * parts["dimension_wise_kl"].numpy().mean(axis=0)) / w.sum()
    heavier = TCObjective(1.0, 1.0, 4.0, dataset_size=1000).batch_loss(terms).numpy()
    assert heavier - loss == pytest.approx(3.0 * dimension_wise, rel=1e-3, abs=1e-3)  # gamma weighs that part


def test_tc_metrics_are_the_terms_its_loss_weighs():
    """The tc objective's epoch metrics are its spec's names, and the loss is alpha MI + beta TC + gamma
    dimension-wise KL - E_q log p(x|z) of them; each part is the row-weighted mean of tc_terms' own."""
    from betavae.objectives import OBJECTIVES
    tf.keras.utils.set_random_seed(0)
    model = BetaVAE(4, LATENT, 8, np.full(4, 50.0), np.full(4, 10.0))
    weights = tf.constant(np.r_[np.ones(ROWS - 5), np.zeros(5)], tf.float32)
    terms = batch_terms(model, tf.constant(factor_data_array(ROWS)), weights,
                        tf.random.stateless_normal([MC_SAMPLES, ROWS, LATENT], seed=[0, 1]))
    objective = TCObjective(3.0, 0.5, 2.0, dataset_size=1000)
    metrics = dict(zip(OBJECTIVES["tc"].metrics, (float(value) for value in objective.batch_metrics(terms))))
    assert list(metrics) == ["loss", "kl", "log_likelihood", "mi", "tc", "dimension_wise_kl"]
    parts = tc_terms(terms.z, terms.posterior, weights)
    w = weights.numpy()
    for name in ("mi", "tc", "dimension_wise_kl"):
        expected = np.sum(w * parts[name].numpy().mean(axis=0)) / w.sum()
        assert metrics[name] == pytest.approx(expected, rel=1e-5, abs=1e-5), name
    assert metrics["loss"] == pytest.approx(0.5 * metrics["mi"] + 3.0 * metrics["tc"]
                                            + 2.0 * metrics["dimension_wise_kl"] - metrics["log_likelihood"], rel=1e-5)
    assert metrics["loss"] == pytest.approx(float(objective.batch_loss(terms)), rel=1e-6)


def small_run_flags(tmp_path, monkeypatch):
    """The training flags of a tiny run of small data into tmp_path/run, and the run's path, for tests that
    call the CLIs' main() in-process (whose Ctrl-C handler is left to pytest)."""
    import signal
    monkeypatch.setattr(signal, "signal", lambda *_: None)
    np.save(tmp_path / "small.npy", factor_data_array())
    run = str(tmp_path / "run")
    return ["--data", str(tmp_path / "small.npy"), "--batch-size", "100", "--hidden-units", "8",
            "--checkpoint-dir", run], run


@pytest.mark.slow
def test_tc_runs_train_resume_and_evaluate_as_their_objective(tmp_path, monkeypatch, capsys):
    import json
    from betavae.commands import after_training, train
    common, run = small_run_flags(tmp_path, monkeypatch)
    assert train.main([*common, "--objective", "tc", "--beta", "4", "--epochs", "2"]) == 0
    out = capsys.readouterr().out
    assert "beta-TCVAE: alpha 1 * MI + beta 4 * TC + gamma 1 * dim-wise KL" in out
    assert "loss = alpha 1 * mi + beta 4 * tc + gamma 1 * dim_kl - ll" in out
    table_header = next(line for line in out.splitlines() if "elapsed" in line)
    assert table_header.split()[:8] == ["epoch", "loss", "kl", "ll", "mi", "tc", "dim_kl", "test"]
    with open(tmp_path / "run" / "history.csv", encoding="utf-8") as handle:
        assert handle.readline().startswith("epoch,loss,kl,log_likelihood,mi,tc,dimension_wise_kl,test_loss,")
    with open(tmp_path / "run" / "config.json", encoding="utf-8") as handle:
        saved = json.load(handle)
    assert (saved["objective"], saved["alpha"], saved["beta"], saved["gamma"]) == ("tc", 1.0, 4.0, 1.0)
    assert train.main([*common, "--resume", "--epochs", "3"]) == 0
    assert "resuming" in capsys.readouterr().out
    assert after_training.main(["--mode", "evaluate", "--checkpoint-dir", run, "--iwae-samples", "5"]) == 0
    report = " ".join(capsys.readouterr().out.split())
    assert "beta-TCVAE objective alpha MI + beta TC + gamma dim-wise KL - E_q log p(x|z) with alpha 1, beta 4" in report
    for flags, message in ((["--objective", "capacity"], "--objective capacity needs --capacity"),
                           (["--objective", "tc", "--capacity", "5"], "--capacity is for the capacity objective")):
        assert train.main([*common[:-1], str(tmp_path / "other"), *flags]) == 2
        assert message in capsys.readouterr().err
