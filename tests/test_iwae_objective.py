"""The iwae objective (Burda et al. 2016): its bound checked against scipy, its order ELBO <= IWAE_K <= log p(x)
against an exact quadrature of a 1-D latent model, and its flags."""
import json

import numpy as np
import pytest
import tensorflow as tf
from scipy import special, stats

from betavae.model.objectives import IWAEObjective, importance_weighted_bound, objective_for
from betavae.model.distributions import DiagonalGaussian, gaussian_kl, gaussian_log_density
from betavae.model.vae import BetaVAE, batch_terms
from conftest import factor_data_array
from test_objectives import config, small_run_flags

ROWS = 40


def small_model(latent_dim=2):
    tf.keras.utils.set_random_seed(0)
    return BetaVAE(4, latent_dim, 8, np.full(4, 50.0), np.full(4, 10.0))


def test_objective_for_picks_iwae():
    objective = objective_for(config(objective="iwae", beta=1.0, mc_samples=8))
    assert type(objective) is IWAEObjective and objective.name == "iwae"


def test_the_iwae_loss_is_scipys_log_mean_of_the_importance_weights_over_the_real_rows():
    """-log (1/K) sum_k N(x; decoder(z_k)) N(z_k; 0, I) / N(z_k; q), computed with scipy from the draws;
    padding rows (weight 0) take no part."""
    model = small_model()
    x = tf.constant(factor_data_array(ROWS))
    weights = tf.constant(np.r_[np.ones(ROWS - 5), np.zeros(5)], tf.float32)
    noise = tf.random.stateless_normal([6, ROWS, 2], seed=[0, 1])
    terms = batch_terms(model, x, weights, noise)
    loss = IWAEObjective(1.0).batch_loss(terms).numpy()
    z, mean, scale = terms.z.numpy(), terms.posterior.mean().numpy(), np.exp(terms.posterior.log_scale.numpy())
    x_mean, x_log_scale = (value.numpy() for value in model.decode(terms.z))
    log_weights = (stats.norm(x_mean, np.exp(x_log_scale)).logpdf(x.numpy()).sum(-1)
                   + stats.norm.logpdf(z).sum(-1) - stats.norm(mean, scale).logpdf(z).sum(-1))
    bound = special.logsumexp(log_weights, axis=0) - np.log(6)
    w = weights.numpy()
    assert loss == pytest.approx(-np.sum(w * bound) / w.sum(), rel=1e-5)


def exact_log_density(model, x, nodes=20001):
    """log p(x) of a 1-D latent model by the trapezoid rule over z in [-10, 10] (numpy, float64)."""
    z = np.linspace(-10.0, 10.0, nodes)
    x_mean, x_log_scale = (value.numpy().astype(float) for value in model.decode(tf.constant(z[:, None], tf.float32)))
    log_joint = stats.norm(x_mean[None], np.exp(x_log_scale)[None]).logpdf(x[:, None]).sum(-1) + stats.norm.logpdf(z)
    return special.logsumexp(log_joint, axis=1) + np.log(z[1] - z[0])


def draws_of(model, x, q_mean, q_log_scale, count, key):
    """log p(x|z) at `count` draws z of the Gaussian q (mean, log scale [rows, 1]), and the draws."""
    z = q_mean + np.exp(q_log_scale) * tf.random.stateless_normal([count, len(x), 1], seed=[key, count])
    x_mean, x_log_scale = model.decode(z)
    return gaussian_log_density(x, x_mean, x_log_scale), z


def test_the_bound_rises_with_k_towards_the_exact_log_density_and_k_1_is_the_elbo():
    """With a q(z|x) off the posterior (the encoder's, shifted and widened), per row and averaged over many
    sets of draws: IWAE_1 <= IWAE_8 <= IWAE_64 <= log p(x) (exact, by quadrature), IWAE_64 much closer to
    log p(x) than the ELBO, and IWAE_1's mean is the closed-form ELBO to Monte-Carlo error."""
    model = small_model(latent_dim=1)
    x = factor_data_array(12)
    exact = exact_log_density(model, x)
    z_mean, z_log_scale = model.encode(x)
    q_mean, q_log_scale = z_mean + 0.5, z_log_scale + 0.7
    bounds, errors = {}, {}
    for k, repeats in ((1, 4000), (8, 500), (64, 60)):
        log_likelihood, z = draws_of(model, x, q_mean, q_log_scale, k * repeats, key=3)
        # Set r is draws r*k .. (r+1)*k-1: the sets side by side on a second axis, bounded in one call.
        per_set = importance_weighted_bound(
            tf.transpose(tf.reshape(log_likelihood, [repeats, k, len(x)]), [1, 0, 2]),
            tf.transpose(tf.reshape(z, [repeats, k, len(x), 1]), [1, 0, 2, 3]),
            DiagonalGaussian(q_mean, q_log_scale)).numpy()
        bounds[k] = np.mean(per_set, axis=0)
        errors[k] = np.std(per_set, axis=0) / np.sqrt(repeats)  # the mean's standard error
    log_likelihood, _ = draws_of(model, x, q_mean, q_log_scale, 20000, key=4)
    elbo = tf.reduce_mean(log_likelihood, axis=0).numpy() - gaussian_kl(q_mean, q_log_scale).numpy()
    assert np.all(np.abs(bounds[1] - elbo) < 5 * errors[1])
    assert np.all(bounds[1] < bounds[8]) and np.all(bounds[8] < bounds[64]) and np.all(bounds[64] < exact + 5 * errors[64] + 1e-4)
    assert np.mean(exact - bounds[64]) < 0.3 * np.mean(exact - elbo)


@pytest.mark.parametrize("flags, message", [
    (["--beta", "4"], "--objective iwae is a bound on log p(x) with no KL weight: leave --beta at 1 (got 4)"),
    (["--kl-warmup-epochs", "5"], "--kl-warmup-epochs schedules a KL weight that --objective iwae does not have"),
    (["--capacity", "3"], "--capacity schedules a KL weight that --objective iwae does not have"),
    (["--mc-samples", "1"], "--objective iwae with --mc-samples 1 is the ELBO estimated by one draw"),
])
def test_iwae_refuses_what_it_has_no_use_for_in_one_line(flags, message, tmp_path):
    from betavae.commands import train
    from conftest import run_main
    result = run_main(train.main, "--objective", "iwae", *flags, "--checkpoint-dir", str(tmp_path / "run"))
    assert result.returncode == 2 and result.stderr.startswith(f"error: {message}")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_iwae_runs_train_with_k_8_resume_and_evaluate_as_their_objective(tmp_path, monkeypatch, capsys):
    from betavae.commands import after_training, train
    common, run = small_run_flags(tmp_path, monkeypatch)
    assert train.main([*common, "--objective", "iwae", "--epochs", "2"]) == 0
    assert "objective  -IWAE: -log (1/K) sum_k p(x, z_k) / q(z_k|x), K = 8" in capsys.readouterr().out
    with open(tmp_path / "run" / "config.json", encoding="utf-8") as handle:
        saved = json.load(handle)
    assert (saved["objective"], saved["mc_samples"], saved["beta"]) == ("iwae", 8, 1.0)
    assert train.main([*common, "--resume", "--epochs", "3"]) == 0
    assert "resuming" in capsys.readouterr().out
    assert after_training.main(["--mode", "evaluate", "--checkpoint-dir", run, "--iwae-samples", "5"]) == 0
    report = " ".join(capsys.readouterr().out.split())
    assert "importance-weighted bound (IWAE) with K=8" in report
    assert "beta-objective at beta 1" in report  # labelled a comparison, not what the run trained
    with open(tmp_path / "run" / "evaluation.json", encoding="utf-8") as handle:
        evaluation = json.load(handle)
    assert (evaluation["objective"], evaluation["training_samples"]) == ("iwae", 8)
