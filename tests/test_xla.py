"""The XLA-compiled path that users run by default (the rest of the suite traces without XLA: conftest): the
BETAVAE_XLA switch's values, a bad one refused in one line, and under XLA the compiled epoch equal to the
per-step loop, a seeded training repeating exactly, and the exported SavedModel sampling the CLI's numbers."""
import numpy as np
import pytest
import tensorflow as tf

from betavae.commands import train as train_command
from betavae.model.inference import SAMPLING_CHUNK, sample_prior
from betavae.run.folder import RunFolder
from betavae.serving import export_run
from betavae.xla_switch import XLA_SWITCH, xla_enabled
from conftest import committed_run, factor_data_array, run_main
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
