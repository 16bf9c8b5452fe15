"""The XLA-compiled path that users run by default (the rest of the suite traces without XLA: conftest): the
BETAVAE_XLA switch's values, a bad one refused in one line, and under XLA the compiled epoch equal to the
per-step loop, a seeded training repeating exactly, and the exported SavedModel sampling the CLI's numbers."""
import json

import numpy as np
import pytest
import tensorflow as tf

from betavae.commands import train as train_command
from betavae.model.inference import SAMPLING_CHUNK, sample_prior
from betavae.run.folder import RunFolder
from betavae.serving import export_run
from betavae.training.setup import resumed_compilation
from betavae.xla_switch import COMPILATIONS, XLA_SWITCH, compilation_now, xla_enabled
from conftest import committed_run, factor_data_array, run_config_for, run_main
from test_models import history  # a seeded 4-D training: 330 rows in batches of 64, a partial last batch


@pytest.mark.parametrize("value, enabled", [(None, True), ("1", True), ("0", False), (" 0 ", False)])
def test_the_switch_is_on_unless_it_is_0(monkeypatch, value, enabled):
    if value is None:
        monkeypatch.delenv(XLA_SWITCH, raising=False)
    else:
        monkeypatch.setenv(XLA_SWITCH, value)
    assert xla_enabled() is enabled


@pytest.mark.parametrize("value", ["yes", "false", "", "2", "-1"])
def test_another_value_of_the_switch_is_refused_by_name(monkeypatch, value):
    monkeypatch.setenv(XLA_SWITCH, value)
    with pytest.raises(ValueError, match=f"{XLA_SWITCH}='{value}': expected 1 .* or 0"):
        xla_enabled()


def test_a_bad_switch_is_one_line_before_the_command_does_any_work(monkeypatch, tmp_path):
    monkeypatch.setenv(XLA_SWITCH, "on")
    np.save(tmp_path / "data.npy", factor_data_array(100))
    result = run_main(train_command.main, "--data", tmp_path / "data.npy", "--checkpoint-dir", tmp_path / "run",
                      "--epochs", "1")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [f"error: the environment variable {XLA_SWITCH}='on': expected 1 (compile "
                                          "the model's functions with XLA, the default) or 0 (trace them without XLA)"]
    assert not (tmp_path / "run").exists()


def test_under_xla_the_compiled_epoch_equals_the_per_step_loop_and_a_seeded_run_repeats(monkeypatch):
    monkeypatch.setenv(XLA_SWITCH, "0")
    traced = history(compiled=True)
    monkeypatch.setenv(XLA_SWITCH, "1")
    compiled = history(compiled=True)
    np.testing.assert_array_equal(history(compiled=True), compiled)
    np.testing.assert_allclose(history(compiled=False), compiled, rtol=1e-5)
    # XLA's random kernels draw other noise from the same keys: the switch did change the compilation.
    assert not np.allclose(compiled, traced, rtol=1e-4)


def test_under_xla_the_exported_model_samples_what_the_cli_samples(monkeypatch, tmp_path):
    np.save(tmp_path / "data.npy", factor_data_array(200))
    committed_run(tmp_path / "run", tmp_path / "data.npy")
    model, _ = RunFolder(str(tmp_path / "run")).restore_model()
    count = SAMPLING_CHUNK + 5  # a second, partial chunk
    monkeypatch.setenv(XLA_SWITCH, "0")
    traced = sample_prior(model, count, seed=3)
    monkeypatch.setenv(XLA_SWITCH, "1")
    compiled = sample_prior(model, count, seed=3)
    export_run(tmp_path / "run", tmp_path / "saved")
    loaded = tf.saved_model.load(str(tmp_path / "saved"))
    np.testing.assert_array_equal(loaded.sample(count, 3).numpy(), compiled)
    assert not np.array_equal(compiled, traced)


@pytest.mark.parametrize("recorded, switch, kept, warned", [
    ("xla", "0", "mixed", True), ("traced", "1", "mixed", True),
    ("xla", "1", "xla", False), ("traced", "0", "traced", False),
    ("mixed", "1", "mixed", False), ("mixed", "0", "mixed", False),
    (None, "0", None, False), (None, "1", None, False),  # a run saved before the field: unknown, and it stays so
])
def test_a_resumed_run_records_a_change_of_the_switch_as_mixed(monkeypatch, capsys, recorded, switch, kept, warned):
    monkeypatch.setenv(XLA_SWITCH, switch)
    assert resumed_compilation(recorded, "runs/a") == kept
    err = capsys.readouterr().err
    assert (err != "") is warned
    if warned:
        other = "1" if switch == "0" else "0"
        assert err.count("\n") == 1 and err.startswith(f"warning: runs/a was trained with its functions "
                                                       f"{COMPILATIONS[recorded]}; this process has them "
                                                       f"{COMPILATIONS[compilation_now()]}")
        assert err.endswith(f"(set {XLA_SWITCH}={other} to continue as it began)\n")


def test_config_json_records_the_switch_and_resume_warns_when_it_changed(monkeypatch, tmp_path):
    np.save(tmp_path / "data.npy", factor_data_array(120))
    monkeypatch.setenv(XLA_SWITCH, "1")
    assert run_config_for(tmp_path / "x", tmp_path / "data.npy").compilation == "xla"
    monkeypatch.setenv(XLA_SWITCH, "0")
    run = RunFolder(str(tmp_path / "run"))
    assert run_main(train_command.main, "--data", tmp_path / "data.npy", "--checkpoint-dir", run.path,
                    "--hidden-units", "8", "--epochs", "1").returncode == 0
    config_file = tmp_path / "run" / "config.json"
    assert json.loads(config_file.read_text())["compilation"] == "traced"
    config_file.write_text(config_file.read_text().replace('"traced"', '"xla"'))  # as if begun under XLA
    result = run_main(train_command.main, "--checkpoint-dir", run.path, "--resume", "--epochs", "2")
    assert result.returncode == 0, result.stderr
    assert [line for line in result.stderr.splitlines() if "bit for bit" in line] == [
        f"warning: {run.path} was trained with its functions compiled by XLA ({XLA_SWITCH}=1); this process has "
        f"them traced without XLA ({XLA_SWITCH}=0), whose random kernels draw other noise, so the resumed run will "
        f"not repeat an uninterrupted one bit for bit (set {XLA_SWITCH}=1 to continue as it began)"]
    assert json.loads(config_file.read_text())["compilation"] == "mixed" and run.epochs_done() == 2
