"""What training prints: the header before TensorFlow loads, epoch lines with an ETA, the summary, the
TensorBoard tags; and the test loss measured with the same noise every epoch."""
import csv
import dataclasses
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from betavae.training import console
from conftest import REPO, factor_data_array
from betavae.config import SCHEMA_VERSION, RunConfig

CONFIG = RunConfig(schema_version=SCHEMA_VERSION, data="data/gaussian_10d.npy", data_sha256="0" * 64, test_data=None,
                   test_data_sha256=None, test_fraction=0.1, beta=4.0, epochs=200, batch_size=1000, latent_dim=2,
                   hidden_units=128, mc_samples=1, kl_warmup_epochs=10, capacity=None, capacity_epochs=100,
                   gamma=100.0, lr=1e-3, optimizer="adam", seed=0, save_every=10, streaming=False, data_dim=10,
                   train_rows=90_000, test_rows=10_000, data_shift=(0.0,) * 10, data_scale=(1.0,) * 10)


def history_row(epoch, test_loss, **values):
    row = {"epoch": epoch, "loss": 13.5, "kl": 2.25, "log_likelihood": -11.25, "test_loss": test_loss,
           "seconds": 0.3, "beta": 1.0, "capacity": 0.0}
    return dict(row, **values)


def test_header_names_data_model_objective_and_optimiser():
    text = "\n".join(console.header_lines(CONFIG, "checkpoints"))
    for fragment in ("data/gaussian_10d.npy", "D = 10", "90,000 train / 10,000 test rows", "latent 2",
                     "beta 4 * KL", "beta 0 -> 4 over 10 epochs", "adam, lr 0.001", "checkpoints (200 epochs)"):
        assert fragment in text, fragment
    capacity = "\n".join(console.header_lines(dataclasses.replace(CONFIG, capacity=5.0), "run", resume=True))
    assert "gamma 100 * |KL - C|" in capacity and "C 0 -> 5 nats over 100 epochs" in capacity
    assert "resuming" in capacity and "beta 4" not in capacity
    chosen = "\n".join(console.header_lines(dataclasses.replace(CONFIG, columns="1:"), "run"))
    assert "D = 10 (--columns 1:), 90,000 train" in chosen


def test_the_tc_header_writes_the_loss_as_the_sum_of_its_columns_and_the_table_shows_them():
    tc = dataclasses.replace(CONFIG, objective="tc", gamma=1.0, alpha=0.5, kl_warmup_epochs=0)
    lines = console.header_lines(tc, "run")
    assert "loss = alpha 0.5 * mi + beta 4 * tc + gamma 1 * dim_kl - ll" in lines[-3]
    assert "biased, they depend on the batch size" in lines[-1] and all(len(line) < 110 for line in lines)
    assert len(console.header_lines(CONFIG, "run")) == len(lines) - 3  # the beta objective's header: no such lines
    metrics = ("loss", "kl", "log_likelihood", "mi", "tc", "dimension_wise_kl")
    assert console.epoch_table_header(200, metrics=metrics).split()[:8] == ["epoch", "loss", "kl", "ll", "mi", "tc",
                                                                            "dim_kl", "test"]
    line = console.epoch_line(history_row(3, 14.0, mi=3.05, tc=-0.03, dimension_wise_kl=-0.01), 200, 1e4, 60.0,
                              120.0, metrics=metrics)
    assert line.split()[1:8] == ["13.5000", "2.2500", "-11.2500", "3.0500", "-0.0300", "-0.0100", "14.0000"]
    assert len(line) < 100
    assert set(console.tensorboard_tags(metrics)["test"].values()) == set(metrics)


def test_epoch_lines_stay_under_100_characters_and_mark_the_compile_epoch():
    extreme = history_row(9999, -999.9999, loss=-999.9999, kl=999.9999, log_likelihood=-999.9999, capacity=999.0)
    for schedule in ([], ["beta"], ["capacity"]):
        line = console.epoch_line(extreme, 9999, 123_456_789.0, 99 * 3600 + 3599, 99 * 3600, True, schedule)
        assert len(line) < 100, line
        assert line.endswith(" incl. compile")
        header = console.epoch_table_header(9999, schedule)
        assert len(header.split()) == len(line.split()) - 2  # every cell under its name
    line = console.epoch_line(history_row(12, 13.25), 200, 312_000.0, 12.4, 155.0, schedule=["beta"])
    assert line.split() == ["12/200", "13.5000", "2.2500", "-11.2500", "13.2500", "1", "0:12", "2:35", "312k/s"]


def test_eta_leaves_out_the_compile_epoch():
    assert console.Progress(started=0.0, total_epochs=1).record(1, 8.0, now=9.0) == (9.0, 0.0)
    progress = console.Progress(started=100.0, total_epochs=10)
    elapsed, eta = progress.record(1, 8.0, now=110.0)
    assert (elapsed, eta) == (10.0, None) and progress.compiling
    assert "        ? " in console.epoch_line(history_row(1, 14.0), 10, 1000.0, elapsed, eta, True)
    elapsed, eta = progress.record(2, 0.5, now=110.5)
    assert (elapsed, eta) == (10.5, 4.0) and not progress.compiling
    assert progress.record(3, 1.5, now=112.0)[1] == pytest.approx(7 * 1.0)


def test_best_test_loss_is_taken_only_among_epochs_of_the_final_objective():
    """KL warm-up: epoch 1 had beta 0.5, a lower loss of another objective; it is no "best"."""
    warm_up = [history_row(1, 9.0, beta=0.5), history_row(2, 12.5), history_row(3, 12.75)]
    text = "\n".join(console.summary_lines(warm_up, 10.0, "runs/x"))
    assert "best 12.5000 at epoch 2 (of the 2 epochs at the final beta 1, C 0)" in text
    capacity = [history_row(1, 11.0, capacity=2.0), history_row(2, 13.0, capacity=4.0), history_row(3, 13.5,
                                                                                                    capacity=4.0)]
    assert "best 13.0000 at epoch 2 (of the 2 epochs at the final beta 1, C 4)" in "\n".join(
        console.summary_lines(capacity, 10.0, "runs/x"))


def test_summary_gives_final_and_best_test_loss_files_and_next_commands():
    history = [history_row(1, 14.0), history_row(2, 12.5), history_row(3, 12.75)]
    text = "\n".join(console.summary_lines(history, 3725.0, "runs/my run", "runs/tb"))
    assert "in 1:02:05" in text and "final 12.7500 at epoch 3" in text and "best 12.5000 at epoch 2" in text
    assert "ckpt-3, config.json, history.csv" in text and "tensorboard --logdir runs/tb" in text
    for mode in ("prior", "recon", "evaluate"):
        assert f"betavae {mode} --checkpoint-dir 'runs/my run'" in text


def test_tensorboard_writes_train_and_test_of_a_quantity_under_one_tag():
    """TensorBoard draws a chart per tag with a line per writer: one tag in both writers is one chart."""
    scalars = console.tensorboard_scalars(history_row(1, 14.0), {"loss": 14.0, "kl": 2.5, "log_likelihood": -11.5})
    assert scalars["train"]["loss"] == 13.5 and scalars["test"]["loss"] == 14.0
    assert scalars["test"]["kl"] == 2.5 and scalars["test"]["log_likelihood"] == -11.5
    assert set(scalars["train"]) & set(scalars["test"]) == {"loss", "kl", "log_likelihood"}


def test_header_is_printed_before_tensorflow_is_imported(tmp_path):
    np.save(tmp_path / "small.npy", factor_data_array())
    probe = ("import sys\nfrom betavae.commands import train as m\nfrom betavae.training import session\n"
             "session.train = lambda *a, **k: print('tensorflow imported:', 'tensorflow' in sys.modules) or []\n"
             f"sys.exit(m.main(['--data', {str(tmp_path / 'small.npy')!r}, '--batch-size', '100', "
             f"'--checkpoint-dir', {str(tmp_path / 'run')!r}]))\n")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("beta-VAE training into") and "540 train / 60 test rows" in result.stdout
    assert lines[-1] == "tensorflow imported: False"


def test_test_loss_uses_the_same_noise_every_epoch(tmp_path, monkeypatch, capsys):
    """With a learning rate too small to change any weight, every epoch's test loss must be the same.
    In-process, to share the test session's TensorFlow import; pytest keeps its own Ctrl-C handler."""
    from betavae.commands import train as train_command
    monkeypatch.setattr(signal, "signal", lambda *_: None)
    np.save(tmp_path / "small.npy", factor_data_array())
    status = train_command.main(["--data", str(tmp_path / "small.npy"), "--epochs", "3", "--batch-size", "100",
                                 "--hidden-units", "16", "--optimizer", "sgd", "--lr", "1e-30", "--checkpoint-dir",
                                 str(tmp_path / "run"), "--logdir", str(tmp_path / "tb")])
    result = capsys.readouterr()
    assert status == 0, result.err
    with open(tmp_path / "run" / "history.csv", encoding="utf-8") as handle:
        test_losses = [row["test_loss"] for row in csv.DictReader(handle)]
    assert len(test_losses) == 3 and len(set(test_losses)) == 1
    lines = result.out.splitlines()
    epoch_lines = [line for line in lines if line.lstrip().split("/")[0].isdigit()]
    assert len(epoch_lines) == 3 and all(len(line) < 100 for line in epoch_lines)
    assert [line.endswith(" incl. compile") for line in epoch_lines] == [True, False, False]
    assert lines[0].startswith("beta-VAE training into") and "training on CPU" in result.out
    assert f"best {float(test_losses[0]):.4f} at epoch 1" in result.out
    for writer in ("train", "test"):  # one tag in two writers: one chart with a train and a test line
        folder = tmp_path / "tb" / writer
        tags = {value.tag for name in os.listdir(folder) for event in tf.compat.v1.train.summary_iterator(
            str(folder / name)) for value in event.summary.value}
        assert {"loss", "kl", "log_likelihood"} <= tags


def test_help_shows_each_default_once_and_never_none():
    from betavae.commands import after_training as after_training_command
    from betavae.commands import train as train_command
    main_help = " ".join(train_command.build_parser().format_help().split())
    after_help = " ".join(after_training_command.build_parser().format_help().split())
    for text in (main_help, after_help):
        assert "(default: None)" not in text and "(default: False)" not in text
    assert "held-out test rows (default" not in after_help and "--mode {prior,recon,encode,evaluate,plot,export} what" in after_help
    assert "noise (default: 0)" in main_help
    assert "--lr LR learning rate (with --lr-schedule cosine: of the first epoch) (default: 0.001)" in main_help
