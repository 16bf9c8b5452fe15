"""--mode evaluate on degenerate but legitimate runs: exit 0, strict JSON with null and a reason, stage
lines, short report lines; and the same numbers from two calls in one process."""
import json
import pathlib
import re

import numpy as np
import pytest

from betavae.commands import after_training as after_training_command
from betavae.commands import generate as generate_command
from betavae.scoring import references as evaluation
from betavae.scoring import evaluate as scoring
from betavae.data import loading
from betavae.run.folder import RunFolder
from betavae.model.inference import encode_with_kl, score_rows
from conftest import REPO, committed_run, factor_data_array
from test_evaluation import linear_gaussian_model


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Tiny committed runs (one epoch of an untrained model: the tests are about evaluating, not training) on
    degenerate data: 3-D with a constant column and a 4-D latent; 10 rows of 10-D data."""
    constant = factor_data_array(200)[:, :3]
    constant[:, 1] = 7.0
    make = {"constant": (constant, ["--latent-dim", "4"]),
            "ten rows": (np.load(f"{REPO}/data/gaussian_10d.npy")[:10], [])}
    runs = {}
    for name, (rows, flags) in make.items():
        folder = tmp_path_factory.mktemp(name.replace(" ", "_"))
        np.save(folder / "data.npy", rows)
        runs[name] = committed_run(folder / "run", folder / "data.npy", epochs=1, flags=flags).path
    return {name: pathlib.Path(path) for name, path in runs.items()}


def strict_json(path):
    def refuse(constant):
        raise AssertionError(f"{path} holds {constant}: not strict JSON")
    return json.loads(path.read_text(), parse_constant=refuse)


@pytest.mark.parametrize("name, reason", [("constant", "x2 constant"), ("ten rows", "too few training rows (9)")])
def test_degenerate_runs_evaluate_to_strict_json_with_reasons(runs, capsys, name, reason):
    run = runs[name]
    status = after_training_command.main(["--mode", "evaluate", "--checkpoint-dir", str(run),
                                           "--iwae-samples", "5", "--num-samples", "200"])
    out = capsys.readouterr().out
    assert status == 0
    report = strict_json(run / "evaluation.json")
    for stage in ("model", "IWAE", "references", "KL parts", "prior samples", "alignment", "disentanglement"):
        assert [line for line in out.splitlines() if line.startswith(stage) and line.endswith(" ...")]
        assert [line for line in out.splitlines() if line.startswith(stage) and ": done in " in line]
    assert all(len(line) < 100 for line in out.splitlines()), max(out.splitlines(), key=len)
    assert report["checkpoint"]["file"] == "ckpt-1" and report["checkpoint"]["epoch"] == 1
    folded = report["folded_posterior"]
    assert folded["rows"] == report["test_rows"] and 0 <= folded["share_of_rows"] <= 1
    assert "folded posterior: " in out
    assert np.isfinite(report["test_nll_iwae"]) and np.isfinite(report["kl"])
    assert len(report["kl_per_dim"]) == report["latent_dim"]
    for key in ("fa_nll", "gaussian_nll", "linear_beta_optimum"):
        assert report["reference"][key] is None and reason in report["unavailable"][f"reference.{key}"]
        assert f"n/a reference.{key}: " in out
    assert report["gap_to_fa"] is None


def test_linear_optimum_with_more_latent_units_than_data_dimensions_leaves_the_extra_ones_unused():
    cov = np.cov(factor_data_array(300)[:, :3], rowvar=False)
    wide, exact = (evaluation.linear_beta_optimum(np.zeros(3), cov, 1.0, latent_dim) for latent_dim in (5, 3))
    assert wide["W"].shape == (3, 5) and np.all(wide["kl_per_dim"][3:] == 0)
    assert wide["objective"] == pytest.approx(exact["objective"], abs=1e-9)


def test_one_row_to_evaluate_gives_null_moment_errors_with_a_reason(runs):
    rows = np.load(runs["constant"].parent / "data.npy")[:1]
    report = scoring.evaluate_run(RunFolder(runs["constant"]), iwae_samples=5, num_samples=100, rows=rows)
    assert report["test_rows"] == 1 and report["prior_samples"]["cov_error"] is None
    assert "no covariance" in report["unavailable"]["prior_samples"]
    assert report["recon"]["explained_variance"] == [None] * 3 and report["recon"]["mse"] >= 0
    assert "do not vary" in report["unavailable"]["recon.explained_variance"]
    assert np.isfinite(report["test_nll_iwae"])
    json.loads(scoring.report_json(report), parse_constant=pytest.fail)


def test_two_calls_in_one_process_give_the_same_report_and_progress_lines(runs):
    lines = []
    first = scoring.evaluate_run(RunFolder(runs["constant"]), iwae_samples=7, num_samples=50, seed=3, progress=lines.append)
    again = scoring.evaluate_run(RunFolder(runs["constant"]), iwae_samples=7, num_samples=50, seed=3)
    assert first == again and np.isfinite(first["test_nll_iwae"]) and first["prior_samples"]["mean_error"] > 0
    assert [line.split(":")[0] for line in lines if ": done in" in line] == [
        "model", "IWAE", "references", "gap decomposition", "KL parts", "prior samples", "alignment", "disentanglement"]


def test_non_finite_numbers_become_null_with_a_reason():
    unavailable = {}
    cleaned = scoring._finite_or_null({"a": float("nan"), "b": [1.0, np.float32("inf")], "c": {"d": 2}}, "",
                                      unavailable)
    assert cleaned == {"a": None, "b": [1.0, None], "c": {"d": 2}}
    assert set(unavailable) == {"a", "b[1]"} and "not finite" in unavailable["b[1]"]
    assert json.loads(scoring.report_json(cleaned)) == cleaned


def test_report_lines_stay_under_100_characters_for_wide_data():
    report = {"beta": 1.0, "objective": "beta", "latent_dim": 3, "test_rows": 10, "rows": "held-out test rows", "checkpoint": None,
              "iwae_samples": 5, "num_samples": 10, "test_elbo": -1.0, "test_beta_objective": 1.0,
              "test_nll_iwae": 1.0, "kl": 0.3, "kl_per_dim": [0.1, 0.15, 0.05], "active_units": 2,
              "active_units_kl": 2, "gap_to_fa": None, "gap_to_linear_optimum": None,
              "reference": {"gaussian_nll": None, "fa_nll": None, "collapse_beta": None, "linear_beta_optimum": None},
              "prior_samples": {"mean_error": 0.1, "cov_error": 0.02, "frechet": 0.3},
              "recon": {"mse": 0.5, "explained_variance": [0.123456] * 40},
              "alignment": {"per_unit_to_optimum": [0.99, 0.98], "per_unit_to_truth": [], "latent_correlation": None},
              "notes": ["a long note " * 12], "unavailable": {"reference.fa_nll": "a long reason " * 12}}
    text = scoring.format_report(report, "/a/rather/long/folder/name/for/a/run/" * 2)
    assert all(len(line) < 100 for line in text.splitlines())
    assert "z2 0.1500, z1 0.1000, z3 0.0500" in text and text.count("0.123") == 40
    # A diverged model's numbers are null in the report (strict JSON): each is printed as n/a.
    nulls = {"mean_error": None, "cov_error": None, "frechet": 0.3}
    report.update(recon={"mse": None, "explained_variance": [None] * 3}, prior_samples={**nulls, "truth": nulls})
    text = scoring.format_report(report, "run")
    assert "MSE per data dim n/a" in text and "mean error n/a" in text and "covariance error n/a" in text
    # A capacity run's report names its objective, gamma and C, and labels the beta-objective a comparison.
    report.update(objective="capacity", capacity=25.0, gamma=100.0)
    text = " ".join(scoring.format_report(report, "run").split())
    assert "capacity objective gamma |KL - C| - E_q log p(x|z) with gamma 100 and C rising to 25 nats" in text
    assert "beta-objective at beta 1 " in text and "a comparison, not the objective this run trained" in text


def test_score_rows_matches_the_exact_likelihood_and_the_separate_estimators():
    model, mean, covariance = linear_gaussian_model()
    x = np.random.default_rng(4).multivariate_normal(mean, covariance, size=200).astype(np.float32)
    exact = -evaluation.gaussian_nll(x, mean, covariance)
    scores = score_rows(model, x, 500, seed=0, max_evaluations=508 * 64)  # blocks of 162 draws
    assert np.mean(scores["iwae"]) == pytest.approx(exact, abs=0.01)
    means, kl_by_dim = encode_with_kl(model, x)
    np.testing.assert_allclose(scores["kl_per_dim"], kl_by_dim, rtol=1e-4, atol=1e-5)
    elbo = scores["log_likelihood"] - scores["kl_per_dim"].sum(axis=1)
    assert np.mean(elbo) < np.mean(scores["iwae"])  # the diagonal encoder is not the exact posterior
    np.testing.assert_allclose(scores["recon_means"], model(x).numpy(), rtol=1e-5, atol=1e-4)


def test_score_rows_in_groups_of_draws_gives_the_same_estimates():
    model, mean, covariance = linear_gaussian_model()
    x = np.random.default_rng(5).multivariate_normal(mean, covariance, size=50).astype(np.float32)
    whole, grouped = (score_rows(model, x, 300, seed=1, max_evaluations=limit) for limit in (1 << 17, 128))
    exact = -evaluation.gaussian_nll(x, mean, covariance)
    assert np.mean(grouped["iwae"]) == pytest.approx(exact, abs=0.01)  # 3 groups: 128 + 128 + 44 draws
    assert np.mean(grouped["iwae"]) == pytest.approx(np.mean(whole["iwae"]), abs=0.01)
    assert np.mean(grouped["log_likelihood"]) == pytest.approx(np.mean(whole["log_likelihood"]), abs=0.02)
    np.testing.assert_array_equal(grouped["kl_per_dim"], whole["kl_per_dim"])


def test_the_report_holds_the_kl_parts_from_the_encoders_pass_and_prints_them_in_one_line(runs):
    report = scoring.evaluate_run(RunFolder(runs["constant"]), iwae_samples=5, num_samples=50, seed=2)
    parts = report["kl_decomposition"]
    assert parts["n_rows"] == report["test_rows"] and parts["kl_analytic"] == pytest.approx(report["kl"], rel=1e-5)
    total = parts["index_code_mi"] + parts["total_correlation"] + parts["dimension_wise_kl"]
    assert total == pytest.approx(parts["kl_monte_carlo"], rel=1e-12)
    # The constant run's MI is 0: its Monte-Carlo estimate falls on either side of it by the draws' noise.
    assert -0.05 <= parts["index_code_mi"] <= parts["index_code_mi_max"] + 1e-6
    json.loads(scoring.report_json(report), parse_constant=pytest.fail)
    wide = dict(report, kl_decomposition=dict(parts, n_rows=100_000, index_code_mi=-10.5, total_correlation=-3.25,
                                               dimension_wise_kl=123.0))
    lines = [line for line in scoring.format_report(wide, "run").splitlines() if "KL parts" in line]
    assert lines == ["  KL parts, estimate over 100000 rows (nats/sample): MI -10.5000 + TC -3.2500 + dim-wise "
                     "123.0000"]


def test_evaluate_scores_the_prior_samples_that_mode_prior_writes(tmp_path, capsys):
    """One seed, one set of prior samples: evaluate's comparison line equals --mode prior's."""
    np.save(tmp_path / "data.npy", factor_data_array())
    run = str(committed_run(tmp_path / "run", tmp_path / "data.npy", epochs=1).path)
    assert after_training_command.main(["--mode", "prior", "--checkpoint-dir", run, "--num-samples", "500",
                                        "--seed", "3"]) == 0
    prior = re.search(r"covariance error ([0-9.]+)%", capsys.readouterr().out).group(1)
    assert after_training_command.main(["--mode", "evaluate", "--checkpoint-dir", run, "--num-samples", "500",
                                        "--seed", "3", "--iwae-samples", "5"]) == 0
    capsys.readouterr()
    with open(tmp_path / "run" / "evaluation.json", encoding="utf-8") as handle:
        evaluated = json.load(handle)["prior_samples"]["cov_error"]
    assert f"{100 * evaluated:.2f}" == prior


def test_a_truth_written_for_other_data_beside_the_runs_data_is_a_warning_and_no_true_nll(tmp_path, capsys):
    """`generate --output gen.txt` writes another dataset's gen.truth.json beside a run's gen.npy; the truth
    records its data's SHA-256, which is not the run's, so evaluate goes on without it."""
    data = tmp_path / "gen.npy"
    assert generate_command.main(["generate", "--dim", "4", "--factors", "1", "--rows", "600", "--seed", "1",
                                  "--output", str(data)]) == 0
    run = str(committed_run(tmp_path / "run", data, epochs=1, flags=("--latent-dim", "1")).path)
    sha = RunFolder(run).load_config().data_sha256
    assert loading.load_truth(str(data), 4, data_sha256=sha).data_sha256 == sha  # its own truth is taken
    assert generate_command.main(["generate", "--dim", "4", "--factors", "1", "--rows", "600", "--seed", "2",
                                  "--output", str(tmp_path / "gen.txt"), "--overwrite"]) == 0
    capsys.readouterr()
    other = scoring.evaluate_run(run, iwae_samples=5, num_samples=50)
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"warning: {tmp_path / 'gen.truth.json'}: written with a data "
                                                   "file of SHA-256"), lines
    assert "true_nll" not in other["reference"] and "gap_to_truth" not in other
    assert "SHA-256" in other["unavailable"]["reference.true_nll"]
    assert other["test_nll_iwae"] is not None  # the model's own scores go on
