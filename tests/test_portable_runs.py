"""A run folder copied elsewhere with its training data deleted still samples and plots its history; what
needs the data says so in one line, and works again with --data pointing at a copy (same SHA-256)."""
import json
import os
import shutil

import numpy as np
import pytest

from betavae.commands import after_training as after_training_command
from betavae.commands import train as train_command
from betavae.run.folder import RunFolder
from conftest import committed_run, factor_data_array

EVALUATE = ["--mode", "evaluate", "--iwae-samples", "3", "--num-samples", "50"]


def call(main, argv, capsys):
    status = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def move(folder):
    """Copy the run in folder/run to folder/elsewhere/run and data/d.npy to elsewhere/copy.npy, then delete
    data/."""
    shutil.copytree(folder / "run", folder / "elsewhere" / "run")
    shutil.copy(folder / "data" / "d.npy", folder / "elsewhere" / "copy.npy")
    shutil.rmtree(folder / "data")


@pytest.fixture(scope="module")
def moved(tmp_path_factory):
    """A committed run (no training: fast) on data/d.npy, moved by move()."""
    folder = tmp_path_factory.mktemp("portable")
    os.makedirs(folder / "data")
    np.save(folder / "data" / "d.npy", factor_data_array(200))
    committed_run(folder / "run", folder / "data" / "d.npy")
    move(folder)
    return folder


def test_prior_samples_are_written_without_the_data(moved, tmp_path, capsys):
    folder = moved
    status, out, err = call(after_training_command.main, ["--mode", "prior", "--checkpoint-dir", folder / "elsewhere" /
                                                          "run", "--num-samples", 20, "--output", tmp_path / "s.npy"],
                            capsys)
    assert status == 0, err
    assert "wrote 20 prior samples" in out and err.startswith("warning: not compared with data:") and "d.npy" in err
    assert np.load(tmp_path / "s.npy").shape == (20, 4)


def test_plot_draws_the_history_and_says_the_others_need_the_data(moved, capsys):
    folder = moved
    run = folder / "elsewhere" / "run"
    status, out, err = call(after_training_command.main, ["--mode", "plot", "--checkpoint-dir", run,
                                                          "--num-samples", 50], capsys)
    assert status == 0, err
    notes = err.splitlines()
    assert len(notes) == 1 and notes[0].startswith("warning: only the history is drawn") and "pass --data" in notes[0]
    assert os.listdir(run / "plots") == ["history.png"] and "wrote 1 plot to" in out


def test_evaluate_says_what_is_missing_and_works_with_a_copy(moved, capsys):
    folder = moved
    run = folder / "elsewhere" / "run"
    status, out, err = call(after_training_command.main, [*EVALUATE, "--checkpoint-dir", run], capsys)
    assert status == 2 and err.count("\n") == 1
    assert err.startswith(f"error: {run} was trained on {folder / 'data' / 'd.npy'}, which is not there; pass "
                          "--data <copy of it> (checked against its SHA-256)")
    status, out, err = call(after_training_command.main, [*EVALUATE, "--checkpoint-dir", run, "--data",
                                                          folder / "elsewhere" / "copy.npy"], capsys)
    assert status == 0, err
    report = json.loads((run / "evaluation.json").read_text())  # the copy is the data, not rows to score:
    assert report["rows"] == "held-out test rows" and report["test_rows"] == RunFolder(str(run)).load_config().test_rows


def test_other_rows_are_still_rows_to_reconstruct(moved, tmp_path, capsys):
    folder = moved
    np.save(tmp_path / "rows.npy", factor_data_array(7, seed=11))
    status, out, err = call(after_training_command.main, ["--mode", "recon", "--checkpoint-dir", folder / "elsewhere" /
                                                          "run", "--rows", tmp_path / "rows.npy", "--output",
                                                          tmp_path / "r.npy"], capsys)
    assert status == 0 and f"wrote 7 reconstructions of rows of {tmp_path / 'rows.npy'} (not checked" in out, err
    status, out, err = call(after_training_command.main, ["--mode", "recon", "--checkpoint-dir", folder / "elsewhere" /
                                                          "run", "--output", tmp_path / "r2.npy"], capsys)
    assert status == 2 and "which is not there; pass --data" in err


@pytest.mark.slow
def test_resume_takes_a_copy_and_refuses_another_file(tmp_path, capsys):
    os.makedirs(tmp_path / "data")
    np.save(tmp_path / "data" / "d.npy", factor_data_array(200))
    np.save(tmp_path / "other.npy", factor_data_array(200, seed=6))
    flags = ["--data", tmp_path / "data" / "d.npy", "--epochs", 1, "--hidden-units", 8, "--batch-size", 100,
             "--checkpoint-dir", tmp_path / "run"]
    assert call(train_command.main, flags, capsys)[0] == 0
    move(tmp_path)
    run = tmp_path / "elsewhere" / "run"
    common = ["--resume", "--checkpoint-dir", run, "--epochs", 2]
    status, out, err = call(train_command.main, [*common, "--data", tmp_path / "other.npy"], capsys)
    assert status == 2 and err.count("\n") == 1 and "its SHA-256 (" in err and "pass a copy of that file" in err
    status, out, err = call(train_command.main, common, capsys)
    assert status == 2 and "which is not there; pass --data <copy of it>" in err
    status, out, err = call(train_command.main, [*common, "--data", tmp_path / "elsewhere" / "copy.npy"], capsys)
    assert status == 0 and "resuming" in out and "warning" not in err, err
    config = RunFolder(str(run)).load_config()
    assert len(RunFolder(str(run)).read_history()) == 2 and config.data == str(tmp_path / "elsewhere" / "copy.npy")
