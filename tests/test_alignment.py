"""Alignment of learned latent axes with known factors, and the notes on the linear references."""
import types

import numpy as np
import pytest
import tensorflow as tf

from betavae.scoring import alignment
from betavae.data import families
from betavae.commands import generate as generate_command
from betavae.data import loading
from betavae.model.vae import BetaVAE
from betavae.scoring.references import gaussian_log_densities
from betavae.scoring.truth import (SIGNIFICANCE, advantage, fitted_gaussian_excess, latents_of_test_rows,
                                   reference_notes)


def rotation(angle):
    return np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])


def test_alignment_is_one_for_the_optimum_and_falls_as_it_is_rotated():
    loadings = np.random.default_rng(0).standard_normal((6, 2))
    scale = np.linspace(0.5, 3.0, 6)
    scores = [alignment.alignment(loadings @ rotation(angle), [True, True], scale, optimum_loadings=loadings)
              ["mean_to_optimum"] for angle in (0.0, 0.2, 0.5, 0.8)]
    assert scores[0] == pytest.approx(1.0, abs=1e-12)
    assert all(later < earlier for earlier, later in zip(scores, scores[1:]))


def test_alignment_reports_only_active_units_and_none_without_references():
    loadings = np.random.default_rng(1).standard_normal((5, 2))
    directions = np.concatenate([loadings[:, :1], np.ones((5, 1))], axis=1)
    result = alignment.alignment(directions, [True, False], np.ones(5), optimum_loadings=loadings)
    assert result["per_unit_to_optimum"] == pytest.approx([1.0])
    assert result["per_unit_to_truth"] == [] and result["mean_to_truth"] is None
    assert alignment.alignment(directions, [False, False], np.ones(5), loadings)["mean_to_optimum"] is None


def test_latent_correlation_is_one_up_to_scale_and_sign_and_falls_under_rotation():
    latents = np.random.default_rng(2).standard_normal((5000, 2))
    assert alignment.latent_correlation(latents * [-3.0, 0.5] + 7.0, latents) == pytest.approx(1.0)
    assert alignment.latent_correlation(latents @ rotation(0.6), latents) < 0.9


def test_decoder_directions_are_the_mean_jacobian_of_the_decoder_mean():
    tf.keras.utils.set_random_seed(3)
    model = BetaVAE(4, 2, 8, [1.0, 2.0, 3.0, 4.0], [2.0, 1.0, 0.5, 3.0])
    z = np.random.default_rng(3).standard_normal((50, 2)).astype(np.float32)
    step = 1e-3  # small, so few differences straddle a ReLU kink
    numeric = np.stack([((model.decode(z + step * e)[0] - model.decode(z - step * e)[0]).numpy() / (2 * step))
                        .mean(axis=0) for e in np.eye(2, dtype=np.float32)], axis=1)
    np.testing.assert_allclose(alignment.decoder_directions(model, z), numeric, rtol=1e-2, atol=1e-3)


def test_true_latents_belong_to_the_test_rows(tmp_path):
    output = tmp_path / "m.npy"
    assert generate_command.main(["generate", "--family", "mixture", "--dim", "5", "--rows", "3000",
                                 "--output", str(output)]) == 0
    config = types.SimpleNamespace(data=str(output), test_data=None, train_rows=2700, test_rows=300,
                                   test_fraction=0.1, seed=4)  # the RunConfig fields latents_of_test_rows reads
    test_rows = np.load(output)[loading.split_indices(3000, 0.1, 4)[1]]
    truth = loading.load_truth(str(output))
    residual = test_rows - families.decoder_mean(latents_of_test_rows(config), truth)
    np.testing.assert_allclose(residual.var(axis=0), truth.psi, rtol=0.3)  # wrong rows: far larger


def test_notes_label_the_linear_family_flag_no_optimum_below_one_and_measured_non_gaussianity():
    reference = {"collapse_beta": 6.8}
    rng = np.random.default_rng(5)
    same = advantage(rng.normal(0, 1, 1000), rng.normal(0, 1, 1000))
    notes = reference_notes(1.0, reference, same)
    assert notes["objective_has_optimum"] and not notes["non_gaussian"] and len(notes["notes"]) == 1
    assert "best linear-Gaussian model" in notes["notes"][0] and "6.800" in notes["notes"][0]
    below = reference_notes(0.5, {**reference, "linear_beta_optimum": {}}, same)
    assert not below["objective_has_optimum"] and "no finite optimum" in below["notes"][1]
    assert "floor" in below["notes"][1] and "floor" not in reference_notes(0.0, reference, same)["notes"][1]
    better = advantage(rng.normal(0.2, 1, 1000), rng.normal(0, 1, 1000))
    beaten = reference_notes(1.0, reference, better)
    assert beaten["non_gaussian"] and f"{better['mean']:.4f}" in beaten["notes"][-1]



def test_exactly_gaussian_data_is_not_called_non_gaussian():
    """20-D Gaussian data: the truth beats the *fitted* Gaussian on held-out rows by about its estimation
    error (D + D(D+1)/2) / 2n, with a tiny standard error; that is no evidence of non-Gaussianity."""
    dim, rows = 20, 4000
    rng = np.random.default_rng(3)
    loadings = rng.normal(size=(dim, 3))
    covariance = loadings @ loadings.T + np.diag(rng.uniform(0.2, 1.0, dim))
    train, test = (rng.multivariate_normal(np.zeros(dim), covariance, size=rows) for _ in range(2))
    fitted = gaussian_log_densities(test, train.mean(axis=0), np.cov(train, rowvar=False))
    true_advantage = advantage(gaussian_log_densities(test, np.zeros(dim), covariance), fitted)
    excess = fitted_gaussian_excess(dim, rows)
    assert true_advantage["mean"] > SIGNIFICANCE * true_advantage["stderr"]  # the old test's false alarm
    assert true_advantage["mean"] == pytest.approx(excess, rel=0.5)
    worse = {"mean": -0.01, "stderr": 0.001}
    for truth_known in (False, True):
        notes = reference_notes(1.0, {}, worse, true_advantage, gaussian_excess=excess, gaussian_truth=truth_known)
        assert not notes["non_gaussian"] and not any("non-Gaussian" in note for note in notes["notes"])


def test_a_model_worse_than_the_gaussian_is_not_said_to_beat_it():
    truth_better, model_worse = {"mean": 0.3, "stderr": 0.01}, {"mean": -0.05, "stderr": 0.01}
    note = reference_notes(1.0, {}, model_worse, truth_better)["notes"][-1]
    assert "the truth's -log p(x) is 0.3000 nats below" in note
    assert "this model's -log p(x) is 0.0500 +- 0.0100 nats above the Gaussian's" in note
