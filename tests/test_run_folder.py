"""The run folder in-process: commits, fallback to an older checkpoint, --overwrite's swap, the lock."""
import dataclasses
import json
import os

import numpy as np
import pytest
import tensorflow as tf

from betavae.cli import flag_name
from betavae.run.folder import HISTORY_COLUMNS, RunFolder, UsageError
from conftest import run_config_for
from betavae.config import config_from_dict
from betavae.run.lock import RunLock
from betavae.run.swap import staging_path
from betavae.files import temporary_path


def make_config(folder, data_file, **flags):
    return run_config_for(folder, data_file, *[f"{flag_name(name)}={value}" for name, value in flags.items()])


def history(epochs):
    return [dict(zip(HISTORY_COLUMNS, (epoch, 1.0 / epoch, 0.5, -1.0, 2.0, 0.1, 1.0, 0.0)))
            for epoch in range(1, epochs + 1)]


@pytest.fixture
def data_file(tmp_path):
    np.save(tmp_path / "data.npy", np.random.default_rng(0).normal(size=(50, 4)).astype(np.float32))
    return tmp_path / "data.npy"


def commit_epochs(folder, config, epochs, value=0.0, replace=False):
    """Commit epochs 1..epochs of a stand-in checkpoint (one variable set to value + epoch)."""
    variable = tf.Variable(0.0)
    with folder.writing():
        folder.begin(replace=replace)
        for epoch in range(1, epochs + 1):
            variable.assign(value + epoch)
            folder.commit(config, history(epoch), tf.train.Checkpoint(v=variable))


def restored_value(folder):
    variable = tf.Variable(-1.0)
    folder.restore(tf.train.Checkpoint(v=variable))
    return float(variable.numpy())


def test_commits_keep_three_checkpoints_and_the_config_round_trips(tmp_path, data_file):
    folder = RunFolder(str(tmp_path / "run"))
    config = make_config(folder.path, data_file)
    commit_epochs(folder, config, 5)
    assert [epoch for epoch, _ in folder.checkpoints()] == [5, 4, 3]
    assert folder.load_config() == config and folder.read_history() == history(5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.beta = 2.0
    assert restored_value(folder) == 5.0


def test_history_rows_beyond_the_committed_checkpoint_are_not_part_of_the_run(tmp_path, data_file):
    folder = RunFolder(str(tmp_path / "run"))
    commit_epochs(folder, make_config(folder.path, data_file), 3)
    for name in ("ckpt-3.index", "ckpt-3.data-00000-of-00001"):  # a kill before epoch 3's commit landed
        os.remove(folder.file(name))
    assert [row["epoch"] for row in folder.read_history()] == [1, 2]


@pytest.mark.parametrize("cell, words", [("", "''"), ("1.5e", "'1.5e'"), ("-", "'-'")])
def test_a_history_cell_that_is_no_number_is_named_by_row_and_column(tmp_path, data_file, cell, words):
    folder = RunFolder(str(tmp_path / "run"))
    commit_epochs(folder, make_config(folder.path, data_file), 3)
    lines = open(folder.file("history.csv"), encoding="utf-8").read().splitlines()
    header = lines[0].split(",")
    row = lines[3].split(",")  # epoch 3: row 4 of the file
    row[header.index("kl")] = cell
    lines[3] = ",".join(row)
    open(folder.file("history.csv"), "w", encoding="utf-8").write("\n".join(lines) + "\n")
    with pytest.raises(UsageError, match=f"history.csv: damaged .row 4, column kl: {words} is not a number.$"):
        folder.read_history()


def test_an_unreadable_newest_checkpoint_falls_back_with_one_warning(tmp_path, data_file, capsys):
    folder = RunFolder(str(tmp_path / "run"))
    commit_epochs(folder, make_config(folder.path, data_file), 3)
    with open(folder.file("ckpt-3.data-00000-of-00001"), "r+b") as handle:
        handle.truncate(3)
    assert restored_value(folder) == 2.0 and folder.restored_epoch == 2
    warning = capsys.readouterr().err.strip().splitlines()
    assert len(warning) == 1 and warning[0].startswith("warning: ") and "ckpt-3" in warning[0]
    os.remove(folder.file("ckpt-2.index"))  # a missing checkpoint is skipped the same way
    assert [epoch for epoch, _ in folder.checkpoints()] == [3, 1] and restored_value(folder) == 1.0
    with folder.writing():  # resuming from epoch 1: the next commit drops the unreadable ckpt-3
        folder.commit(folder.load_config(), history(2), tf.train.Checkpoint(v=tf.Variable(7.0)))
    assert [epoch for epoch, _ in folder.checkpoints()] == [2, 1] and restored_value(folder) == 7.0


def test_a_folder_without_a_checkpoint_holds_no_run(tmp_path, data_file):
    folder = RunFolder(str(tmp_path / "run"))
    os.makedirs(folder.path)
    # What a training killed before its first save leaves: its config.json (written whole, atomically), an
    # empty history, TensorFlow's unfinished save and a temporary of a writer that is gone.
    with open(folder.file("config.json"), "w", encoding="utf-8") as handle:
        json.dump(make_config(folder.path, data_file).to_dict(), handle)
    for name in ("history.csv", "ckpt-1_temp", ".config.json.betavae-tmp-999999999"):
        open(folder.file(name), "w").close()
    assert not folder.is_run()
    with pytest.raises(UsageError, match="stopped before its first save"):
        folder.load_config()
    commit_epochs(folder, make_config(folder.path, data_file), 1)  # no replace needed
    assert sorted(os.listdir(folder.path)) == [".lock", "ckpt-1.data-00000-of-00001", "ckpt-1.index",
                                               "config.json", "history.csv"]


def test_overwrite_keeps_the_old_run_until_the_first_commit_and_foreign_entries_survive(tmp_path, data_file):
    folder = RunFolder(str(tmp_path / "run"))
    old = make_config(folder.path, data_file)
    commit_epochs(folder, old, 2)
    os.makedirs(folder.file("sweep"))
    open(folder.file(".gitkeep"), "w").close()
    open(folder.file("evaluation.json"), "w").close()
    new = make_config(folder.path, data_file, beta=3)
    with pytest.raises(UsageError, match="already holds a run"):
        commit_epochs(folder, new, 1)
    with folder.writing():
        folder.begin(replace=True)
        assert folder.load_config() == old and restored_value(folder) == 2.0  # nothing committed yet
    assert folder.load_config() == old and not [name for name in os.listdir(tmp_path) if name.startswith(".run")]
    commit_epochs(folder, new, 1, value=10.0, replace=True)
    assert folder.load_config() == new and folder.read_history() == history(1) and restored_value(folder) == 11.0
    assert sorted(os.listdir(folder.path)) == [".gitkeep", ".lock", "ckpt-1.data-00000-of-00001", "ckpt-1.index",
                                               "config.json", "history.csv", "sweep"]


def test_a_killed_overwrite_leaves_the_old_run_and_its_neighbours(tmp_path, data_file, monkeypatch):
    folder = RunFolder(str(tmp_path / "run"))
    commit_epochs(folder, make_config(folder.path, data_file), 1)
    # Staging folders as a kill during the swap's moves leaves them: one of a dead writer, one of a live one.
    dead, live = tmp_path / ".run.betavae-tmp-1111", tmp_path / ".run.betavae-tmp-2222"
    for staging in (dead, live):
        os.makedirs(staging / "sweep")
        open(staging / "config.json", "w").close()
    other = tmp_path / ".runs.betavae-tmp-1111"  # a dead writer's staging of another folder: not this run's

    def kill(pid, signal_number):  # the pid check (files._alive) asks with signal 0
        if pid != 2222:
            raise ProcessLookupError(pid)
    monkeypatch.setattr(os, "kill", kill)
    os.makedirs(other)
    with folder.writing():
        pass
    assert os.path.isdir(folder.file("sweep")) and not dead.exists() and restored_value(folder) == 1.0
    assert sorted(os.listdir(live)) == ["config.json", "sweep"] and other.exists()
    assert staging_path(folder.path) == str(tmp_path / f".run.betavae-tmp-{os.getpid()}")


def test_a_second_writer_is_refused_naming_the_holder(tmp_path):
    with RunLock(str(tmp_path)):
        with pytest.raises(UsageError, match=f"being written by pid {os.getpid()} on "):
            RunLock(str(tmp_path)).acquire()
    RunLock(str(tmp_path)).acquire().release()  # released: free again


def test_a_writer_arriving_between_the_holders_flock_and_its_line_still_names_the_holder(tmp_path):
    """The race of two trainings started together: the second reads the lock file after the first took the
    flock but before it wrote its line."""
    import fcntl
    import threading
    holder = open(tmp_path / ".lock", "a+", encoding="utf-8")
    fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another open file description: it conflicts as a process's

    def write_line():
        holder.write("pid 4242 on host (beta_vae_main.py)\n")
        holder.flush()

    timer = threading.Timer(0.2, write_line)
    timer.start()
    try:
        with pytest.raises(UsageError, match="being written by pid 4242 on host"):
            RunLock(str(tmp_path)).acquire()
    finally:
        timer.join()
        holder.close()


@pytest.mark.parametrize("change, fragment", [
    (lambda values: [values], "expected a JSON object"),
    (lambda values: {**values, "beta": "4"}, "field beta: expected float, got str"),
    (lambda values: {**values, "latent_dim": 2.5}, "field latent_dim: expected int"),
    (lambda values: {**values, "streaming": 1}, "field streaming: expected bool"),
    (lambda values: {**values, "latent_dim": 0}, "field latent_dim must be at least 1"),
    (lambda values: {**values, "lr": -1}, "field lr must be a finite number > 0"),
    (lambda values: {**values, "data_scale": [1.0]}, "field data_scale: expected 4 entries"),
    (lambda values: {**values, "data_shift": ["a"] * 4}, "field data_shift: expected a list of numbers"),
    (lambda values: {**values, "schema_version": 7}, "field schema_version is 7"),
    (lambda values: {name: value for name, value in values.items() if name != "seed"}, "field seed is missing"),
    (lambda values: {**values, "colour": "red"}, "unknown field colour"),
    (lambda values: {name: value for name, value in values.items() if name != "schema_version"}, "older version"),
])
def test_a_damaged_config_names_the_field(tmp_path, data_file, change, fragment):
    values = json.loads(json.dumps(make_config(str(tmp_path), data_file).to_dict()))
    assert config_from_dict(values, "c.json") == make_config(str(tmp_path), data_file)
    with pytest.raises(UsageError, match=fragment):
        config_from_dict(change(values), "c.json")


def test_a_save_that_fails_is_one_error_and_leaves_the_previous_save(tmp_path, data_file):
    folder = RunFolder(str(tmp_path / "run"))
    config = make_config(folder.path, data_file)
    commit_epochs(folder, config, 1)
    with folder.writing():
        os.makedirs(temporary_path(folder.file("history.csv")))  # where the next history is staged
        with pytest.raises(UsageError, match="cannot save epoch 2 .*the previous save is intact"):
            folder.commit(config, history(2), tf.train.Checkpoint(v=tf.Variable(9.0)))
    assert folder.read_history() == history(1) and restored_value(folder) == 1.0


def test_a_tc_history_from_before_its_part_columns_resumes_with_those_cells_empty(tmp_path, data_file):
    """Epochs of a tc run trained before its objective had the mi, tc and dimension_wise_kl metrics are
    written back with those cells empty and read without them; an empty cell elsewhere is damage."""
    folder = RunFolder(str(tmp_path / "run"))
    config = make_config(folder.path, data_file, objective="tc")
    commit_epochs(folder, config, 1)  # rows without the parts, as an older version's history.csv gave them
    with open(folder.file("history.csv"), encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    assert lines[0].startswith("epoch,loss,kl,log_likelihood,mi,tc,dimension_wise_kl,test_loss")
    assert lines[1].startswith("1,1.0,0.5,-1.0,,,,2.0")
    assert folder.read_history() == history(1)
    with open(folder.file("history.csv"), "w", encoding="utf-8") as handle:
        handle.write("\n".join([lines[0], lines[1].replace("1,1.0,0.5", "1,,0.5")]) + "\n")
    with pytest.raises(UsageError, match="damaged"):
        folder.read_history()
