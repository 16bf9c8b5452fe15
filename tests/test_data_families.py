"""Non-linear ground truth (data_families) and the checked `generate` CLI."""
import contextlib
import dataclasses
import json
import os

import numpy as np
import pytest
from scipy import stats

from betavae.data import families, family_maps, loading
from betavae.data.truth import Truth
from betavae.commands import generate as generate_command
from betavae.scoring.references import gaussian_log_densities
from betavae.scoring.truth import true_log_densities


@pytest.mark.parametrize("family, dim", [(family, 6) for family in families.NONLINEAR_FAMILIES]
                         + [("periodic", 24), ("roll", 24)])
def test_quadrature_agrees_with_a_finer_grid_and_with_monte_carlo(family, dim):
    data, latents, raw = families.sample_family(family, dim=dim, factors=2, rows=500, seed=4)
    truth = Truth.from_json(raw, dim)
    rows = data[np.r_[np.argmax(np.abs(latents).max(axis=1)), 0, 1]]  # the farthest row out, and two others
    quadrature = families.log_density(rows, truth)
    finer = families.log_density(rows, truth, spacing=families.grid_spacing(truth) / 3)
    np.testing.assert_allclose(quadrature, finer, atol=1e-4)
    # Independent estimate: p(x) = E_{z ~ prior}[p(x|z)] averaged over many prior draws.
    rng = np.random.default_rng(0)
    component = rng.choice(len(truth.prior_weights), size=400_000, p=truth.prior_weights)
    z = truth.prior_means[component] + truth.prior_scales[component, None] * rng.standard_normal((len(component), 2))
    means = families.decoder_mean(z, truth)
    psi = truth.psi
    for row, exact in zip(rows, quadrature):
        log_terms = -0.5 * np.sum((row - means) ** 2 / psi + np.log(2 * np.pi * psi), axis=1)
        terms = np.exp(log_terms - log_terms.max())
        estimate = log_terms.max() + np.log(terms.mean())
        stderr = terms.std() / terms.mean() / np.sqrt(len(terms))  # of the log, by the delta method
        assert abs(estimate - exact) < 4 * stderr + 1e-3


def test_quadrature_of_a_linear_family_equals_the_closed_form_gaussian():
    data, truth = families.generate(dim=6, factors=2, rows=200, seed=3, eigenvalues=[3.0, 1.5])
    exact = gaussian_log_densities(data, truth["mean"], truth["covariance"])
    np.testing.assert_allclose(families.log_density(data, Truth.from_json(truth)), exact, atol=1e-6)


@pytest.mark.parametrize("family", families.NONLINEAR_FAMILIES)
def test_generated_rows_are_the_map_of_their_latents_plus_noise_and_match_the_exact_moments(family):
    data, latents, truth = families.sample_family(family, dim=5, factors=2, rows=40_000, seed=8)
    residual = data - families.decoder_mean(latents, Truth.from_json(truth))
    np.testing.assert_allclose(residual.var(axis=0), truth["psi"], rtol=0.05)
    covariance = np.asarray(truth["covariance"])
    scale = np.sqrt(np.diag(covariance))
    np.testing.assert_allclose(np.cov(data.T) / np.outer(scale, scale), covariance / np.outer(scale, scale),
                               atol=0.03)
    assert np.all(np.abs(data.mean(axis=0) - truth["mean"]) < 0.03 * scale)


@pytest.mark.parametrize("family", families.NONLINEAR_FAMILIES)
def test_jacobian_matches_finite_differences(family):
    _, latents, raw = families.sample_family(family, dim=4, factors=2, rows=5, seed=1)
    truth = Truth.from_json(raw)
    step = 1e-6
    numeric = np.stack([(families.decoder_mean(latents + step * e, truth)
                         - families.decoder_mean(latents - step * e, truth)) / (2 * step)
                        for e in np.eye(2)], axis=-1)
    np.testing.assert_allclose(families.decoder_jacobian(latents, truth), numeric, atol=1e-6)


@pytest.mark.parametrize("frequency", [2.0, 5.0, 12.0])
def test_the_grid_of_a_periodic_map_resolves_its_frequency(frequency):
    data, latents, raw = families.sample_family("periodic", dim=8, factors=1, rows=300, seed=2)
    base = Truth.from_json(raw)
    truth = dataclasses.replace(base, Omega=base.Omega * frequency / family_maps.PERIODIC_FREQUENCY)
    rows = families.decoder_mean(latents, truth) + (data - families.decoder_mean(latents, base))  # same noise
    spacing = families.grid_spacing(truth)
    # sin(k z) changes k times faster, so the posterior (and the grid step) narrows about k times
    assert spacing < 1.2 * families.grid_spacing(base) * family_maps.PERIODIC_FREQUENCY / frequency
    np.testing.assert_allclose(families.log_density(rows, truth), families.log_density(rows, truth, spacing / 3),
                               atol=1e-4)


@pytest.mark.parametrize("family", ["periodic", "saturating", "roll", "fold"])
def test_every_parameter_round_trips_through_the_truth_json(tmp_path, family):
    output = tmp_path / "f.npy"
    assert generate_command.main(["generate", "--family", family, "--dim", "8", "--factors", "2", "--rows", "400",
                                 "--seed", "6", "--output", str(output)]) == 0
    saved = json.loads((tmp_path / "f.truth.json").read_text())
    _, latents, raw = families.sample_family(family, dim=8, factors=2, rows=400, seed=6)
    truth, parsed = Truth.from_json(raw), loading.load_truth(str(output))
    assert saved["family"] == family and np.allclose(np.load(tmp_path / "f.latents.npy"), latents)
    data = np.load(output)
    np.testing.assert_allclose(families.decoder_mean(latents, parsed), families.decoder_mean(latents, truth))
    np.testing.assert_allclose(true_log_densities(data, parsed), families.log_density(data, truth), rtol=1e-12)
    uses = {"periodic": "B", "saturating": "H", "roll": "R", "fold": "C"}[family]  # the term that folds
    assert np.abs(saved[uses]).max() > 0.1


def test_generate_writes_data_truth_and_latents_and_reaches_the_asked_eigenvalues(tmp_path):
    output = tmp_path / "g.npy"
    assert generate_command.main(["generate", "--rows", "2000", "--eigenvalues", "6.9,2.2", "--seed", "101",
                                 "--output", str(output)]) == 0
    truth = json.loads((tmp_path / "g.truth.json").read_text())
    assert truth["correlation_eigenvalues"][:2] == pytest.approx([6.9, 2.2], rel=families.EIGENVALUE_TOLERANCE)
    assert np.load(tmp_path / "g.latents.npy").shape == (2000, 2)
    sine = tmp_path / "s.csv"
    assert generate_command.main(["generate", "--family", "sine", "--factors", "1", "--rows", "300",
                                 "--output", str(sine)]) == 0
    assert json.loads((tmp_path / "s.truth.json").read_text())["family"] == "sine"
    assert np.load(tmp_path / "s.latents.npy").shape == (300, 1)


def test_generate_makes_a_missing_folder_and_a_failure_leaves_none(tmp_path, capsys):
    output = tmp_path / "new" / "deep" / "g.npy"
    assert generate_command.main(["generate", "--rows", "50", "--output", str(output)]) == 0
    assert sorted(os.listdir(output.parent)) == ["g.latents.npy", "g.npy", "g.truth.json"]
    (tmp_path / "kept").mkdir()  # an empty folder of the user's stays, though the failed call made none in it
    failed = tmp_path / "kept" / "other" / "deeper" / "x.npy"
    assert generate_command.main(["generate", "--rows", "50", "--eigenvalues", "2.5,1.1", "--output",
                                 str(failed)]) == 2  # refused by the generator, after the folders were made
    assert "achievable" in capsys.readouterr().err and os.listdir(tmp_path / "kept") == []


@pytest.mark.parametrize("flags, message", [
    (["--eigenvalues", "2,7"], "descending"),
    (["--eigenvalues", "7"], "one value per factor"),
    (["--eigenvalues", "2.5,1.1"], "achievable"),
    (["--eigenvalues", "4.4,0.1"], "must exceed the mean"),
    (["--eigenvalues", "7,x"], "comma-separated numbers"),
    (["--eigenvalues", "7,-1"], "positive"),
    (["--family", "sine", "--eigenvalues", "7,1"], "linear family"),
    (["--family", "sheet", "--factors", "3"], "1-D or 2-D latent"),
    (["--family", "spiral"], "invalid choice"),
    (["--rows", "many"], "invalid int"),
    (["--overwrite-not"], "unrecognized"),
])
def test_bad_generate_flags_give_one_error_line(tmp_path, capsys, flags, message):
    with pytest.raises(SystemExit) if message in ("invalid choice", "invalid int", "unrecognized") else contextlib.nullcontext():
        status = generate_command.main(["generate", "--rows", "100", "--output", str(tmp_path / "x.npy"), *flags])
        assert status == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("error: ") and message in error
    assert not (tmp_path / "x.npy").exists()


def test_generate_refuses_to_overwrite_without_the_flag(tmp_path, capsys):
    output = tmp_path / "d.npy"
    np.save(output, np.ones((3, 2)))
    assert generate_command.main(["generate", "--rows", "100", "--output", str(output)]) == 2
    assert "--overwrite" in capsys.readouterr().err and np.load(output).shape == (3, 2)
    assert generate_command.main(["generate", "--rows", "100", "--output", str(output), "--overwrite"]) == 0
    assert np.load(output).shape == (100, 10)



@pytest.mark.parametrize("family", families.NONLINEAR_FAMILIES)
def test_log_joint_is_the_density_of_x_and_z_and_has_its_gradient(family):
    _, _, raw = families.sample_family(family, dim=5, factors=2, rows=5, seed=2)
    truth = Truth.from_json(raw)
    x = families.decoder_mean(np.random.default_rng(0).normal(size=(4, 2)), truth) + 0.3
    z = np.random.default_rng(1).normal(size=(3, 4, 2))  # three latent points for each of four rows
    values, gradient = families.log_joint(x, z, truth)
    for node, row in ((0, 1), (2, 3)):
        expected = (stats.multivariate_normal.logpdf(x[row], families.decoder_mean(z[node, row:row + 1], truth)[0],
                                                     np.diag(truth.psi))
                    + families.log_prior(z[node, row:row + 1], truth)[0])
        assert values[node, row] == pytest.approx(expected, rel=1e-10)
    step = 1e-6
    numeric = np.stack([(families.log_joint(x, z + step * e, truth)[0] - families.log_joint(x, z - step * e, truth)[0])
                        / (2 * step) for e in np.eye(2)], axis=-1)
    np.testing.assert_allclose(gradient, numeric, rtol=1e-5, atol=1e-5)
