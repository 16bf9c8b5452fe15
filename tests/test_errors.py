"""Bad input gets one line on stderr and exit status 2, before TensorFlow loads; awkward input works."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from betavae.commands import after_training as after_training_command
from betavae.commands import train as train_command
from conftest import REPO, factor_data_array, run_main, run_script
from test_imports_without_tensorflow import BLOCK

GOOD = "data/gaussian_10d.npy"


def assert_one_line_error(result, *fragments):
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def write(path, text):
    path.write_text(text)
    return path


@pytest.fixture
def bad_files(tmp_path):
    """One file for each kind of broken data, with the fragment its error must name."""
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    np.save(tmp_path / "cube.npy", np.zeros((3, 3, 3)))
    np.save(tmp_path / "inf.npy", np.array([[1.0, 2.0], [np.inf, 0.0]]))
    np.save(tmp_path / "tiny.npy", np.ones((1, 2)))
    return {
        "missing": (tmp_path / "nowhere.npy", "no such file"),
        "empty": (write(tmp_path / "empty.csv", ""), "empty"),
        "ragged": (write(tmp_path / "ragged.txt", "1 2 3\n4 5\n"), "row 2 has 2 columns, expected 3"),
        "text": (write(tmp_path / "text.csv", "a,b\n1,2\n3,oops\n"), "row 3, column 2: 'oops' is not a number"),
        "nan": (write(tmp_path / "nan.txt", "1 2\n3 nan\n"), "row 2, column 2"),
        "inf": (tmp_path / "inf.npy", "not finite"),
        "not npy": (write(tmp_path / "fake.npy", "just text"), "not a valid .npy"),
        "objects": (tmp_path / "objects.npy", "Python objects"),
        "3-D": (tmp_path / "cube.npy", "2-D"),
        "too few rows": (tmp_path / "tiny.npy", "too few"),
    }


@pytest.mark.parametrize("case", ["missing", "empty", "ragged", "text", "nan", "inf", "not npy", "objects", "3-D",
                                  "too few rows"])
def test_bad_data_is_one_line_naming_the_file(bad_files, case, tmp_path):
    path, fragment = bad_files[case]
    assert_one_line_error(run_main(train_command.main, "--data", path, "--checkpoint-dir", tmp_path / "run"),
                          str(path), fragment)


@pytest.mark.parametrize("case, flags", [("ragged", []), ("missing", ["--beta", "-1"])])
def test_the_scripts_process_refuses_bad_input_before_tensorflow_loads(bad_files, case, flags, tmp_path):
    """The in-process cases above share this process's TensorFlow: here the script runs in a process where
    importing TensorFlow fails, so the first error, data or flag, must come before any import of it."""
    path, _ = bad_files[case]
    argv = ["beta_vae_main.py", "--data", str(path), *flags, "--checkpoint-dir", str(tmp_path / "run")]
    code = BLOCK + f"import runpy\nsys.argv = {argv!r}\nrunpy.run_path('beta_vae_main.py', run_name='__main__')\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert_one_line_error(result, *(flags[:1] or [str(path)]))


@pytest.mark.parametrize("flags, fragment", [
    (["--beta", "-1"], "--beta"), (["--epochs", "0"], "--epochs"), (["--latent-dim", "0"], "--latent-dim"),
    (["--hidden-units", "0"], "--hidden-units"), (["--batch-size", "0"], "--batch-size"),
    (["--lr", "0"], "--lr"), (["--lr", "-1e-3"], "--lr"), (["--beta", "nan"], "--beta"),
    (["--epochs", "ten"], "--epochs"), (["--optimizer", "rmsprop"], "--optimizer"),
])
def test_bad_flags_are_one_line(flags, fragment, tmp_path):
    assert_one_line_error(run_main(train_command.main, *flags, "--checkpoint-dir", tmp_path), fragment)


def test_sampling_without_a_checkpoint_and_an_unknown_mode(tmp_path):
    assert_one_line_error(run_script("beta_vae_after_training.py", "--mode", "prior", "--checkpoint-dir", tmp_path),
                          str(tmp_path), "no trained model")
    assert_one_line_error(run_script("beta_vae_after_training.py", "--mode", "dream"), "--mode", "dream")


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """A two-epoch run on small 4-D data, checkpointed every epoch (trained in-process: the tests here are
    about the CLIs that read it, and a subprocess would import TensorFlow once more)."""
    folder = tmp_path_factory.mktemp("errors")
    np.save(folder / "small.npy", factor_data_array())
    status = train_command.main([str(arg) for arg in ("--data", folder / "small.npy", "--epochs", 2, "--batch-size",
                                                      100, "--hidden-units", 16, "--checkpoint-dir", folder / "run",
                                                      "--save-every", 1)])
    assert status == 0
    return folder


def test_after_training_input_errors(small_run, tmp_path):
    """In-process (the errors are the CLI's, not its process's; a script's process is tested below)."""
    run = small_run / "run"
    np.savetxt(tmp_path / "three.txt", np.ones((5, 3)))
    after = after_training_command.main
    assert_one_line_error(run_main(after, "--mode", "recon", "--checkpoint-dir", run, "--rows", tmp_path / "three.txt"),
                          "3 columns", "4")
    assert_one_line_error(run_main(after, "--mode", "prior", "--checkpoint-dir", run,
                                   "--output", tmp_path / "missing" / "out.npy"), "cannot write")
    assert_one_line_error(run_main(after, "--mode", "prior", "--checkpoint-dir", run, "--output", tmp_path / "out.xlsx"),
                          "unknown output format")


def test_training_into_a_finished_run_is_refused_without_overwrite(small_run):
    again = run_script("beta_vae_main.py", "--data", small_run / "small.npy", "--checkpoint-dir", small_run / "run")
    assert_one_line_error(again, "already holds a run", "--overwrite")


def test_a_checkpoint_of_another_architecture_is_one_line(small_run, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(small_run / "run", copy)
    config = json.loads((copy / "config.json").read_text())
    config["hidden_units"] = 32
    (copy / "config.json").write_text(json.dumps(config))
    result = run_main(after_training_command.main, "--mode", "prior", "--checkpoint-dir", copy)
    assert_one_line_error(result, "does not match")


@pytest.mark.slow
def test_a_diverging_run_keeps_the_last_good_checkpoint(small_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(small_run / "run", run)
    before = sorted(os.listdir(run))
    result = run_script("beta_vae_main.py", "--resume", "--checkpoint-dir", run, "--epochs", 6, "--lr", 1e9)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and "epoch 3: the loss became" in result.stderr
    assert "last good checkpoint (epoch 2)" in result.stderr and "--lr" in result.stderr
    assert sorted(os.listdir(run)) == before
    sampled = run_script("beta_vae_after_training.py", "--mode", "prior", "--checkpoint-dir", run,
                         "--num-samples", 50, "--output", tmp_path / "after.npy")
    assert sampled.returncode == 0, sampled.stderr
    assert np.all(np.isfinite(np.load(tmp_path / "after.npy")))


@pytest.mark.parametrize("name, make, flags", [
    ("header.csv", lambda path: np.savetxt(path, factor_data_array(200), delimiter=",", header="a,b,c,d",
                                           comments=""), []),
    ("integers.npy", lambda path: np.save(path, np.rint(factor_data_array(200)).astype(np.int64)), []),
    ("hundred.npy", lambda path: np.save(path, factor_data_array(100)), []),
    ("one_column.txt", lambda path: np.savetxt(path, factor_data_array(200)[:, :1]), ["--latent-dim", "1"]),
])
def test_awkward_but_valid_data_trains(tmp_path, name, make, flags):
    make(tmp_path / name)
    result = run_main(train_command.main, "--data", tmp_path / name, "--epochs", 2, "--hidden-units", 8,
                      "--checkpoint-dir", tmp_path / "run", *flags)
    assert result.returncode == 0, result.stderr
    assert "using all of them as one batch" in result.stdout and "\n  2/2 " in result.stdout


@pytest.mark.parametrize("command", ["train", "sweep"])
def test_the_default_data_missing_says_where_it_was_looked_for_and_how_to_make_it(tmp_path, monkeypatch, capsys,
                                                                                   command):
    """From a folder other than the project's (as the console command runs anywhere), the default data is not
    there: the line says so, names the folder, and how to give or write it; no run folder is made."""
    from betavae.commands import sweep as sweep_command
    monkeypatch.chdir(tmp_path)
    if command == "train":
        status = train_command.main(["--epochs", "1"])
    else:
        status = sweep_command.main(["--list"])
    error = capsys.readouterr().err
    assert status == 2 and error.count("\n") == 1
    assert f"data/gaussian_10d.npy: no such file (the default data, looked for in {tmp_path})" in error
    assert "pass --data FILE, or write the example data there with `betavae generate`" in error
    assert os.listdir(tmp_path) == []
    assert train_command.main(["--data", "other.npy"]) == 2  # a path of the user's own: the plain words
    assert capsys.readouterr().err == "error: other.npy: no such file\n"


def test_columns_that_do_not_vary_in_the_training_rows_are_warned_of_in_one_line(tmp_path, capsys):
    from conftest import run_config_for
    data = factor_data_array(200)
    data[:, 2] = 3.0  # constant
    np.save(tmp_path / "one.npy", data)
    config = run_config_for(tmp_path / "run", tmp_path / "one.npy")
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("warning: column x3 does not vary in the 180 training rows: ")
    assert "loss can fall without limit; leave it out with --columns" in err and config.data_scale[2] == 1e-6
    header = "a,b,c,d"
    data[:, 0] = -1.5
    np.savetxt(tmp_path / "two.csv", data, delimiter=",", header=header, comments="")
    run_config_for(tmp_path / "run2", tmp_path / "two.csv", "--columns", "c,a,b")
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "warning: columns c, a do not vary in the 180 training rows" in err
    assert err.rstrip().endswith("leave them out of --columns")
    run_config_for(tmp_path / "run3", tmp_path / "two.csv", "--columns", "b,d")
    assert capsys.readouterr().err == ""
