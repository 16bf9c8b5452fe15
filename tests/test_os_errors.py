"""Operating-system errors, files of the right syntax and the wrong shape, and resources that cannot fit are
one line `error: ...` with exit status 2 (or, where the run can go on without the file, a one-line warning),
never a traceback; the good run's files stay byte-identical.

Tests run as root, whom permissions do not stop: an unreadable file is simulated by an open() that raises
PermissionError for it, a full disk by a lock file whose writes raise ENOSPC, a mount point by an exchange
of folders that raises EBUSY."""
import builtins
import errno
import io
import json
import os
import shutil

import numpy as np
import pytest

from betavae.cli import first_line
from betavae.commands import after_training as after_training_command
from betavae.commands import generate as generate_command
from betavae.commands import sweep as sweep_command
from betavae.commands import train as train_command
from betavae.data import loading
from betavae.run import lock as run_lock
from betavae.run import swap as run_swap
from betavae.run.folder import RunFolder
from betavae.scoring import evaluate as scoring
from betavae.scoring import truth as truth_module
from conftest import factor_data_array, fingerprint
from test_run_cli import call

TRAIN, AFTER, SWEEP, GENERATE = (train_command.main, after_training_command.main, sweep_command.main,
                                 generate_command.main)



def copy_run(edit):
    """A setup that copies the good run, then edit(copy, tmp_path, monkeypatch)."""
    def setup(run, tmp_path, monkeypatch):
        copy = tmp_path / "copy"
        shutil.copytree(run, copy)
        edit(copy, tmp_path, monkeypatch)
        return copy
    return setup


def unreadable(name):
    """open() raising PermissionError for files called name, as it does for an unprivileged user."""
    def edit(_copy, _tmp_path, monkeypatch):
        real_open = builtins.open

        def guarded(file, *args, **kwargs):
            if os.path.basename(str(file)) == name:
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(file))
            return real_open(file, *args, **kwargs)
        monkeypatch.setattr(builtins, "open", guarded)
    return edit


class FullDisk(io.StringIO):
    """A lock file on a full disk: it opens, and every write of the holder's line fails with ENOSPC. Its flock
    is taken on a file of the test's own (a shared one such as /dev/null would be locked by any other process
    running this test at the same moment), closed with it."""

    def __init__(self, path):
        super().__init__()
        self.descriptor = os.open(path, os.O_RDONLY | os.O_CREAT)

    def fileno(self):
        return self.descriptor

    def flush(self):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def close(self):
        if not self.closed:
            os.close(self.descriptor)
        super().close()


def full_disk_at_the_lock(_copy, tmp_path, monkeypatch):
    monkeypatch.setattr(run_lock, "_same_file", lambda handle, path: True)
    monkeypatch.setattr(run_lock, "open", lambda *args, **kwargs: FullDisk(tmp_path / "locked"), raising=False)


def immutable_folder(_copy, _tmp_path, monkeypatch):
    """chattr +i: the lock file cannot even be opened for appending (EPERM)."""
    def refuse(path, *args, **kwargs):
        raise PermissionError(errno.EPERM, os.strerror(errno.EPERM), path)
    monkeypatch.setattr(run_lock, "open", refuse, raising=False)


def replace_by_folder(name):
    def edit(copy, _tmp_path, _monkeypatch):
        path = copy / name
        if path.exists():
            path.unlink()
        path.mkdir()
    return edit


def write_file(name, text):
    return lambda copy, _tmp_path, _monkeypatch: (copy / name).write_text(text)


def nan_history(copy, _tmp_path, _monkeypatch):
    lines = (copy / "history.csv").read_text().splitlines()
    fields = lines[2].split(",")
    fields[1] = "nan"
    (copy / "history.csv").write_text("\n".join(lines[:2] + [",".join(fields)]) + "\n")


def sweep_flags(text):
    def setup(run, tmp_path, _monkeypatch):
        (tmp_path / "sweep").mkdir()
        (tmp_path / "sweep" / "training_flags.json").write_text(text)
        return run
    return setup


# (CLI, arguments with RUN/DATA/TMP placeholders, setup(run, tmp_path, monkeypatch) -> run or None, fragment)
CASES = {
    "unreadable data": (TRAIN, ["--data", "DATA", "--checkpoint-dir", "TMP/new"], copy_run(unreadable("data.npy")),
                        "data.npy: cannot read (Permission denied)"),
    "unreadable rows given": (AFTER, ["--mode", "recon", "--checkpoint-dir", "RUN", "--rows", "DATA"],
                              copy_run(unreadable("data.npy")), "Permission denied"),
    "unreadable config.json": (AFTER, ["--mode", "prior", "--checkpoint-dir", "RUN"],
                               copy_run(unreadable("config.json")), "config.json: cannot read (Permission denied)"),
    "data is a folder": (TRAIN, ["--data", "TMP", "--checkpoint-dir", "TMP/new"], None, "is a directory"),
    "config.json is a folder": (AFTER, ["--mode", "prior", "--checkpoint-dir", "RUN"],
                                copy_run(replace_by_folder("config.json")),
                                "config.json: is a directory, expected the run's settings file"),
    ".lock is a folder": (TRAIN, ["--resume", "--checkpoint-dir", "RUN", "--epochs", 5],
                          copy_run(replace_by_folder(".lock")), ".lock: cannot take the run's lock (Is a directory)"),
    "full disk at the lock": (TRAIN, ["--resume", "--checkpoint-dir", "RUN", "--epochs", 5],
                              copy_run(full_disk_at_the_lock), "No space left on device"),
    "immutable run folder": (AFTER, ["--mode", "plot", "--checkpoint-dir", "RUN"], copy_run(immutable_folder),
                             "Operation not permitted"),
    "history with NaN, resume": (TRAIN, ["--resume", "--checkpoint-dir", "RUN", "--epochs", 5], copy_run(nan_history),
                                 "row 3 holds a value that is not finite"),
    "training_flags.json a number": (SWEEP, ["--sweep-dir", "TMP/sweep", "--list"], sweep_flags("5\n"),
                                     "expected the training flags and the folder they were given in, got 5"),
    "training_flags.json of numbers": (SWEEP, ["--sweep-dir", "TMP/sweep", "--list"], sweep_flags("[1, 2]\n"),
                                       'expected the training flags and the folder they were given in, got {"flags": [1, 2]'),
    "generate beyond memory (rows)": (GENERATE, ["generate", "--rows", 10 ** 11, "--output", "TMP/g.npy"], None,
                                      "GB of memory"),
    "generate beyond memory (dim)": (GENERATE, ["generate", "--rows", 10, "--dim", 100_000, "--output", "TMP/g.npy"],
                                     None, "GB of memory"),
    "hidden units beyond memory": (TRAIN, ["--data", "DATA", "--checkpoint-dir", "TMP/new", "--hidden-units",
                                           100_000], None, "--hidden-units 100000"),
    "mc samples beyond memory": (TRAIN, ["--data", "DATA", "--checkpoint-dir", "TMP/new", "--mc-samples",
                                         1_000_000], None, "GB of memory"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_operating_system_errors_and_bad_shapes_are_one_line(good, case, tmp_path, capsys, monkeypatch):
    main, argv, setup, fragment = CASES[case]
    folder, before = good
    run = folder / "run"
    if setup is not None:
        run = setup(run, tmp_path, monkeypatch) or run
    arguments = [str(arg).replace("RUN", str(run)).replace("DATA", str(folder / "data.npy"))
                 .replace("TMP", str(tmp_path)) for arg in argv]
    status, _, stderr = call(main, arguments, capsys)
    monkeypatch.undo()
    lines = stderr.strip().splitlines()
    assert status == 2 and len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], stderr
    assert fingerprint(folder / "run") == before
    assert not os.path.exists(tmp_path / "new") and not os.path.exists(tmp_path / "g.npy")


@pytest.mark.slow  # trains an epoch
def test_an_overwrite_whose_swap_is_refused_says_so_and_keeps_the_old_run(good, tmp_path, capsys, monkeypatch):
    folder, _ = good
    run = tmp_path / "copy"
    shutil.copytree(folder / "run", run)
    (run / "sweep").mkdir()  # a foreign entry, moved to the staging folder and back
    before = fingerprint(run)

    def busy(first, second):
        raise OSError(errno.EBUSY, os.strerror(errno.EBUSY), second)
    monkeypatch.setattr(run_swap, "exchange_folders", busy)
    status, _, stderr = call(TRAIN, ["--data", folder / "data.npy", "--checkpoint-dir", run, "--overwrite",
                                     "--epochs", 1, "--hidden-units", 8, "--batch-size", 100], capsys)
    lines = stderr.strip().splitlines()
    assert status == 2 and len(lines) == 1 and "Device or resource busy" in lines[0], stderr
    assert "the old run is intact" in lines[0]
    assert fingerprint(run) == before and (run / "sweep").is_dir()
    assert sorted(os.listdir(tmp_path)) == ["copy"]  # no staging folder left


@pytest.mark.slow  # a whole evaluation
def test_an_evaluation_json_that_is_a_folder_is_one_line(good, tmp_path, capsys):
    folder, _ = good
    run = tmp_path / "copy"
    shutil.copytree(folder / "run", run)
    (run / "evaluation.json").mkdir()
    status, _, stderr = call(AFTER, ["--mode", "evaluate", "--checkpoint-dir", run, "--iwae-samples", 2,
                                     "--num-samples", 20], capsys)
    lines = stderr.strip().splitlines()
    assert status == 2 and lines == [f"error: {run / 'evaluation.json'}: cannot write (Is a directory)"], stderr
    assert not [name for name in os.listdir(run) if "tmp" in name]


@pytest.mark.parametrize("text", ["[1]\n", '{"beta": 1}\n', "{oops", ""])
def test_an_evaluation_json_of_another_shape_is_no_report(tmp_path, text):
    (tmp_path / "evaluation.json").write_text(text)
    assert scoring.load_report(RunFolder(str(tmp_path))) is None


def test_a_saved_report_is_read_back(tmp_path):
    report = {**{key: 1 for key in scoring.REPORT_KEYS}, "reference": {}, "rows": "held-out test rows"}
    folder = RunFolder(str(tmp_path))
    with folder.writing():
        scoring.save_report(folder, report)
        scoring.save_report(folder, {**report, "rows": "rows of other.csv"})  # beside it, not over it
    assert scoring.load_report(RunFolder(str(tmp_path))) == report
    assert json.loads((tmp_path / "evaluation_rows.json").read_text())["rows"] == "rows of other.csv"
    # A -log p(x) by the Gauss-Hermite quadrature centred on q (before the prior grid) is evaluated again.
    for old in (True, False):
        with folder.writing():
            scoring.save_report(folder, {**report, "test_nll_quadrature": 14.0, "quadrature_nodes": 8,
                                         **({} if old else {"quadrature": {"points": 9}})})
        assert (scoring.load_report(RunFolder(str(tmp_path))) is None) == old


def test_a_run_folder_writes_only_under_its_lock(tmp_path):
    """The writing methods of a RunFolder exist for a caller only inside writing(), which holds the lock."""
    folder = RunFolder(str(tmp_path / "run"))
    for write in (lambda: folder.begin(replace=False), lambda: folder.write_report("{}"),
                  lambda: folder.plot_path("history.png"), lambda: folder.save_data(np.zeros((2, 2)))):
        with pytest.raises(RuntimeError, match="call it inside writing"):
            write()
    with folder.writing():
        folder.write_report("{}\n")
    with pytest.raises(RuntimeError, match="call it inside writing"):  # released again on leaving
        folder.write_report("{}")
    assert (tmp_path / "run" / "evaluation.json").read_text() == "{}\n"


TRUTH = {"family": "linear", "mean": [0.0] * 3, "covariance": np.eye(3).tolist(), "W": [[1.0]] * 3,
         "psi": [0.5] * 3}


@pytest.mark.parametrize("text, fragment", [
    ("{}", "mean is missing"), ('{"mean": [0, 0, 0], "psi": [1, 1', "not valid JSON"), ("[1, 2]", "JSON object"),
    (json.dumps({**TRUTH, "mean": [0.0] * 4, "psi": [0.5] * 4}), "mean has shape [4]"),
    (json.dumps({**TRUTH, "covariance": np.eye(4).tolist()}), "covariance has shape [4, 4]"),
    (json.dumps({**TRUTH, "psi": ["a", 1, 1]}), "psi is not an array of numbers"),
    (json.dumps({**TRUTH, "W": [[1.0], [1.0, 2.0], [1.0]]}), "W is not an array of numbers"),
])
def test_a_truth_json_that_cannot_be_the_datas_is_a_warning_and_no_truth(tmp_path, capsys, text, fragment):
    (tmp_path / "d.truth.json").write_text(text)
    assert loading.load_truth(str(tmp_path / "d.npy"), 3) is None
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: ") and fragment in lines[0], lines


def test_a_good_truth_json_is_read(tmp_path, capsys):
    (tmp_path / "d.truth.json").write_text(json.dumps(TRUTH))
    truth = loading.load_truth(str(tmp_path / "d.npy"), 3)
    assert truth.family == "linear" and capsys.readouterr().err == ""
    for name in ("mean", "covariance", "W", "psi"):
        np.testing.assert_array_equal(getattr(truth, name), TRUTH[name])


def test_a_truth_written_with_other_data_is_a_warning_no_truth_and_a_reason(tmp_path, capsys):
    """Issue 19: the truth records its data file's SHA-256; given the data's, a truth of other data (here:
    of the same dimension) is refused with one warning line and the reason under reference.true_nll."""
    (tmp_path / "d.truth.json").write_text(json.dumps({**TRUTH, "data_sha256": "a" * 64}))
    unavailable = {}
    assert loading.load_truth(str(tmp_path / "d.npy"), 3, data_sha256="b" * 64, unavailable=unavailable) is None
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "written with a data file of SHA-256 aaaaaaaaaaaaaaaa..." in lines[0], lines
    assert list(unavailable) == ["reference.true_nll"]
    assert unavailable["reference.true_nll"].startswith(f"{tmp_path / 'd.truth.json'}: written with a data file")
    assert loading.load_truth(str(tmp_path / "d.npy"), 3, data_sha256="a" * 64).data_sha256 == "a" * 64
    assert loading.load_truth(str(tmp_path / "d.npy"), 4, data_sha256="a" * 64, unavailable=unavailable) is None
    assert "mean has shape [3], expected [4]" in unavailable["reference.true_nll"]  # a truth of another dimension
    capsys.readouterr()


def test_a_truth_without_a_data_sha_is_taken_as_before(tmp_path, capsys):
    (tmp_path / "d.truth.json").write_text(json.dumps(TRUTH))
    assert loading.load_truth(str(tmp_path / "d.npy"), 3, data_sha256="b" * 64).data_sha256 is None
    assert capsys.readouterr().err == ""


def test_truncated_latents_are_a_warning_and_no_latents(good, tmp_path, capsys):
    folder, _ = good
    config = RunFolder(str(folder / "run")).load_config()
    data = tmp_path / "d.npy"
    shutil.copy(folder / "data.npy", data)
    np.save(tmp_path / "d.latents.npy", np.zeros((200, 1)))
    copy = config.__class__(**{**config.to_dict(), "data": str(data)})
    assert truth_module.latents_of_test_rows(copy).shape == (config.test_rows, 1)
    raw = (tmp_path / "d.latents.npy").read_bytes()
    (tmp_path / "d.latents.npy").write_bytes(raw[:len(raw) // 2])
    assert truth_module.latents_of_test_rows(copy) is None
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "d.latents.npy: unreadable (Failed to read all data for array. Expected (200, 1) = " \
        "200 elements, could...); going on without the true latents" in lines[0]


@pytest.mark.parametrize("message, limit, quoted", [
    ("short enough", 80, "short enough"),
    ("first line\nsecond line", 80, "first line"),
    ("Expected (300, 1) = 300 elements, could only read 93 elements.", 40, "Expected (300, 1) = 300 elements..."),
    ("cannot open (the file /a/b/c is locked by another process)", 40, "cannot open..."),
    ("f(a(b(c d e f g h i j k l m n o p", 20, "f..."),
    ("x" * 50, 10, "xxxxxxx..."),
    ("", 10, "ValueError"),
])
def test_a_quoted_error_is_cut_after_a_word_outside_its_own_parentheses(message, limit, quoted):
    assert first_line(ValueError(message), limit) == quoted and len(quoted) <= limit


def test_a_reconstruction_of_one_row_prints_n_a_for_its_covariance(good, tmp_path, capsys):
    folder, _ = good
    np.savetxt(tmp_path / "one.csv", factor_data_array(1), delimiter=",")
    status, stdout, stderr = call(AFTER, ["--mode", "recon", "--checkpoint-dir", folder / "run", "--rows",
                                          tmp_path / "one.csv", "--output", tmp_path / "r.npy"], capsys)
    assert status == 0 and "covariance error n/a, Frechet n/a" in stdout and stderr == "", stderr
    assert np.load(tmp_path / "r.npy").shape == (1, 4)


@pytest.mark.parametrize("eigenvalues", ["4,3.9", "3,2.9", "7,1.6"])
def test_close_eigenvalues_inside_the_achievable_range_are_generated(tmp_path, capsys, eigenvalues):
    status, stdout, stderr = call(GENERATE, ["generate", "--eigenvalues", eigenvalues, "--rows", 100, "--output",
                                             tmp_path / "g.npy"], capsys)
    assert status == 0 and stderr == "", stderr
    achieved = json.loads((tmp_path / "g.truth.json").read_text())["correlation_eigenvalues"][:2]
    assert achieved == pytest.approx([float(value) for value in eigenvalues.split(",")], rel=5e-3)
