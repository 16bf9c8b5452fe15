"""After training, --data has one meaning (where the run's data is now: a copy with its SHA-256, whether or not
the original is still there) and --rows another (rows to use instead of the held-out test rows); what is
written for given rows says how many of them are training rows."""
import json
import os
import shutil

import numpy as np
import pytest

from betavae.commands import after_training as after_training_command
from betavae.data.run_rows import count_training_rows, training_rows_words
from betavae.run.folder import RunFolder
from conftest import committed_run, factor_data_array

QUICK = ["--iwae-samples", "3", "--num-samples", "50"]


def call(capsys, *argv):
    status = after_training_command.main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def make_run(folder):
    """A committed run (no training) in folder/run on folder/d.npy, 203 rows split at the inexact fraction
    0.29."""
    os.makedirs(folder, exist_ok=True)
    np.save(folder / "d.npy", factor_data_array(203, seed=4))
    committed_run(folder / "run", folder / "d.npy", flags=("--test-fraction", "0.29"))
    return folder


@pytest.fixture(scope="module")
def run_on_file(tmp_path_factory):
    return make_run(tmp_path_factory.mktemp("rows"))


def evaluation(folder, name="evaluation.json"):
    return json.loads((folder / "run" / name).read_text())


def test_rows_equal_bit_for_bit_to_a_training_row_are_counted():
    train = np.array([[1.0, -2.0, 3.0], [0.0, 5.0, -6.5], [7.0, 8.0, 9.0]], dtype=np.float32)
    close = np.nextafter(train[0], np.float32(np.inf))  # one step away in every column: no training row
    last_column = train[2].copy()
    last_column[2] = np.nextafter(last_column[2], np.float32(0))
    rows = np.stack([train[2], np.array([-0.0, 5.0, -6.5], np.float32), close, last_column, train[2], train[1][::-1]])
    # train[2] twice (each counted), -0.0 read as 0.0, and the reversed row is another row
    assert count_training_rows(rows, train) == 3
    assert count_training_rows(rows[:, :2], train[:, :2]) == 4  # without the last column, last_column matches
    assert count_training_rows(np.empty((0, 3), np.float32), train) == 0
    assert count_training_rows(train.astype(np.float64), train) == 3  # rows as any float type are taken as float32


def test_the_words_say_none_all_or_how_many():
    assert [training_rows_words(*pair) for pair in ((0, 7), (7, 7), (3, 7))] == [
        "none of them training rows", "all of them training rows", "3 of them training rows"]


@pytest.mark.parametrize("original", ["present", "moved"])
def test_data_is_the_runs_data_whether_or_not_the_original_is_there(tmp_path, capsys, original):
    """A copy of the data scores the held-out rows; a copy with one value changed is refused, not scored."""
    folder = make_run(tmp_path / "f")
    shutil.copy(folder / "d.npy", tmp_path / "copy.npy")
    changed = np.load(folder / "d.npy")
    changed[150, 2] += 1
    np.save(tmp_path / "changed.npy", changed)
    if original == "moved":
        os.remove(folder / "d.npy")
    test_rows = RunFolder(str(folder / "run")).load_config().test_rows
    assert 0 < test_rows < 203
    status, out, err = call(capsys, "--mode", "recon", "--checkpoint-dir", folder / "run", "--data",
                            tmp_path / "copy.npy", "--output", tmp_path / "r.npy")
    assert status == 0 and f"wrote {test_rows} reconstructions of held-out test rows to" in out, err
    assert np.load(tmp_path / "r.npy").shape == (test_rows, 4)
    status, out, err = call(capsys, "--mode", "evaluate", "--checkpoint-dir", folder / "run", "--data",
                            tmp_path / "changed.npy", *QUICK)
    assert status == 2 and out == "" and len(err.splitlines()) == 1
    assert "changed.npy: its SHA-256" in err and "other rows to use as --rows FILE" in err


def test_rows_say_how_many_of_them_were_trained_on(run_on_file, capsys):
    """... and their report goes to evaluation_rows.json: the held-out rows' evaluation.json is kept."""
    folder = run_on_file
    run, data = folder / "run", folder / "d.npy"
    test_rows = RunFolder(str(run)).load_config().test_rows
    (run / "evaluation.json").write_text("{}")  # stands for the held-out report, which must stay as it is
    status, out, err = call(capsys, "--mode", "evaluate", "--checkpoint-dir", run, "--rows", data, *QUICK)
    assert status == 0, err
    assert (run / "evaluation.json").read_text() == "{}"
    assert out.rstrip().endswith(f"wrote {run / 'evaluation_rows.json'}")
    (run / "evaluation.json").unlink()
    report = evaluation(folder, "evaluation_rows.json")
    trained = 203 - test_rows  # every row of the file but the held-out ones
    assert (report["rows"], report["test_rows"], report["trained_rows"]) == (f"rows of {data}", 203, trained)
    header = " ".join(out.split())  # the report wraps its lines
    assert f"rows of {data}: 203 ({trained} of them training rows)" in header
    assert f"50 prior samples vs rows of {data}:" in header


def _training_rows(run):
    from betavae.run.opened import open_run
    return open_run(str(run)).data()[0]


@pytest.mark.parametrize("mode", ["recon", "encode"])
def test_recon_and_encode_of_rows_say_how_many_were_trained_on(run_on_file, tmp_path, capsys, mode):
    folder = run_on_file
    rows = np.load(folder / "d.npy")[[0, 1, 2, 3, 4]]
    rows[4, 0] = -rows[4, 0]  # no longer any training row
    np.save(tmp_path / "five.npy", rows)
    expected = count_training_rows(rows, _training_rows(folder / "run"))
    assert 0 < expected < 5
    status, out, err = call(capsys, "--mode", mode, "--checkpoint-dir", folder / "run", "--rows", tmp_path / "five.npy",
                            "--output", tmp_path / "out.npy")
    assert status == 0, err
    assert f"{expected} of them training rows" in out
    status, out, err = call(capsys, "--mode", mode, "--checkpoint-dir", folder / "run", "--output",
                            tmp_path / "out2.npy")
    assert status == 0 and "of them training rows" not in out, err  # the held-out rows need no such words


def test_rows_of_a_moved_run_say_they_were_not_checked(tmp_path, capsys):
    folder = make_run(tmp_path / "f")
    shutil.move(folder / "d.npy", tmp_path / "copy.npy")
    status, out, err = call(capsys, "--mode", "recon", "--checkpoint-dir", folder / "run", "--rows",
                            tmp_path / "copy.npy", "--output", tmp_path / "r.npy")
    assert status == 0 and "not checked against the training rows" in out, err
    status, out, err = call(capsys, "--mode", "recon", "--checkpoint-dir", folder / "run", "--rows",
                            tmp_path / "copy.npy", "--data", tmp_path / "copy.npy", "--output", tmp_path / "r.npy",
                            "--overwrite")
    test_rows = RunFolder(str(folder / "run")).load_config().test_rows
    assert status == 0 and f"({203 - test_rows} of them training rows)" in out, err


def test_held_out_rows_that_are_training_rows_are_counted_and_said(tmp_path, capsys):
    """A --test-data file sharing 40 of its 50 rows with the training data: the held-out report counts them
    (it counted given rows only), while a split's held-out rows stay at 0 and unremarked."""
    data = factor_data_array(203, seed=4)
    np.save(tmp_path / "d.npy", data)
    np.save(tmp_path / "test.npy", np.concatenate([data[:40], factor_data_array(10, seed=8)]))
    committed_run(tmp_path / "shared", tmp_path / "d.npy", flags=("--test-data", str(tmp_path / "test.npy")))
    status, out, err = call(capsys, "--mode", "evaluate", "--checkpoint-dir", tmp_path / "shared", *QUICK)
    assert status == 0, err
    assert json.loads((tmp_path / "shared" / "evaluation.json").read_text())["trained_rows"] == 40
    assert "held-out test rows: 50 (40 of them training rows)" in " ".join(out.split())
    committed_run(tmp_path / "split", tmp_path / "d.npy")
    status, out, err = call(capsys, "--mode", "evaluate", "--checkpoint-dir", tmp_path / "split", *QUICK)
    assert status == 0, err
    assert json.loads((tmp_path / "split" / "evaluation.json").read_text())["trained_rows"] == 0
    header = " ".join(out[out.index("evaluation of"):].split("\n\n")[0].split())
    assert "held-out test rows: 20" in header and "training rows" not in header
