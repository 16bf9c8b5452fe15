"""Data with awkward values (columns that never vary, values near float32's largest, a huge offset over small
noise) go through training, the after-training modes and their plots without a raw numpy RuntimeWarning:
each such warning is made an error here, so one that reappears fails the test instead of reaching stderr."""
import warnings

import numpy as np
import pytest

from betavae.commands import after_training as after_training_command
from betavae.commands import train as train_command
from betavae.plots.run import data_correlation
from betavae.scoring.references import moment_errors_of
from conftest import committed_run, factor_data_array, run_main


def awkward(kind):
    rows = factor_data_array(120).astype(np.float64)
    if kind == "constant column":
        rows[:, 2] = 7.0
    elif kind == "all constant":
        rows[:] = -3.0
    elif kind == "near float32's largest":
        rows[:, 0] = (rows[:, 0] - 50) * 1e35
    elif kind == "huge offset":
        rows = 1e30 + rows
    return rows.astype(np.float32)


KINDS = ("constant column", "all constant", "near float32's largest", "huge offset")


@pytest.fixture
def no_runtime_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        yield


def test_correlation_of_a_column_that_does_not_vary_is_zero_and_huge_values_do_not_overflow(no_runtime_warnings):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((50, 3))
    data = np.c_[x[:, 0] * 3e37, np.full(50, 2.0), -x[:, 0] + 0.1 * x[:, 1]].astype(np.float32)
    correlation = data_correlation(data)
    expected = np.corrcoef(np.c_[x[:, 0], -x[:, 0] + 0.1 * x[:, 1]], rowvar=False)[0, 1]
    assert correlation[0, 2] == pytest.approx(expected, rel=1e-5) and correlation[0, 1] == correlation[1, 2] == 0
    assert np.diag(correlation).tolist() == [1.0, 1.0, 1.0]


def test_a_covariance_error_relative_to_rows_that_do_not_vary_is_none(no_runtime_warnings):
    errors = moment_errors_of(np.ones(2), np.eye(2), np.zeros(2), np.zeros((2, 2)))
    assert errors["cov_error"] is None and errors["mean_error"] == pytest.approx(2 ** 0.5)


@pytest.mark.slow  # about 30 s a kind; the unit tests above and the prior test below are its fast twin
@pytest.mark.parametrize("kind", KINDS)
def test_awkward_data_pass_every_mode_without_a_runtime_warning(tmp_path, no_runtime_warnings, kind):
    np.save(tmp_path / "data.npy", awkward(kind))
    run = committed_run(tmp_path / "run", tmp_path / "data.npy")
    modes = {"prior": ["--num-samples", 50, "--output", tmp_path / "p.csv"], "recon": ["--output", tmp_path / "r.csv"],
             "plot": ["--num-samples", 50]}
    if kind in ("all constant", "near float32's largest"):  # the slowest mode, on the two kinds that need it most
        modes["evaluate"] = ["--iwae-samples", 3, "--num-samples", 50]
    for mode, flags in modes.items():
        result = run_main(after_training_command.main, "--mode", mode, *flags, "--checkpoint-dir", run.path)
        assert result.returncode == 0 and "Warning" not in result.stderr, (mode, result.stderr)
        if mode == "prior" and kind == "all constant":
            assert "covariance error n/a (the rows do not vary)" in result.stdout


@pytest.mark.parametrize("kind", ["all constant", "constant column"])
def test_prior_samples_compared_with_awkward_data_say_no_runtime_warning(tmp_path, no_runtime_warnings, kind):
    np.save(tmp_path / "data.npy", awkward(kind))
    run = committed_run(tmp_path / "run", tmp_path / "data.npy")
    result = run_main(after_training_command.main, "--mode", "prior", "--num-samples", 50, "--output",
                      tmp_path / "p.csv", "--checkpoint-dir", run.path)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert ("covariance error n/a (the rows do not vary)" in result.stdout) == (kind == "all constant")


def test_training_on_awkward_data_says_no_runtime_warning(tmp_path, no_runtime_warnings):
    np.save(tmp_path / "data.npy", awkward("constant column"))
    result = run_main(train_command.main, "--data", tmp_path / "data.npy", "--checkpoint-dir", tmp_path / "run",
                      "--hidden-units", 8, "--epochs", 1)
    assert result.returncode == 0 and "Warning" not in result.stderr, result.stderr


def test_the_pairs_plot_pairs_a_column_that_does_not_vary_without_a_warning(no_runtime_warnings):
    from betavae.plots.run import informative_pairs
    data = awkward("constant column")
    assert sorted(sum(informative_pairs(data), ())) == [0, 1, 2, 3]
