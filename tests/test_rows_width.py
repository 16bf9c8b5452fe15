"""Rows given after training (--rows, the API's rows) must have the model's number of columns: one check, one
line naming where they came from, for wider and narrower rows alike, on the command line and in Python."""
import numpy as np
import pytest

import betavae
from betavae.commands import after_training as after_training_command
from betavae.run.opened import open_run
from conftest import run_main


def refusal(label, run, columns):
    return (f"{label}: {columns} column{'s' if columns != 1 else ''}, but the model in {run} was trained on "
            "4 columns")


@pytest.mark.parametrize("name, columns", [("wide.npy", 5), ("narrow.csv", 3), ("single.txt", 1)])
@pytest.mark.parametrize("mode", ["recon", "encode", "evaluate"])
def test_a_rows_file_of_another_width_is_one_line(good, tmp_path, name, columns, mode):
    folder, fingerprint_before = good
    path = tmp_path / name
    values = np.arange(6.0 * columns).reshape(6, columns) - 7.5
    np.save(path, values) if name.endswith(".npy") else np.savetxt(path, values, delimiter=",")
    result = run_main(after_training_command.main, "--mode", mode, "--checkpoint-dir", folder / "run", "--rows", path)
    assert result.returncode == 2
    assert result.stderr == f"error: {refusal(path, folder / 'run', columns)}\n"


@pytest.mark.parametrize("columns", [5, 3, 1])
def test_rows_of_another_width_from_python_are_a_usage_error(good, columns):
    folder, _ = good
    run = betavae.load_run(folder / "run")
    with pytest.raises(betavae.UsageError) as caught:
        run.reconstruct(np.ones((2, columns)))
    assert str(caught.value) == refusal("rows", run.path, columns)


def test_rows_of_the_models_width_pass_unchanged(good):
    folder, _ = good
    rows = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)
    assert open_run(str(folder / "run")).fitting(rows, "x") is rows
