"""A path that is there but no regular file is named for what it is (a directory, a FIFO, a device, a symlink
loop, a broken symlink), never "no such file" nor "missing", wherever a command opens a file a user or a run
names: --data of training, of the after-training modes and of a sweep, and a run's config.json, history.csv,
evaluation.json and the truth beside its data. A FIFO is never opened (that would wait for a writer for ever):
each test that makes one also opens its other end after a few seconds, so a reader turns into a failure, not a
hang. Damage that a command can go past is one `warning:` line on stderr."""
import contextlib
import os
import shutil
import threading
import time

import numpy as np
import pytest

from betavae.commands import after_training as after_training_command
from betavae.commands import sweep as sweep_command
from betavae.commands import train as train_command
from betavae.paths import file_problem
from conftest import committed_run, factor_data_array, fingerprint, run_main

UNBLOCK_SECONDS = 20


def make(kind, path):
    """Put a non-regular file of `kind` at path; returns the words expected after "<path>: "."""
    if kind == "directory":
        os.mkdir(path)
        return "is a directory, expected "
    if kind == "fifo":
        os.mkfifo(path)
        threading.Thread(target=unblock, args=(path,), daemon=True).start()
        return "is a FIFO, not a regular file"
    if kind == "device":
        os.symlink(os.devnull, path)
        return "is a character device, not a regular file"
    if kind == "loop":
        os.symlink(os.path.basename(path) + ".other", path)
        os.symlink(os.path.basename(path), str(path) + ".other")
        return "is a symlink loop"
    os.symlink("gone.csv", path)
    return "is a broken symlink (to gone.csv)"


def unblock(path):
    """After UNBLOCK_SECONDS, be the writer that any reader of the FIFO at path waits for, again and again (a
    reader may open it more than once), so that a FIFO wrongly opened fails its test instead of hanging it."""
    time.sleep(UNBLOCK_SECONDS)
    for _ in range(UNBLOCK_SECONDS * 10):
        with contextlib.suppress(OSError):
            os.close(os.open(path, os.O_RDWR))
        time.sleep(0.1)


KINDS = ("directory", "fifo", "device", "loop", "broken")


def test_file_problem_names_every_kind_and_passes_a_regular_file_or_a_link_to_one(tmp_path):
    (tmp_path / "real.csv").write_text("1,2\n")
    os.symlink("real.csv", tmp_path / "link.csv")
    assert file_problem(str(tmp_path / "real.csv")) is None and file_problem(str(tmp_path / "link.csv")) is None
    assert file_problem(str(tmp_path / "nothing.csv")) == "no such file"
    assert file_problem(str(tmp_path / "real.csv" / "x.csv")) == "cannot read (Not a directory)"
    assert file_problem("/dev/null") == "is a character device, not a regular file"
    os.symlink(str(tmp_path), tmp_path / "folder-link")
    assert file_problem(str(tmp_path / "folder-link"), "a data file") == "is a directory, expected a data file"
    for kind in KINDS:
        expected = make(kind, str(tmp_path / kind))
        assert file_problem(str(tmp_path / kind)).startswith(expected)


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    folder = tmp_path_factory.mktemp("damaged")
    np.save(folder / "data.npy", factor_data_array(200))
    committed_run(folder / "run", folder / "data.npy")
    return folder


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("command", ["train", "recon", "recon --data", "sweep"])
def test_a_data_path_that_is_no_regular_file_is_named_for_what_it_is(good, tmp_path, command, kind):
    path = str(tmp_path / "given.csv")
    expected = make(kind, path)
    argv = {"train": (train_command.main, "--data", path, "--checkpoint-dir", tmp_path / "new"),
            "recon": (after_training_command.main, "--mode", "recon", "--checkpoint-dir", good / "run",
                      "--rows", path, "--output", tmp_path / "out.npy"),
            "recon --data": (after_training_command.main, "--mode", "recon", "--checkpoint-dir", good / "run",
                             "--data", path, "--output", tmp_path / "out.npy"),
            "sweep": (sweep_command.main, "--sweep-dir", tmp_path / "sweep", "--list", "--", "--data", path)}[command]
    result = run_main(*argv)
    flag = "training flag --data " if command == "sweep" else ""
    assert result.returncode == 2 and result.stderr.startswith(f"error: {flag}{path}: {expected}"), result.stderr
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
    assert not os.path.exists(tmp_path / "new") and not os.path.exists(tmp_path / "out.npy")


def damaged_copy(good, tmp_path, name, kind):
    """A copy of the good run with its file `name` replaced by a non-regular file of kind; (copy, expected)."""
    copy = tmp_path / "run"
    shutil.copytree(good / "run", copy)
    os.remove(copy / name)
    return copy, make(kind, str(copy / name))


@pytest.mark.parametrize("kind", ["directory", "fifo", "loop"])
def test_resume_refuses_a_history_that_is_no_file_before_training(good, tmp_path, kind):
    copy, expected = damaged_copy(good, tmp_path, "history.csv", kind)
    before = fingerprint(copy)
    result = run_main(train_command.main, "--checkpoint-dir", copy, "--resume", "--epochs", 3)
    assert result.returncode == 2 and result.stderr.startswith(f"error: {copy / 'history.csv'}: {expected}"), \
        result.stderr
    assert fingerprint(copy) == before and "3/3" not in result.stdout  # no epoch trained, none lost


@pytest.mark.parametrize("kind", ["device", "fifo"])
def test_a_config_json_that_is_no_file_is_named(good, tmp_path, kind):
    copy, expected = damaged_copy(good, tmp_path, "config.json", kind)
    result = run_main(after_training_command.main, "--mode", "prior", "--checkpoint-dir", copy,
                      "--num-samples", 5, "--output", tmp_path / "s.npy")
    assert result.returncode == 2 and result.stderr == f"error: {copy / 'config.json'}: {expected}\n", result.stderr


@pytest.mark.parametrize("kind", ["directory", "fifo"])
def test_plot_names_a_history_that_is_no_file_in_a_warning_and_draws_the_rest(good, tmp_path, kind):
    copy, expected = damaged_copy(good, tmp_path, "history.csv", kind)
    make("fifo", str(copy / "evaluation.json"))  # no evaluation to reuse, and never opened
    result = run_main(after_training_command.main, "--mode", "plot", "--checkpoint-dir", copy, "--num-samples", 50)
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith(f"warning: no history plot: {copy / 'history.csv'}: {expected}")
    assert len(result.stderr.splitlines()) == 1
    assert sorted(os.listdir(copy / "plots")) == ["covariances.png", "latent.png", "pairs.png"]
    assert "note:" not in result.stdout


def test_a_truth_beside_the_data_that_is_a_fifo_is_a_warning_and_no_truth(tmp_path):
    from betavae.data import loading
    np.save(tmp_path / "data.npy", factor_data_array(50))
    expected = make("fifo", loading.truth_path(str(tmp_path / "data.npy")))
    unavailable = {}
    assert loading.load_truth(str(tmp_path / "data.npy"), 4, unavailable=unavailable) is None
    assert unavailable["reference.true_nll"] == f"{loading.truth_path(str(tmp_path / 'data.npy'))}: {expected}"


def test_every_warning_is_written_by_the_one_helper():
    """cli.warn is the one writer of `warning:` lines (stderr, one wording), so no command says damage in a
    voice of its own."""
    import betavae
    package = os.path.dirname(betavae.__file__)
    spelled = [os.path.relpath(os.path.join(folder, name), package) for folder, _, names in os.walk(package)
               for name in names if name.endswith(".py") and name != "cli.py"
               and '"warning: ' in open(os.path.join(folder, name), encoding="utf-8").read().replace("f\"", "\"")]
    assert spelled == []
