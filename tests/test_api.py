"""The Python API gives the CLIs' numbers: sample and reconstruct equal --mode prior/recon's files, evaluate
equals evaluation.json for a path or a Run, encode agrees with the evaluation's encoder pass, and a bad
setting is one line naming it. `import betavae` stays free of TensorFlow."""
import ast
import json
import importlib
import math
import os
import pathlib
import pkgutil
import shutil
import subprocess
import sys

import numpy as np
import pytest

import betavae
from betavae import api
from betavae.commands import after_training as after_training_command
from betavae.data import loading
from betavae.run.folder import DATA_FILE
from betavae.training.setup import default_settings
from conftest import REPO, committed_run, factor_data_array


@pytest.fixture(scope="module")
def run_path(tmp_path_factory):
    """A committed run (2 epochs of an untrained model, 8 hidden units) on small 4-D data."""
    folder = tmp_path_factory.mktemp("api")
    np.save(folder / "data.npy", factor_data_array(200))
    committed_run(folder / "run", folder / "data.npy")
    return str(folder / "run")


def cli(*argv):
    status = after_training_command.main([str(arg) for arg in argv])
    assert status == 0


def test_import_betavae_does_not_import_tensorflow():
    probe = ("import sys, betavae\nassert callable(betavae.train) and issubclass(betavae.UsageError, ValueError)\n"
             "assert set(betavae.__all__) <= set(dir(betavae)) and callable(betavae.export)\n"
             "print('tensorflow' in sys.modules, 'numpy' in sys.modules, sorted(betavae.__all__))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("False ")  # numpy comes with the API's module, TensorFlow never
    with pytest.raises(AttributeError, match="no attribute 'trian'"):
        betavae.trian  # noqa: B018


def test_no_public_name_of_the_package_is_a_submodules_name():
    # Importing betavae.<name> binds the module to the package's attribute <name>, over the API's function.
    submodules = {module.name for module in pkgutil.iter_modules(betavae.__path__)}
    assert {"api", "serving", "sweep", "run"} <= submodules
    assert not set(betavae.__all__) & submodules
    for name in sorted(submodules):  # every submodule imported: the API's names are still the API's
        importlib.import_module(f"betavae.{name}")
    assert all(getattr(betavae, name) is getattr(api, name) for name in betavae.__all__ if name != "UsageError")


def test_export_stays_the_apis_function_after_an_export(run_path, tmp_path):
    run = betavae.load_run(run_path)
    run.export(tmp_path / "e1")
    assert callable(betavae.export)
    assert betavae.export(run_path, tmp_path / "e2") == str(tmp_path / "e2")
    assert all((tmp_path / name / "saved_model.pb").is_file() for name in ("e1", "e2"))


def test_sample_equals_what_mode_prior_writes(run_path, tmp_path):
    for mean_only in (False, True):
        output = tmp_path / f"prior_{mean_only}.npy"
        cli("--mode", "prior", "--checkpoint-dir", run_path, "--num-samples", 37, "--seed", 4, "--output", output,
            *(["--mean-only"] if mean_only else []))
        samples = betavae.sample(run_path, 37, seed=4, mean_only=mean_only)
        assert samples.shape == (37, 4) and np.array_equal(samples, np.load(output))
    assert not np.array_equal(betavae.sample(run_path, 37, seed=5), np.load(tmp_path / "prior_False.npy"))


def test_reconstruct_equals_what_mode_recon_writes(run_path, tmp_path):
    cli("--mode", "recon", "--checkpoint-dir", run_path, "--seed", 2, "--output", tmp_path / "recon.npy")
    run = betavae.load_run(run_path)
    assert np.array_equal(run.reconstruct(seed=2), np.load(tmp_path / "recon.npy"))
    rows = factor_data_array(30, seed=9)
    np.save(tmp_path / "rows.npy", rows)
    cli("--mode", "recon", "--checkpoint-dir", run_path, "--rows", tmp_path / "rows.npy", "--mean-only",
        "--output", tmp_path / "rows_recon.npy")
    assert np.array_equal(run.reconstruct(rows, mean_only=True), np.load(tmp_path / "rows_recon.npy"))


def test_encode_gives_the_means_and_kl_of_the_evaluations_encoder_pass(run_path):
    from betavae.model.inference import encode_with_kl
    run = betavae.load_run(run_path)
    rows = factor_data_array(50, seed=3)
    mean, log_scale = betavae.encode(run, rows)
    code_means, kl_per_dim = encode_with_kl(run.model(), rows)
    assert mean.shape == log_scale.shape == (50, run.config.latent_dim)
    np.testing.assert_allclose(mean, code_means, rtol=1e-5, atol=1e-6)
    # KL(N(m, s^2) || N(0, 1)) = (m^2 + s^2 - 1) / 2 - log s, per dimension
    np.testing.assert_allclose(0.5 * (mean ** 2 + np.exp(2 * log_scale) - 1) - log_scale, kl_per_dim,
                               rtol=1e-4, atol=1e-5)
    assert len(run.encode()[0]) == run.config.test_rows


def test_evaluate_of_a_path_equals_evaluate_of_a_run_and_its_saved_file(run_path):
    by_path = betavae.evaluate(run_path, iwae_samples=3, num_samples=50, seed=1)
    with open(os.path.join(run_path, "evaluation.json"), encoding="utf-8") as handle:
        assert json.load(handle) == by_path
    by_run = betavae.load_run(run_path).evaluate(iwae_samples=3, num_samples=50, seed=1)
    assert by_run == by_path and by_path["iwae_samples"] == 3 and by_path["rows"] == "held-out test rows"
    assert math.isfinite(by_path["test_nll_iwae"])


@pytest.mark.parametrize("call, fragment", [
    (lambda: betavae.train(np.zeros((9, 2)), checkpoint_dir="x", bogus=1), "unknown setting 'bogus'; expected one "
                                                                            "of alpha, batch_size, beta,"),
    (lambda: betavae.train(np.zeros((9, 2)), checkpoint_dir="x", epochs=2.5), "epochs=2.5: expected int"),
    (lambda: betavae.train(np.zeros((9, 2)), checkpoint_dir="x", optimizer="lbfgs"), "optimizer='lbfgs': expected one"),
    (lambda: betavae.train(np.zeros(9), checkpoint_dir="x"), "data: expected a 2-D array"),
    (lambda: betavae.train(np.array([[1.0, np.nan]]), checkpoint_dir="x"), "row 1, column 2 is not finite"),
    (lambda: betavae.train([[1, 2, 3], [4, 5, 6], [7, 8]], checkpoint_dir="x"),
     "data: row 3 has 2 columns, expected 3"),
    (lambda: betavae.train([[1, 2], [3]], checkpoint_dir="x"), "data: row 2 has 1 column, expected 2"),
    (lambda: betavae.train([[1, [2, 3]], [4, 5]], checkpoint_dir="x"),
     "data: expected a 2-D array (rows x columns) of numbers, got nested sequences of other shapes"),
    (lambda: betavae.train(np.zeros((9, 2)), checkpoint_dir="x", resume=True), "pass data=None"),
    (lambda: betavae.sample("nowhere", 5), "no trained model here"),
    (lambda: betavae.beta_sweep([1], beta=2), "beta: the sweep sets it for each run"),
    (lambda: betavae.beta_sweep([1], jobs=0), "jobs must be at least 1"),
])
def test_a_bad_setting_is_one_line_naming_it_and_writes_nothing(call, fragment, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(betavae.UsageError) as error:
        call()
    assert fragment in str(error.value) and "\n" not in str(error.value)
    assert not os.path.exists(tmp_path / "x")


def test_sample_checks_its_arguments(run_path):
    for kwargs, fragment in (({"n": 0}, "n must be an integer of at least 1"),
                             ({"n": 3, "seed": -1}, "seed must be an integer from 0")):
        with pytest.raises(betavae.UsageError, match=fragment):
            betavae.sample(run_path, **kwargs)


def test_training_keywords_become_the_training_settings():
    settings = api._training_settings({"latent_dim": 3, "streaming": True, "lr": 1e-4, "data": "d.csv",
                                       "capacity": None}, ())
    expected = {**vars(default_settings()), "latent_dim": 3, "streaming": True, "lr": 1e-4, "data": "d.csv"}
    assert vars(settings) == expected


def test_an_optional_setting_takes_its_fields_type():
    settings = api._training_settings({"capacity": 5, "logdir": pathlib.Path("tb"), "objective": "tc",
                                       "gamma": 2}, ())
    assert (settings.capacity, settings.logdir, settings.gamma) == (5.0, "tb", 2.0)
    assert type(settings.capacity) is float and type(settings.gamma) is float
    for bad, fragment in (({"capacity": "5"}, "capacity='5': expected a number"),
                          ({"logdir": 3}, "logdir=3: expected str"), ({"streaming": 1}, "expected True or False")):
        with pytest.raises(betavae.UsageError, match=fragment):
            api._training_settings(bad, ())


def imported_modules(path):
    """The modules a source file imports (at any depth of its code), read from its syntax tree."""
    tree = ast.parse(pathlib.Path(path).read_text(encoding="utf-8"))
    return {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module} | \
        {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names} | \
        {f"{node.module}.{alias.name}" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
         for alias in node.names}


def test_the_api_and_the_sweep_stand_beside_the_commands_not_on_them():
    files = [pathlib.Path(REPO, "betavae", "api.py"), *pathlib.Path(REPO, "betavae", "sweep").glob("*.py")]
    assert {"api.py", "driver.py", "worker.py", "engines.py"} <= {path.name for path in files}
    for path in files:
        commands = {name for name in imported_modules(path) if name.split(".")[:2] == ["betavae", "commands"]}
        assert not commands, (path.name, commands)


def history_values(run):
    return [{key: value for key, value in row.items() if key != "seconds"} for row in run.history]


@pytest.mark.slow
def test_train_from_an_array_repeats_and_the_run_keeps_its_data_wherever_it_goes(tmp_path, capsys):
    data = factor_data_array(300)
    settings = {"epochs": 2, "hidden_units": 8, "batch_size": 100, "seed": 3, "beta": 2}
    first = betavae.train(data, checkpoint_dir=tmp_path / "a", quiet=True, **settings)
    assert capsys.readouterr().out == ""
    second = betavae.train(data, checkpoint_dir=tmp_path / "b", **settings)
    out = capsys.readouterr().out  # by default the CLI's lines, one per epoch, next steps in Python
    assert "beta-VAE training into" in out and "2/2" in out and "betavae.load_run(" in out and "--" not in out
    assert len(first.history) == 2 and history_values(first) == history_values(second)
    assert first.config.beta == 2.0 and first.config.data == str(tmp_path / "a" / DATA_FILE)
    assert np.array_equal(np.load(tmp_path / "a" / DATA_FILE), data)
    assert first.config.data_sha256 == loading.file_digest(tmp_path / "a" / DATA_FILE)
    report = first.evaluate(iwae_samples=3, num_samples=50)
    shutil.move(tmp_path / "a", tmp_path / "moved")  # the run's own data.npy moves with it
    assert betavae.evaluate(tmp_path / "moved", iwae_samples=3, num_samples=50) == report
    resumed = betavae.train(None, checkpoint_dir=tmp_path / "moved", resume=True, epochs=3)
    assert history_values(resumed)[:2] == history_values(second) and len(resumed.history) == 3


@pytest.mark.slow
def test_sweep_returns_the_rows_of_sweep_csv(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.save(tmp_path / "d.npy", factor_data_array(200))
    rows = betavae.beta_sweep([0.5, 2], epochs=1, iwae_samples=3, data="d.npy", hidden_units=8, batch_size=100)
    with open(tmp_path / "checkpoints" / "sweep" / "sweep.csv", encoding="utf-8") as handle:
        header = handle.readline().strip().split(",")
        assert len(handle.readlines()) == 2
    assert [row["beta"] for row in rows] == [0.5, 2.0] and list(rows[0]) == header
