"""The race of RunLock.acquire: the run folder is swapped (an --overwrite's exchange, run.swap) between the
open of <folder>/.lock and its flock. The flock then holds a file that is no longer <folder>/.lock, and
worthless; acquire must notice and lock the file that is there now. Simulated by patching fcntl.flock so
that the swap happens inside the window."""
import fcntl
import os

import pytest

from betavae.cli import UsageError
from betavae.run.lock import LOCK_FILE, RunLock
from betavae.run.swap import exchange_folders


def swap_before_the_first_flock(monkeypatch, folder, replacement):
    """Patch fcntl.flock so that its first call exchanges folder and replacement before it locks; returns the
    list of the paths each call locked."""
    real_flock, calls = fcntl.flock, []

    def racing_flock(handle, operation):
        if not calls:
            exchange_folders(str(replacement), str(folder))
        calls.append(os.fstat(handle.fileno()))
        return real_flock(handle, operation)
    monkeypatch.setattr(fcntl, "flock", racing_flock)
    return calls


@pytest.mark.parametrize("with_lock_file", [True, False], ids=["replacement-with-its-own-lock-file", "without"])
def test_a_folder_swapped_between_open_and_flock_is_locked_again(tmp_path, monkeypatch, with_lock_file):
    folder, replacement = tmp_path / "run", tmp_path / "staging"
    folder.mkdir()
    (folder / LOCK_FILE).write_text("")
    (folder / "old").write_text("the run before the swap")
    replacement.mkdir()
    if with_lock_file:
        (replacement / LOCK_FILE).write_text("")
    calls = swap_before_the_first_flock(monkeypatch, folder, replacement)
    lock = RunLock(str(folder)).acquire()
    try:
        assert (folder / "old").exists() is False  # the swap did happen inside the window
        assert len(calls) == 2 and not os.path.samestat(calls[0], calls[1])
        assert os.path.samestat(os.fstat(lock.handle.fileno()), os.stat(folder / LOCK_FILE))
        assert (folder / LOCK_FILE).read_text().startswith(f"pid {os.getpid()} on ")
        assert (replacement / LOCK_FILE).read_text() == ""  # the moved-away file was let go, its text untouched
        monkeypatch.undo()
        with pytest.raises(UsageError, match=f"is being written by pid {os.getpid()} on "):
            RunLock(str(folder)).acquire()
    finally:
        lock.release()
    RunLock(str(folder)).acquire().release()  # released: free again
