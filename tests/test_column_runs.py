"""--columns through training, resume and after-training: a run on a pandas-style CSV records the columns it
chose and their names, resumes on them, writes recon.csv with their header (which reads back as rows to
reconstruct), chooses them alike from --data after training, and the Python API takes the keyword with a
path or an array."""
import json
import shutil

import numpy as np
import pytest

from betavae import api
from betavae.commands import after_training as after_training_command
from betavae.commands import train as train_command
from betavae.data import loading
from betavae.data.run_rows import load_run_data
from conftest import factor_data_array

SMALL = {"epochs": 1, "hidden_units": 8, "batch_size": 64}
HEADER = ',a,b c,"d,e",f'  # pandas' unnamed index, a name with a space and one with a comma


def pandas_csv(path, values):
    """values written as pandas' DataFrame.to_csv writes them: an unnamed index column first."""
    lines = [HEADER] + [",".join([str(i)] + [repr(float(v)) for v in row]) for i, row in enumerate(values)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def named_run(tmp_path_factory):
    """A 1-epoch run on the columns f, a and "b c" (in this order) of a pandas CSV, through the Python API."""
    folder = tmp_path_factory.mktemp("names")
    values = factor_data_array(200)
    data = pandas_csv(folder / "data.csv", values)
    run = api.train(data, checkpoint_dir=str(folder / "run"), columns="f,1:3", **SMALL)
    return folder, run, values[:, [3, 0, 1]]


def test_the_run_records_the_chosen_columns_and_their_names(named_run):
    folder, run, chosen = named_run
    with open(folder / "run" / "config.json", encoding="utf-8") as handle:
        recorded = json.load(handle)
    assert recorded["columns"] == "f,1:3" and recorded["column_names"] == ["f", "a", "b c"]
    assert run.config.data_dim == 3
    train, test = load_run_data(run.config)
    assert sorted(map(tuple, np.concatenate([train, test]))) == sorted(map(tuple, chosen.astype(np.float32)))


@pytest.mark.slow  # one more training
def test_resume_trains_on_the_recorded_columns(named_run, tmp_path):
    folder, run, _ = named_run
    copy = tmp_path / "run"
    shutil.copytree(folder / "run", copy)
    resumed = api.train(None, checkpoint_dir=str(copy), resume=True, epochs=2)
    assert len(resumed.history) == 2 and resumed.config.column_names == ("f", "a", "b c")


def test_recon_csv_has_the_names_as_header_and_reads_back_as_rows(named_run, tmp_path, capsys):
    folder, run, chosen = named_run
    output = tmp_path / "recon.csv"
    assert after_training_command.main(["--mode", "recon", "--checkpoint-dir", str(folder / "run"), "--output",
                                        str(output), "--mean-only"]) == 0
    assert output.read_text(encoding="utf-8").splitlines()[0] == "f,a,b c"
    table = loading.load_table(str(output))
    assert table.names == ("f", "a", "b c") and table.data.shape == (run.config.test_rows, 3)
    again = tmp_path / "again.npy"  # the run's own output is taken as it is, not chosen from again
    assert after_training_command.main(["--mode", "recon", "--checkpoint-dir", str(folder / "run"), "--rows",
                                        str(output), "--output", str(again)]) == 0
    assert np.load(again).shape == (run.config.test_rows, 3)
    capsys.readouterr()


def test_rows_given_after_training_are_chosen_by_the_recorded_columns(named_run, tmp_path, capsys):
    folder, run, chosen = named_run
    rows = factor_data_array(20, seed=9)
    data = pandas_csv(tmp_path / "rows.csv", rows)
    output = tmp_path / "codes.npy"
    assert after_training_command.main(["--mode", "encode", "--checkpoint-dir", str(folder / "run"), "--rows", data,
                                        "--output", str(output)]) == 0
    expected = run.encode(rows[:, [3, 0, 1]].astype(np.float32))[0]
    np.testing.assert_allclose(np.load(output), expected, rtol=1e-5, atol=1e-6)
    capsys.readouterr()


@pytest.mark.slow  # one more training
def test_a_column_not_in_the_data_is_one_line_and_a_pandas_index_a_warning(named_run, tmp_path, capsys):
    folder, _, _ = named_run
    data = str(folder / "data.csv")
    status = train_command.main(["--data", data, "--columns", "a,foo", "--checkpoint-dir", str(tmp_path / "bad")])
    error = capsys.readouterr().err
    assert status == 2 and error == (f"error: --columns: 'foo' is not a column of {data} (its columns: x1, a, b c, "
                                     "d,e, f)\n")
    status = train_command.main(["--data", data, "--checkpoint-dir", str(tmp_path / "all"), "--epochs", "1",
                                 "--hidden-units", "8"])
    warning = capsys.readouterr().err.splitlines()
    assert status == 0 and warning == [f"warning: {data}: column 0 ('x1') has no name in the header, like the index "
                                       "pandas writes; it is trained on as a feature; --columns 1: leaves it out"]


@pytest.mark.slow  # one more training
def test_the_api_takes_columns_with_an_array_by_index(tmp_path):
    values = factor_data_array(100)
    run = api.train(values, checkpoint_dir=str(tmp_path / "run"), columns="3,1", **SMALL)
    assert run.config.column_names == ("x4", "x2") and run.config.data_dim == 2
    train, test = load_run_data(run.config)
    assert sorted(map(tuple, np.concatenate([train, test]))) == sorted(map(tuple, values[:, [3, 1]]))
