"""The one atomic writer (betavae.files.atomic_file) and its three users: text, arrays and figures. A write
that fails halfway must leave the old file as it was and no temporary file behind."""
import os

import numpy as np
import pytest

from betavae.cli import UsageError
from betavae.files import ArrayWriter, atomic_file, atomic_write_text
from betavae.plots.run import save_figure, subplots


class Halfway(Exception):
    """Raised inside a write, after part of the new contents went out."""


def test_a_completed_block_replaces_the_file_and_leaves_nothing_else(tmp_path):
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")
    with atomic_file(str(path)) as handle:
        handle.write(b"new contents")
    assert path.read_bytes() == b"new contents"
    assert os.listdir(tmp_path) == ["out.bin"]


def test_a_block_that_fails_halfway_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")
    with pytest.raises(Halfway):
        with atomic_file(str(path)) as handle:
            handle.write(b"half of the new")
            handle.flush()
            raise Halfway
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["out.bin"]


def test_text_round_trips_and_a_failed_text_write_keeps_the_old_text(tmp_path):
    path = tmp_path / "config.json"
    atomic_write_text(str(path), "{\"beta\": 4.0}\n\u03b2\n")
    assert path.read_text(encoding="utf-8") == "{\"beta\": 4.0}\n\u03b2\n"
    with pytest.raises(UnicodeEncodeError):  # fails while encoding, before a byte of the new text is written
        atomic_write_text(str(path), "\ud800")
    assert path.read_text(encoding="utf-8") == "{\"beta\": 4.0}\n\u03b2\n"
    assert os.listdir(tmp_path) == ["config.json"]


@pytest.mark.parametrize("name", ["rows.npy", "rows.csv"])
def test_an_array_write_that_fails_halfway_keeps_the_old_array(tmp_path, name):
    path = str(tmp_path / name)
    old = np.arange(6, dtype=np.float32).reshape(3, 2)
    with ArrayWriter(path, 3, 2) as writer:
        writer.write(old)
    read = (lambda: np.load(path)) if name.endswith(".npy") else (lambda: np.loadtxt(path, delimiter=","))
    np.testing.assert_array_equal(read(), old)
    with pytest.raises(Halfway):
        with ArrayWriter(path, 3, 2) as writer:
            writer.write(-old[:1])
            raise Halfway
    np.testing.assert_array_equal(read(), old)
    assert os.listdir(tmp_path) == [name]


def test_an_array_write_failing_with_an_os_error_is_one_line_and_keeps_the_old_array(tmp_path):
    path = str(tmp_path / "rows.npy")
    np.save(path, np.ones((2, 2), np.float32))
    with pytest.raises(UsageError, match=r"rows.npy: cannot write \(No space left on device\)"):
        with ArrayWriter(path, 2, 2) as writer:
            writer.write(np.zeros((1, 2)))
            raise OSError(28, "No space left on device")
    np.testing.assert_array_equal(np.load(path), np.ones((2, 2)))
    assert os.listdir(tmp_path) == ["rows.npy"]


def test_a_figure_that_fails_while_saving_keeps_the_old_plot(tmp_path):
    path = str(tmp_path / "plot.png")
    figure, axes = subplots(figsize=(3, 2))
    axes.plot([0, 1], [1, 0])
    save_figure(figure, path)
    old = open(path, "rb").read()
    assert old.startswith(b"\x89PNG")
    figure, axes = subplots(figsize=(3, 2))

    def fail_halfway(target, **_options):
        target.write(b"\x89PNG half")
        raise Halfway

    figure.savefig = fail_halfway
    with pytest.raises(Halfway):
        save_figure(figure, path)
    assert open(path, "rb").read() == old
    assert os.listdir(tmp_path) == ["plot.png"]


def test_an_output_folder_that_cannot_be_written_is_refused_with_its_real_cause(tmp_path, monkeypatch):
    from betavae.files import check_output_path
    with pytest.raises(UsageError, match=r"folder .*absent does not exist\)$"):
        check_output_path(str(tmp_path / "absent" / "out.npy"), 10, 2)
    (tmp_path / "plain").write_text("a file, not a folder")
    with pytest.raises(UsageError, match=r"plain is not a folder\)$"):
        check_output_path(str(tmp_path / "plain" / "out.npy"), 10, 2)
    real_open = os.open

    def refused(path, *args):  # what an immutable folder, a read-only mount or missing rights give
        if os.path.dirname(path) == str(tmp_path):
            raise PermissionError(1, "Operation not permitted", path)
        return real_open(path, *args)

    monkeypatch.setattr(os, "open", refused)
    with pytest.raises(UsageError, match=r"out\.npy: cannot write there \(folder .*: Operation not permitted\)$"):
        check_output_path(str(tmp_path / "out.npy"), 10, 2)
    monkeypatch.undo()
    check_output_path(str(tmp_path / "out.npy"), 10, 2)
    assert sorted(os.listdir(tmp_path)) == ["plain"]  # the check's own probe file is gone


def test_a_folder_that_cannot_be_made_names_a_file_in_the_way_or_the_systems_reason(tmp_path, monkeypatch):
    from betavae.files import make_folder
    (tmp_path / "plain").write_text("a file, not a folder")
    with pytest.raises(UsageError, match=r"^\S*plain: is a file, not a folder$"):
        make_folder(str(tmp_path / "plain"))
    with pytest.raises(UsageError, match=r"^\S*plain/a/b: cannot write there \(\S*plain is a file, not a folder\)$"):
        make_folder(str(tmp_path / "plain" / "a" / "b"))
    with pytest.raises(UsageError, match=r"^--logdir x: is a file, not a folder$"):
        make_folder(str(tmp_path / "plain"), label="--logdir x")
    os.symlink(tmp_path, tmp_path / "link")
    make_folder(str(tmp_path / "link" / "made"))  # a link to a folder is a folder
    monkeypatch.setattr(os, "makedirs", lambda *args, **kwargs: (_ for _ in ()).throw(
        PermissionError(1, "Operation not permitted")))
    with pytest.raises(UsageError, match=r"new: cannot create it \(Operation not permitted\)$"):
        make_folder(str(tmp_path / "new"), "cannot create it")
    assert (tmp_path / "plain").read_text() == "a file, not a folder" and (tmp_path / "made").is_dir()
