"""The suite deletes or replaces only what it can prove it wrote: a folder holding another tool's files is
refused (with or without --overwrite), writers delete only their own temporaries (and those only once their
process is gone), generate never replaces another data file's truth, and --overwrite through a symlink
keeps the link."""
import collections
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from betavae.commands import generate as generate_command
from betavae.commands import train as train_command
from betavae.data import loading
from betavae.files import temporary_path
from betavae.run.folder import HISTORY_COLUMNS, RunFolder, build_model
from conftest import REPO, committed_run, factor_data_array, run_config_for
from test_run_cli import call

TRAIN, GENERATE = train_command.main, generate_command.main


def everything(folder):
    """Every file under folder (relative path -> bytes), hidden ones and .lock included."""
    found = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            found[os.path.relpath(path, folder)] = open(path, "rb").read() if name != ".lock" else b""
    return found


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "data.npy"
    np.save(path, factor_data_array(200))
    return path


def ours(data):
    """A config.json of this suite, as text."""
    return json.dumps(run_config_for("unused", data).to_dict())


# name -> the files (relative path -> text) of a folder that training must refuse to train into
FOREIGN = {
    "a TF checkpoint state file": {"checkpoint": 'model_checkpoint_path: "ckpt-9"\n'},
    "a PyTorch checkpoint": {"ckpt-best.pt": "weights"},
    "a user's notes": {"notes.tmp.txt": "my notes"},
    "another tool's config.json": {"config.json": '{"lr": 0.1}\n', "history.csv": "step,loss\n1,2\n"},
    "a history.csv alone": {"history.csv": "epoch,loss\n1,2\n"},
    "a config.json of no schema": {"config.json": '{"beta": 1}\n', "ckpt-3.index": "x"},
    "a folder named plots": {"plots/history.png": "not ours"},
    "a project folder": {"README.md": "# my project\n", "train.py": "print(1)\n"},
}


@pytest.mark.parametrize("case", list(FOREIGN))
@pytest.mark.parametrize("how", [["--data"], ["--data", "--overwrite"], ["--resume"]])
def test_a_folder_with_another_tools_files_is_refused_and_left_as_it_was(data, case, how, tmp_path, capsys):
    """... without the lock file the refused call took there, and --resume names the folder another tool's
    rather than a run of this suite stopped before its first save."""
    folder = tmp_path / "run"
    for name, text in FOREIGN[case].items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    before = everything(folder)
    flags = [data] + how[1:] if how[0] == "--data" else []
    status, _, stderr = call(TRAIN, [how[0], *flags, "--checkpoint-dir", folder, "--epochs", 1], capsys)
    lines = stderr.strip().splitlines()
    assert status == 2 and len(lines) == 1, stderr
    if how == ["--resume"] and "ckpt-3.index" in FOREIGN[case]:  # a checkpoint: read as a run of an old version
        assert "config.json: no schema_version: written by an older version" in lines[0]
    else:
        assert "not a run of this suite" in lines[0] and sorted(FOREIGN[case])[0].split("/")[0] in lines[0]
    assert everything(folder) == before


def test_a_lock_file_that_was_there_stays_after_a_refusal(data, tmp_path, capsys):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "weights.pt").write_text("another tool's")
    (folder / ".lock").write_text("")
    status, _, stderr = call(TRAIN, ["--data", data, "--checkpoint-dir", folder, "--epochs", 1], capsys)
    assert status == 2 and "not a run of this suite" in stderr
    assert sorted(os.listdir(folder)) == [".lock", "weights.pt"]


def test_the_checkpoint_dir_dot_in_a_project_with_its_own_config_is_refused(data, tmp_path, capsys, monkeypatch):
    (tmp_path / "config.json").write_text('{"model": "resnet"}\n')
    monkeypatch.chdir(tmp_path)
    status, _, stderr = call(TRAIN, ["--data", data, "--checkpoint-dir", ".", "--epochs", 1], capsys)
    assert status == 2 and "config.json" in stderr and "not a run of this suite" in stderr, stderr
    assert (tmp_path / "config.json").read_text() == '{"model": "resnet"}\n'


def test_a_gitkeep_and_a_sweep_folder_are_no_obstacle_and_stay(data, tmp_path):
    folder = tmp_path / "checkpoints"
    (folder / "sweep" / "beta_1_seed_0").mkdir(parents=True)
    (folder / ".gitkeep").write_text("")
    (folder / "sweep" / "sweep.csv").write_text("beta\n1\n")
    with RunFolder(str(folder)).writing() as run:
        run.begin(replace=False)
    assert (folder / ".gitkeep").exists() and (folder / "sweep" / "sweep.csv").read_text() == "beta\n1\n"


def test_the_leftovers_of_a_training_stopped_before_its_first_save_are_cleared_and_nothing_else(data, tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "config.json").write_text(ours(data))
    (folder / "history.csv").write_text(",".join(HISTORY_COLUMNS) + "\n")
    (folder / "ckpt-1_temp").mkdir()
    (folder / "ckpt-best.pt").write_text("weights")  # beside a config of ours: kept, never deleted
    (folder / "notes.tmp.txt").write_text("notes")
    with RunFolder(str(folder)).writing() as run:
        run.begin(replace=False)
    assert sorted(os.listdir(folder)) == ["ckpt-best.pt", "notes.tmp.txt"]  # nor the lock file it took


def test_commits_prune_only_their_own_checkpoints(data, tmp_path):
    import tensorflow as tf
    run = committed_run(tmp_path / "run", data, epochs=1)
    foreign = {"checkpoint": "state", "ckpt-best.pt": "weights", "ckpt-1.notes": "mine", "a.tmp": "mine too"}
    for name, text in foreign.items():
        (tmp_path / "run" / name).write_text(text)
    config = run.load_config()
    checkpoint = tf.train.Checkpoint(model=build_model(config))
    history = [dict(zip(HISTORY_COLUMNS, (epoch, 1.0, 1.0, -1.0, 1.0, 0.1, 1.0, 0.0))) for epoch in range(1, 7)]
    with run.writing():
        for epoch in range(2, 7):
            run.commit(config, history[:epoch], checkpoint)
    assert [epoch for epoch, _ in run.checkpoints()] == [6, 5, 4]
    assert all((tmp_path / "run" / name).read_text() == text for name, text in foreign.items())


def dead_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_writers_clear_only_stale_temporaries_of_their_own(tmp_path):
    stale = tmp_path / f".big.npy.betavae-tmp-{dead_pid()}.npy"
    live = tmp_path / f".big.npy.betavae-tmp-{os.getppid()}.npy"  # a writer still running
    users = ["big.npy.tmp123.npy", "notes.tmp.txt", ".big.npy.betavae-tmp-x.npy"]
    for path in [stale, live] + [tmp_path / name for name in users]:
        path.write_bytes(b"partial")
    loading.save_array(str(tmp_path / "out.csv"), np.ones((3, 2)))
    assert not stale.exists() and live.exists() and all((tmp_path / name).exists() for name in users)
    assert os.path.basename(temporary_path(str(tmp_path / "x.npy"))) == f".x.npy.betavae-tmp-{os.getpid()}.npy"


def test_a_killed_output_leaves_its_temporary_which_the_next_writer_clears(tmp_path):
    script = ("import os, numpy as np\nfrom betavae.files import ArrayWriter\n"
              f"writer = ArrayWriter({str(tmp_path / 'x.npy')!r}, 10, 2)\nwriter.write(np.ones((5, 2)))\n"
              "writer.target.flush()\nos._exit(9)\n")
    subprocess.run([sys.executable, "-c", script], cwd=REPO, env={**os.environ, "PYTHONPATH": REPO}, check=False)
    left = [name for name in os.listdir(tmp_path) if ".betavae-tmp-" in name]
    assert len(left) == 1 and not (tmp_path / "x.npy").exists()
    loading.save_array(str(tmp_path / "y.npy"), np.ones((3, 2)))
    assert sorted(os.listdir(tmp_path)) == ["y.npy"]


def test_generate_never_replaces_another_data_files_truth(tmp_path, capsys):
    shipped = tmp_path / "data"
    shutil.copytree(os.path.join(REPO, "data"), shipped)
    before = everything(shipped)
    for output in ("gaussian_10d.csv", "gaussian_10d.txt"):
        status, _, stderr = call(GENERATE, ["generate", "--rows", 10, "--output", shipped / output], capsys)
        assert status == 2 and "gaussian_10d.truth.json: belongs to" in stderr and "gaussian_10d.npy" in stderr
    assert everything(shipped) == before
    status, _, stderr = call(GENERATE, ["generate", "--rows", 10, "--output", shipped / "gaussian_10d.csv",
                                        "--overwrite"], capsys)
    assert status == 0, stderr


def test_generate_checks_the_space_of_every_output_before_writing_any(tmp_path, capsys, monkeypatch):
    rows, dim = 1000, 10
    data_bytes = rows * dim * 4 + 128
    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10 ** 9, 0, data_bytes + 1000))
    status, _, stderr = call(GENERATE, ["generate", "--rows", rows, "--dim", dim, "--output", tmp_path / "g.npy"],
                             capsys)
    assert status == 2 and "their latents and truth needs about" in stderr, stderr
    assert os.listdir(tmp_path) == []


@pytest.mark.slow  # trains twice
def test_an_overwrite_through_a_symlink_keeps_the_link(data, tmp_path, capsys):
    target, link = tmp_path / "target", tmp_path / "link"
    committed_run(target, data)
    link.symlink_to(target)
    status, _, stderr = call(TRAIN, ["--data", data, "--checkpoint-dir", link, "--overwrite", "--epochs", 1,
                                     "--hidden-units", 8, "--batch-size", 100, "--seed", 3], capsys)
    assert status == 0, stderr
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert RunFolder(str(link)).load_config().seed == 3 and [e for e, _ in RunFolder(str(target)).checkpoints()] == [1]
    assert sorted(os.listdir(tmp_path)) == ["link", "target"]  # no staging folder left

