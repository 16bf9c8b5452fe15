"""The command-line suite end to end on small data in temporary folders: the training CLI in subprocesses (its
output, exit status and signals), the other runs through the CLIs' main() in-process (the sweep's end to end
runs are in test_sweep.py and test_sweep_interrupts.py)."""
import csv
import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from betavae.commands import after_training as after_training_command
from betavae.commands import train as train_command
from betavae.data import loading
from betavae.scoring.references import linear_beta_optimum
from conftest import REPO, factor_data_array, run_main, run_script

TRAIN, AFTER = train_command.main, after_training_command.main


def read_history(folder):
    with open(folder / "history.csv", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def without_seconds(rows):
    return [{key: value for key, value in row.items() if key != "seconds"} for row in rows]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A 6-epoch run on small 4-D data (far from standardised), trained through the CLI."""
    folder = tmp_path_factory.mktemp("cli")
    np.save(folder / "small.npy", factor_data_array())
    result = run_script("beta_vae_main.py", "--data", folder / "small.npy", "--epochs", 6, "--batch-size", 100,
                        "--hidden-units", 32, "--checkpoint-dir", folder / "run", "--save-every", 4, "--seed", 3,
                        "--logdir", folder / "tensorboard")
    assert result.returncode == 0, result.stderr
    return folder, result


def test_training_writes_checkpoint_config_and_history(trained):
    folder, result = trained
    assert "\n  6/6 " in result.stdout and "rows/s" in result.stdout and "done: epoch 6" in result.stdout
    assert result.stderr == ""
    config = json.loads((folder / "run" / "config.json").read_text())
    assert config["data_dim"] == 4 and config["train_rows"] == 540 and config["test_rows"] == 60
    rows = read_history(folder / "run")
    assert list(rows[0]) == ["epoch", "loss", "kl", "log_likelihood", "test_loss", "seconds", "beta", "capacity"]
    assert [int(row["epoch"]) for row in rows] == list(range(1, 7))
    assert all(np.isfinite(float(value)) for row in rows for value in row.values())
    for writer in ("train", "test"):  # one writer per line of a chart
        events = [name for name in os.listdir(folder / "tensorboard" / writer) if name.startswith("events.out")]
        tags = {value.tag for event in tf.compat.v1.train.summary_iterator(str(folder / "tensorboard" / writer /
                                                                             events[0]))
                for value in event.summary.value}
        assert {"loss", "kl", "log_likelihood"} <= tags


def test_same_seed_repeats_the_history_exactly(trained, tmp_path):
    folder, _ = trained
    again = run_main(TRAIN, "--data", folder / "small.npy", "--epochs", 6, "--batch-size", 100,
                     "--hidden-units", 32, "--checkpoint-dir", tmp_path / "again", "--seed", 3)
    assert again.returncode == 0, again.stderr
    assert without_seconds(read_history(tmp_path / "again")) == without_seconds(read_history(folder / "run"))


@pytest.mark.parametrize("mode, extra, rows", [("prior", ["--num-samples", 300], 300),
                                               ("recon", [], 60),
                                               ("recon", ["--mean-only"], 60)])
def test_prior_and_recon_write_finite_samples_in_data_units(trained, mode, extra, rows):
    folder, _ = trained
    output = folder / f"{mode}{len(extra)}.csv"
    result = run_main(AFTER, "--mode", mode, "--checkpoint-dir", folder / "run",
                      "--output", output, *extra)
    assert result.returncode == 0, result.stderr
    assert f"to {output}" in result.stdout and "covariance error" in result.stdout
    samples = np.loadtxt(output, delimiter=",", skiprows=1)  # a header line of the columns' names
    assert samples.shape == (rows, 4) and np.all(np.isfinite(samples))
    assert abs(samples.mean() - 50) < 10  # the data's own units, not standardised ones


def test_streaming_from_disk_gives_the_in_memory_history(trained, tmp_path):
    folder, _ = trained
    streamed = run_main(TRAIN, "--data", folder / "small.npy", "--epochs", 6, "--batch-size", 100,
                        "--hidden-units", 32, "--checkpoint-dir", tmp_path / "run", "--seed", 3, "--streaming")
    assert streamed.returncode == 0, streamed.stderr
    for got, expected in zip(read_history(tmp_path / "run"), read_history(folder / "run")):
        for key in ("loss", "kl", "log_likelihood", "test_loss"):
            assert float(got[key]) == pytest.approx(float(expected[key]), rel=1e-4)


@pytest.mark.slow
def test_resume_continues_the_history_to_the_same_values(trained, tmp_path):
    folder, _ = trained
    # Extending a run from 4 to 6 epochs re-stretches a cosine schedule, so this compares constant rates.
    common = ["--data", folder / "small.npy", "--batch-size", 100, "--hidden-units", 32, "--seed", 3,
              "--save-every", 4, "--lr-schedule", "constant"]
    whole = run_main(TRAIN, *common, "--epochs", 6, "--checkpoint-dir", tmp_path / "whole")
    assert whole.returncode == 0, whole.stderr
    first = run_main(TRAIN, *common, "--epochs", 4, "--checkpoint-dir", tmp_path / "run")
    assert first.returncode == 0, first.stderr
    resumed = run_main(TRAIN, *common, "--epochs", 6, "--resume", "--checkpoint-dir", tmp_path / "run")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming" in resumed.stdout and "\n  5/6 " in resumed.stdout
    assert without_seconds(read_history(tmp_path / "run")) == without_seconds(read_history(tmp_path / "whole"))


def test_short_run_on_shipped_data_lowers_the_loss_towards_the_optimum(tmp_path):
    result = run_main(TRAIN, "--epochs", 4, "--checkpoint-dir", tmp_path / "run")
    assert result.returncode == 0, result.stderr
    rows = read_history(tmp_path / "run")
    losses, test_losses = [float(row["loss"]) for row in rows], [float(row["test_loss"]) for row in rows]
    data = loading.load_data(os.path.join(REPO, "data", "gaussian_10d.npy"))
    best = linear_beta_optimum(data.mean(axis=0), np.cov(data, rowvar=False), 1.0, 2)["objective"]
    assert losses[-1] < losses[0] - 2 and test_losses[-1] < best + 0.3 < test_losses[0]


@pytest.mark.slow
def test_sigterm_saves_the_last_epoch_and_resume_completes_the_history(trained, tmp_path):
    folder, _ = trained
    common = ["--data", str(folder / "small.npy"), "--batch-size", "100", "--hidden-units", "32", "--seed", "3",
              "--checkpoint-dir", str(tmp_path / "run"), "--save-every", "1000"]
    process = subprocess.Popen([sys.executable, f"{REPO}/beta_vae_main.py", *common, "--epochs", "400"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    for line in process.stdout:
        if line.lstrip().startswith("8/"):
            process.send_signal(signal.SIGTERM)
            break
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM, stderr
    assert "Traceback" not in stderr and "--resume" in stderr
    stopped_at = len(read_history(tmp_path / "run"))
    assert 8 <= stopped_at < 400
    resumed = run_main(TRAIN, *common, "--epochs", 400, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    rows = read_history(tmp_path / "run")
    assert [int(row["epoch"]) for row in rows] == list(range(1, 401))
    whole = run_main(TRAIN, *common[:-4], "--save-every", 1000, "--epochs", 400,
                     "--checkpoint-dir", tmp_path / "whole")  # the learning rate follows the same schedule
    assert whole.returncode == 0, whole.stderr
    assert without_seconds(rows) == without_seconds(read_history(tmp_path / "whole"))


@pytest.mark.parametrize("flags, column, expected", [
    (["--beta", "2", "--kl-warmup-epochs", "2"], "beta", [0.0, 1.0, 2.0]),
    (["--capacity", "3", "--capacity-epochs", "2", "--gamma", "20"], "capacity", [0.0, 1.5, 3.0]),
])
def test_schedules_are_recorded_per_epoch(trained, tmp_path, flags, column, expected):
    folder, _ = trained
    result = run_main(TRAIN, "--data", folder / "small.npy", "--epochs", 3, "--batch-size", 100,
                      "--hidden-units", 16, "--checkpoint-dir", tmp_path / "run", *flags)
    assert result.returncode == 0, result.stderr
    assert [float(row[column]) for row in read_history(tmp_path / "run")] == expected
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert all(config[flag.lstrip("-").replace("-", "_")] == float(value)
               for flag, value in zip(flags[::2], flags[1::2]))
