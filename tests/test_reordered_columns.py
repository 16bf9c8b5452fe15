"""Rows given after training whose named columns come in another order, among other columns, or under other
names, than the run was trained on: --mode recon, encode and evaluate take the trained columns by name, in the
trained order, whatever the file's order, and refuse in one line (exit 2) a file that lacks one of them; never
are a file's columns read in its own order as if it were the trained one."""
import numpy as np
import pytest

from betavae.commands import after_training as after_training_command
from betavae.data.run_rows import load_rows
from conftest import committed_run, factor_data_array

VALUES = factor_data_array(60, seed=3)
NAMES = ("a", "b", "c", "d")
# The function each mode hands its rows to, and where the rows are among its arguments.
HANDLERS = {"recon": ("sample_or_reconstruct", 2), "encode": ("encode", 2), "evaluate": ("score_and_plot", 2)}


def named_csv(path, names, columns):
    """VALUES' columns `columns` (indices) under a header of `names`."""
    lines = [",".join(names)] + [",".join(repr(float(v)) for v in row) for row in VALUES[:, columns]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Committed runs on data.csv (header a,b,c,d): one on every column, one on --columns d,a; and one on
    data.npy (no header: its columns are named x1..x4)."""
    folder = tmp_path_factory.mktemp("reordered")
    data = named_csv(folder / "data.csv", NAMES, [0, 1, 2, 3])
    np.save(folder / "data.npy", VALUES)
    return {"all": committed_run(folder / "all", data), "d,a": committed_run(folder / "chosen", data,
                                                                            flags=("--columns", "d,a")),
            "headerless": committed_run(folder / "headerless", folder / "data.npy")}


def handed_rows(monkeypatch, capsys, mode, run, data, output):
    """The rows `--mode mode --rows data` hands to the model (the model itself is not what is tested here),
    and after-training's (exit status, stderr)."""
    name, position = HANDLERS[mode]
    handed = []
    monkeypatch.setattr(after_training_command, name, lambda *args: handed.append(args[position]) or 0)
    argv = ["--mode", mode, "--checkpoint-dir", run.path, "--rows", str(data)]
    status = after_training_command.main(argv + ([] if mode == "evaluate" else ["--output", str(output)]))
    return handed, status, capsys.readouterr().err


@pytest.mark.parametrize("mode", sorted(HANDLERS))
def test_a_permutation_of_the_trained_columns_is_taken_by_name(runs, tmp_path, capsys, monkeypatch, mode):
    permuted = named_csv(tmp_path / "permuted.csv", ("b", "a", "d", "c"), [1, 0, 3, 2])
    handed, status, err = handed_rows(monkeypatch, capsys, mode, runs["all"], permuted, tmp_path / "out.npy")
    assert status == 0 and err == ""
    np.testing.assert_array_equal(handed[0], VALUES.astype(np.float32))


def test_the_trained_columns_are_taken_by_name_from_among_others(runs, tmp_path):
    wider = named_csv(tmp_path / "wider.csv", ("c", "e", "a", "d", "b"), [2, 0, 0, 3, 1])
    np.testing.assert_array_equal(load_rows(str(wider), None, NAMES), VALUES.astype(np.float32))


@pytest.mark.parametrize("mode", sorted(HANDLERS))
def test_a_renamed_column_is_refused_in_one_line(runs, tmp_path, capsys, monkeypatch, mode):
    renamed = named_csv(tmp_path / "renamed.csv", ("b", "a", "e", "c"), [1, 0, 3, 2])
    handed, status, err = handed_rows(monkeypatch, capsys, mode, runs["all"], renamed, tmp_path / "out.npy")
    assert status == 2 and handed == [] and err == (f"error: {renamed}: its columns b, a, e, c are not those the "
                                                    "run was trained on (a, b, c, d)\n")


def test_columns_chosen_by_name_are_taken_by_name_from_any_order(runs, tmp_path, capsys, monkeypatch):
    shuffled = named_csv(tmp_path / "shuffled.csv", ("c", "a", "d", "b"), [2, 0, 3, 1])
    handed, status, err = handed_rows(monkeypatch, capsys, "encode", runs["d,a"], shuffled, tmp_path / "codes.npy")
    assert status == 0 and err == ""
    np.testing.assert_array_equal(handed[0], VALUES[:, [3, 0]].astype(np.float32))
    swapped = named_csv(tmp_path / "swapped.csv", ("a", "d"), [3, 0])  # d's values under a's name: by name, a first
    np.testing.assert_array_equal(load_rows(str(swapped), "d,a", ("d", "a")), VALUES[:, [0, 3]].astype(np.float32))
    renamed = named_csv(tmp_path / "renamed.csv", ("a", "b", "c", "e"), [0, 1, 2, 3])
    handed, status, err = handed_rows(monkeypatch, capsys, "encode", runs["d,a"], renamed, tmp_path / "codes.npy")
    assert status == 2 and err.startswith("error: the run's --columns d,a: 'd' is not a column of ")


@pytest.mark.parametrize("mode", sorted(HANDLERS))
@pytest.mark.parametrize("header, columns", [(("x4", "x3", "x2", "x1"), [3, 2, 1, 0]),
                                             (("x2", "x1", "x4", "x3"), [1, 0, 3, 2]),
                                             (("x3", "e", "x1", "x4", "x2"), [2, 0, 0, 3, 1])])
def test_the_default_names_of_a_run_on_headerless_data_are_taken_by_name(runs, tmp_path, capsys, monkeypatch,
                                                                         mode, header, columns):
    permuted = named_csv(tmp_path / "permuted.csv", header, columns)
    handed, status, err = handed_rows(monkeypatch, capsys, mode, runs["headerless"], permuted, tmp_path / "out.npy")
    assert status == 0 and err == ""
    np.testing.assert_array_equal(handed[0], VALUES.astype(np.float32))


@pytest.mark.parametrize("header", [NAMES, ("x1", "x2", "x3", "y4"), ("x1", "x2", "x3")])
def test_other_names_on_a_run_on_headerless_data_are_refused_as_on_a_named_run(runs, tmp_path, capsys, monkeypatch,
                                                                               header):
    other = named_csv(tmp_path / "other.csv", header, list(range(len(header))))
    handed, status, err = handed_rows(monkeypatch, capsys, "encode", runs["headerless"], other, tmp_path / "out.npy")
    assert status == 2 and handed == [] and err == (f"error: {other}: its columns {', '.join(header)} are not "
                                                    "those the run was trained on (x1, x2, x3, x4)\n")


def test_a_run_on_headerless_data_takes_headerless_rows_as_they_are(runs, tmp_path, capsys, monkeypatch):
    plain = tmp_path / "plain.csv"
    np.savetxt(plain, VALUES[:, ::-1], delimiter=",")
    handed, status, err = handed_rows(monkeypatch, capsys, "encode", runs["headerless"], plain, tmp_path / "out.npy")
    assert status == 0 and err == ""
    np.testing.assert_allclose(handed[0], VALUES[:, ::-1], rtol=1e-6)
