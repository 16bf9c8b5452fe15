"""One writer at a time: the operating-system guarantee a run folder rests on beside the atomic swap (run.swap).

Plain Python (no numpy, no TensorFlow), so that a second writer is turned away before any slow import.
"""
import contextlib
import fcntl
import os
import socket
import sys
import time

from betavae.cli import UsageError, os_errors
from betavae.fields import spelled
from betavae.files import make_folder

LOCK_FILE = ".lock"
HOLDER_WAIT = 1.0  # seconds a second writer waits for the holder's line (written microseconds after the flock)


class RunLock:
    """An exclusive advisory lock (flock) on <folder>/.lock, holding the pid, host and command of its holder.

    The kernel drops a flock when its process dies, however it dies, so a lock left behind by a killed
    process is never an obstacle; the file's text only names the holder while the lock is held."""

    def __init__(self, folder):
        self.folder = folder
        self.path = os.path.join(folder, LOCK_FILE)
        self.handle = None

    def acquire(self):
        """Take the lock or raise a UsageError naming the process that holds it; creates the folder."""
        while True:
            make_folder(self.folder)
            with os_errors(self.path, "cannot take the run's lock"):
                handle = open(self.path, "a+", encoding="utf-8")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _holder(handle)
                handle.close()
                raise UsageError(f"{self.folder} is being written by {holder}; wait for it to finish, or "
                                 f"choose another {spelled('checkpoint_dir')}") from None
            # The folder may have been swapped (run.swap.exchange_folders) between open and flock: then the
            # lock is on a file that is no longer <folder>/.lock, and worthless.
            if _same_file(handle, self.path):
                break
            handle.close()
        try:
            with os_errors(self.path, "cannot take the run's lock"):  # e.g. a full disk
                handle.seek(0)
                handle.truncate()
                handle.write(f"pid {os.getpid()} on {socket.gethostname()} ({' '.join(sys.argv)[:200]})\n")
                handle.flush()
        except UsageError:
            with contextlib.suppress(OSError):  # closing flushes the unwritten line again
                handle.close()
            raise
        self.handle = handle
        return self

    def release(self):
        """Let go of the lock (closing the file releases the flock)."""
        if self.handle is not None:
            self.handle.truncate(0)  # the holder's line is only true while the lock is held
            self.handle.close()
            self.handle = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *_):
        self.release()


def _holder(handle, wait=HOLDER_WAIT):
    """The holder's line of a lock held by another process. The holder writes it just after taking the flock,
    so an empty file is read again for up to `wait` seconds before the holder goes unnamed."""
    deadline = time.monotonic() + wait
    while True:
        handle.seek(0)
        text = handle.read().strip()
        if text or time.monotonic() > deadline:
            return text or "another process"
        time.sleep(0.01)


def _same_file(handle, path):
    try:
        return os.path.samestat(os.fstat(handle.fileno()), os.stat(path))
    except FileNotFoundError:
        return False
