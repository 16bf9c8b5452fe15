"""Rows with named columns in the Python API: a DataFrame (pandas, or any object with `columns` and `to_numpy`,
so pandas is no dependency) or a structured array keeps its names as a .csv file's header does; a run trained on
them records them, keeps them in its data.npy, and chooses the columns of rows given later by name, as it
chooses a .csv file's, whatever their order."""
import importlib.util

import numpy as np
import pytest

import betavae
from betavae import api
from betavae.commands import after_training as after_training_command
from betavae.data import loading
from betavae.data.run_rows import load_run_data
from conftest import factor_data_array

NAMES = ("a", "b", "c", "d")


class FakeFrame:
    """What the API reads of a pandas DataFrame: its column labels and to_numpy()."""

    def __init__(self, values, columns):
        self.columns, self._values = list(columns), np.asarray(values)

    def to_numpy(self):
        return self._values


FRAMES = [FakeFrame]
if importlib.util.find_spec("pandas") is not None:
    import pandas
    FRAMES.append(pandas.DataFrame)


def structured(values, names):
    """values as a structured array, one float64 field per column."""
    records = np.zeros(len(values), dtype=[(name, np.float64) for name in names])
    for j, name in enumerate(names):
        records[name] = values[:, j]
    return records


@pytest.mark.parametrize("frame", FRAMES)
def test_a_frames_and_a_structured_arrays_names_are_their_header(frame):
    values = factor_data_array(20)
    for named in (frame(values, NAMES), structured(values, NAMES)):
        table = api._table(named, "data")
        assert table.names == table.header == NAMES and np.array_equal(table.data, values)
    numbered = api._table(frame(values, range(4)), "data")  # a DataFrame's default labels 0..3 name nothing
    assert numbered.header is None and numbered.names == ("x1", "x2", "x3", "x4")
    assert api._table(frame(values, ["a", "", "c", "d"]), "data").names == ("a", "x2", "c", "d")
    with pytest.raises(betavae.UsageError, match="names columns 1 and 3 alike .'a'."):
        api._table(frame(values, ["a", "b", "a", "d"]), "data")
    with pytest.raises(betavae.UsageError, match="expected real numbers"):
        api._table(frame(np.array([["x", "y"]], dtype=object), ["a", "b"]), "data")


def test_names_saved_in_a_npy_file_read_back_as_its_header(tmp_path):
    values = factor_data_array(20)
    loading.save_array(str(tmp_path / "named.npy"), values, names=NAMES)
    for memory_map in (False, True):  # a memory map (streaming) reads the fields' view, not a copy
        table = loading.load_table(str(tmp_path / "named.npy"), memory_map)
        assert table.header == NAMES and np.array_equal(np.asarray(table.data, dtype=np.float32), values)
    mixed = structured(values, NAMES).astype([("a", np.float32), ("b", np.int64), ("c", np.float64),
                                              ("d", np.float64)])
    np.save(tmp_path / "mixed.npy", mixed)
    assert loading.load_table(str(tmp_path / "mixed.npy")).names == NAMES
    with pytest.raises(loading.DataError, match="share one dtype"):
        loading.load_table(str(tmp_path / "mixed.npy"), memory_map=True)


@pytest.fixture(scope="module", params=FRAMES)
def frame_run(request, tmp_path_factory):
    """A 1-epoch run trained on a frame's columns d and b (in this order), chosen by name."""
    folder = tmp_path_factory.mktemp("frame")
    values = factor_data_array(200)
    run = api.train(request.param(values, NAMES), checkpoint_dir=str(folder / "run"), columns="d,b", epochs=1,
                    hidden_units=8, batch_size=64)
    return folder, run, values, request.param


def test_a_run_on_a_frame_records_its_names_and_keeps_them_in_its_data(frame_run):
    folder, run, values, _ = frame_run
    assert run.config.columns == "d,b" and run.config.column_names == ("d", "b")
    assert loading.load_table(str(folder / "run" / "data.npy")).names == NAMES
    train, test = load_run_data(run.config)
    assert sorted(map(tuple, np.concatenate([train, test]))) == sorted(map(tuple, values[:, [3, 1]]))


def test_rows_with_names_are_chosen_by_them_in_any_order_as_a_csvs_are(frame_run, tmp_path, capsys):
    folder, run, _, frame = frame_run
    rows = factor_data_array(30, seed=9)
    expected = run.encode(rows[:, [3, 1]])[0]
    order = [2, 3, 0, 1]  # c, d, a, b: neither the file's order nor the run's
    shuffled = rows[:, order]
    shuffled_names = [NAMES[j] for j in order]
    for named in (frame(shuffled, shuffled_names), structured(shuffled, shuffled_names),
                  frame(rows[:, [1, 3]], ["b", "d"]), frame(rows[:, [3, 1]], ["d", "b"])):
        np.testing.assert_array_equal(run.encode(named)[0], expected)
    np.testing.assert_array_equal(run.encode(rows[:, [3, 1]])[0], expected)  # an array: the run's columns, in order
    csv = tmp_path / "rows.csv"
    csv.write_text("\n".join([",".join(shuffled_names)] + [",".join(map(repr, map(float, row))) for row in shuffled]))
    assert after_training_command.main(["--mode", "encode", "--checkpoint-dir", str(folder / "run"), "--rows",
                                        str(csv), "--output", str(tmp_path / "codes.npy")]) == 0
    np.testing.assert_allclose(np.load(tmp_path / "codes.npy"), expected, rtol=1e-6)
    capsys.readouterr()
    with pytest.raises(betavae.UsageError, match="'d' is not a column of rows") as error:
        run.encode(frame(rows[:, :2], ["a", "e"]))
    assert "\n" not in str(error.value)
