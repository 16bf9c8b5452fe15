"""Column names and --columns without TensorFlow: a header's names are kept (quoted, with spaces, after a BOM),
refused when alike; --columns chooses names, indices and ranges in the order given, the same columns from the
training rows, the split's test rows, a --test-data file and a stream; a pandas index is warned of; a .csv
output's header reads back; config.json records the names, and an older one without them loads as x1..xD."""
import json
import re

import numpy as np
import pytest

from betavae.config import config_from_dict, default_names
from betavae.data import columns, loading
from betavae.data.loading import DataError
from betavae.files import ArrayWriter
from betavae.data.run_rows import load_rows, load_split
from conftest import run_config_for

VALUES = np.arange(40, dtype=float).reshape(10, 4) * 1.5 + 0.25  # no column counts the rows


def write(path, text):
    path.write_bytes(text.encode("utf-8"))
    return str(path)


def csv_text(header, values=VALUES, newline="\n"):
    return newline.join([header] + [",".join(repr(float(v)) for v in row) for row in values]) + newline


@pytest.mark.parametrize("header, names", [
    ('a,b,c,d', ("a", "b", "c", "d")),
    ('"a","b","c","d"', ("a", "b", "c", "d")),
    ("'a', 'b' ,c,d", ("a", "b", "c", "d")),
    ('height (cm), my b,"c, with a comma",d', ("height (cm)", "my b", "c, with a comma", "d")),
    ('\ufeffa,b,c,d', ("a", "b", "c", "d")),  # a byte-order mark is not part of the first name
    (',b,c,d', ("x1", "b", "c", "d")),  # pandas' unnamed index
])
def test_a_csv_header_gives_the_column_names(tmp_path, header, names):
    for newline in ("\n", "\r\n"):
        table = loading.load_table(write(tmp_path / "data.csv", csv_text(header, newline=newline)))
        assert table.names == names
        np.testing.assert_array_equal(table.data, VALUES)


def test_text_and_npy_without_a_header_are_named_x1_to_xd(tmp_path):
    np.save(tmp_path / "data.npy", VALUES)
    np.savetxt(tmp_path / "data.txt", VALUES)
    write(tmp_path / "named.txt", "# a comment\n\n  a  b\tc d\n" + "\n".join(" ".join(map(str, r)) for r in VALUES))
    assert loading.load_table(str(tmp_path / "data.npy")).names == ("x1", "x2", "x3", "x4")
    assert loading.load_table(str(tmp_path / "data.txt")).header is None
    assert loading.load_table(str(tmp_path / "named.txt")).names == ("a", "b", "c", "d")


@pytest.mark.parametrize("header, message", [
    ("a,b,a,d", r"data.csv: its header names columns 1 and 3 alike \('a'\); give the columns distinct names"),
    ('a,"b",b,d', r"columns 2 and 3 alike \('b'\)"),
    ("x2,,c,d", r"columns 1 and 2 alike \('x2'\)"),  # the empty name is x2, as the first already is
    ("a,b,c", "its header names 3 columns, but its rows have 4"),
])
def test_a_header_naming_columns_alike_or_too_few_is_refused(tmp_path, header, message):
    with pytest.raises(DataError, match=message):
        loading.load_table(write(tmp_path / "data.csv", csv_text(header)))


NAMES = ("a", "b", "2010", "d")


@pytest.mark.parametrize("value, expected", [
    ("d,a", [3, 0]), ("3,0", [3, 0]), ("1:", [1, 2, 3]), (":2", [0, 1]), ("1:3", [1, 2]), ("d, 0:2", [3, 0, 1]),
    ("2010", [2]), ("2", [2]),  # a name first, then an index
])
def test_columns_choose_names_indices_and_ranges_in_the_order_given(value, expected):
    assert columns.resolve(value, NAMES, "data.csv") == expected


@pytest.mark.parametrize("value, message", [
    ("a,foo", "--columns: 'foo' is not a column of data.csv (its columns: a, b, 2010, d)"),
    ("4", "--columns: index 4 is out of range for data.csv (its 4 columns: 0 to 3)"),
    ("5:", "--columns: 5: chooses no column of data.csv (its 4 columns: 0 to 3)"),
    ("a,0", "--columns: column 0 ('a') of data.csv is chosen twice"),
    ("a,,b", "--columns: an empty entry (its columns: a, b, 2010, d)"),
    ("-1", "--columns: '-1' is not a column of data.csv"),
])
def test_a_column_that_is_not_there_is_one_line_naming_it(value, message):
    with pytest.raises(DataError) as error:
        columns.resolve(value, NAMES, "data.csv")
    assert str(error.value).startswith(message)


def test_many_columns_are_listed_short():
    names = default_names(30)
    with pytest.raises(DataError, match=r"\(its columns: x1, x2, x3, x4, x5, x6, x7, x8 and 22 more\)$"):
        columns.resolve("y", names, "data.npy")


@pytest.fixture
def named_files(tmp_path):
    """data.csv (header a,b,c,d) and test.csv: the same header, other rows."""
    data = write(tmp_path / "data.csv", csv_text("a,b,c,d"))
    test = write(tmp_path / "test.csv", csv_text("a,b,c,d", VALUES[:3] + 100))
    return data, test


def test_the_split_and_a_test_file_get_the_same_reordered_columns(named_files):
    data, test = named_files
    chosen = [3, 0, 2]
    train_rows, test_rows = loading.split_indices(10, 0.3, 4)
    train, held_out, names = load_split(data, None, 0.3, 4, columns="d,a,2")
    assert names == ("d", "a", "c")
    np.testing.assert_array_equal(train, VALUES[train_rows][:, chosen].astype(np.float32))
    np.testing.assert_array_equal(held_out, VALUES[test_rows][:, chosen].astype(np.float32))
    train, tested, names = load_split(data, test, 0.3, 4, columns="d,a,2")
    np.testing.assert_array_equal(train, VALUES[:, chosen].astype(np.float32))
    np.testing.assert_array_equal(tested, (VALUES[:3] + 100)[:, chosen].astype(np.float32))


def test_streaming_rows_have_the_chosen_columns_as_in_memory(tmp_path):
    np.save(tmp_path / "data.npy", VALUES)
    memory = load_split(str(tmp_path / "data.npy"), None, 0.2, 1, columns="3,1:3")
    stream = load_split(str(tmp_path / "data.npy"), None, 0.2, 1, stream=True, columns="3,1:3")
    assert stream[0].shape == memory[0].shape == (8, 3) and stream[2] == memory[2] == ("x4", "x2", "x3")
    np.testing.assert_array_equal(stream[0][np.arange(8)], memory[0])
    np.testing.assert_array_equal(stream[1], memory[1])
    np.testing.assert_array_equal(loading.column_mean_std(stream[0])[0], memory[0].mean(axis=0))


def test_rows_after_training_are_chosen_like_the_training_rows_or_taken_as_they_are(named_files, tmp_path):
    data, test = named_files
    np.testing.assert_array_equal(load_rows(test, "d,b", ("d", "b")), (VALUES[:3] + 100)[:, [3, 1]])
    output = str(tmp_path / "recon.csv")  # what --mode recon writes: the trained columns, named
    with ArrayWriter(output, 3, 2, names=("d", "b")) as writer:
        writer.write(VALUES[:3, [3, 1]])
    np.testing.assert_allclose(load_rows(output, "d,b", ("d", "b")), VALUES[:3, [3, 1]], rtol=1e-6)
    reordered = write(tmp_path / "reordered.csv", csv_text("c,d,b,a"))  # all trained on, by name in any order
    np.testing.assert_array_equal(load_rows(reordered, None, ("a", "b", "c", "d")), VALUES[:, [3, 2, 0, 1]])
    np.testing.assert_array_equal(load_rows(reordered, "0:2", ("a", "b")), VALUES[:, [3, 2]])
    other = write(tmp_path / "other.csv", csv_text("a,b,e,d"))
    with pytest.raises(DataError, match=r"other.csv: its columns e, b are not those the run was trained on \(c, b\)"):
        load_rows(other, "2,1", ("c", "b"))
    with pytest.raises(DataError, match="the run's --columns d,b: 'd' is not a column of .*test.npy"):
        np.save(tmp_path / "test.npy", VALUES)
        load_rows(str(tmp_path / "test.npy"), "d,b", ("d", "b"))


def index_warning(capsys, path, chosen=None, value=None):
    columns.warn_of_an_index(loading.load_table(path), chosen, path, value)
    return capsys.readouterr().err


@pytest.mark.parametrize("first", [0, 1])
def test_a_first_column_counting_the_rows_is_warned_of_naming_the_flag(tmp_path, capsys, first):
    values = np.column_stack([np.arange(10) + first, VALUES])
    path = write(tmp_path / "data.csv", csv_text("id,a,b,c,d", values))
    message = index_warning(capsys, path)
    assert message == (f"warning: {path}: column 0 ('id') counts the rows (0, 1, 2, ... in order), like the index "
                       "pandas writes; it is trained on as a feature; --columns 1: leaves it out\n")
    assert index_warning(capsys, path, [1, 2], "1:3") == ""
    assert "leave it out of --columns" in index_warning(capsys, path, [0, 2], "0,2")


def test_no_warning_for_a_counting_column_that_is_not_first_or_a_count_that_breaks(tmp_path, capsys):
    second = np.column_stack([VALUES[:, 0], np.arange(10), VALUES[:, 1:]])
    assert index_warning(capsys, write(tmp_path / "second.csv", csv_text("a,i,b,c,d", second))) == ""
    broken = np.column_stack([np.r_[np.arange(9), 10], VALUES])
    assert index_warning(capsys, write(tmp_path / "broken.csv", csv_text("i,a,b,c,d", broken))) == ""
    assert index_warning(capsys, write(tmp_path / "plain.csv", csv_text("a,b,c,d"))) == ""


def test_a_header_without_a_first_name_is_warned_of(tmp_path, capsys):
    path = write(tmp_path / "data.csv", csv_text(",b,c,d"))
    assert "column 0 ('x1') has no name in the header, like the index pandas writes" in index_warning(capsys, path)


@pytest.mark.parametrize("names", [("a", "b b", "c, d"), ('say "hi"', "x", "1e3"), ("2010", "2011", "2012")])
def test_a_csv_output_with_a_header_reads_back_with_its_names(tmp_path, names):
    values = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    path = str(tmp_path / "recon.csv")
    with ArrayWriter(path, 5, 3, names=names) as writer:
        writer.write(values)
    table = loading.load_table(path)
    numbers_only = all(loading.is_number(name) for name in names)  # no header: it would read back as a row
    assert table.names == (default_names(3) if numbers_only else names)
    np.testing.assert_allclose(table.data, values, rtol=1e-6)
    with ArrayWriter(str(tmp_path / "recon.txt"), 5, 3, names=names) as writer:
        writer.write(values)
    assert loading.load_table(str(tmp_path / "recon.txt")).header is None  # .txt stays numbers only


def test_config_json_records_the_columns_and_an_older_one_loads_as_x1_to_xd(named_files, tmp_path):
    data, _ = named_files
    config = run_config_for(tmp_path / "run", data, "--columns", "c,a")
    assert (config.columns, config.column_names, config.data_dim) == ("c,a", ("c", "a"), 2)
    values = json.loads(json.dumps(config.to_dict()))
    assert config_from_dict(values, "config.json") == config
    older = {name: value for name, value in values.items() if name not in ("columns", "column_names")}
    loaded = config_from_dict(older, "config.json")
    assert loaded.columns is None and loaded.column_names == ("x1", "x2")
    for names, message in ((["c", "c"], "must be distinct, non-empty names, got 'c' twice"),
                           (["c"], "expected 2 entries (data_dim), got 1"), ([1, 2], "expected a list of strings")):
        with pytest.raises(ValueError, match=re.escape(message)):
            config_from_dict({**values, "column_names": names}, "config.json")


def test_the_truth_of_generated_data_is_not_taken_for_a_choice_of_its_columns(tmp_path):
    np.save(tmp_path / "data.npy", VALUES)
    truth = {"mean": [0.0] * 4, "W": [[0.0]] * 4, "psi": [1.0] * 4, "covariance": np.eye(4).tolist()}
    (tmp_path / "data.truth.json").write_text(json.dumps(truth), encoding="utf-8")
    assert loading.load_truth(str(tmp_path / "data.npy"), 4).psi.tolist() == [1.0] * 4
    assert loading.load_truth(str(tmp_path / "data.npy"), 4, columns="3,2,1,0") is None


def test_the_reports_explained_variance_is_labelled_by_the_columns_names():
    from betavae.scoring.sections.samples import per_column
    assert per_column({"explained_variance": [0.5, None], "columns": ["height", "b b"]}) == "height 0.500, b b n/a"
    assert per_column({"explained_variance": [0.5, 0.25], "columns": ["x1", "x2"]}) == "x1..x2: 0.500 0.250"
    assert per_column({"explained_variance": [0.5, 0.25]}) == "x1..x2: 0.500 0.250"  # a report from before names
