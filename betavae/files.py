"""Files written atomically (a temporary file, fsynced, replaces the target only when complete): text, figures
and arrays, the arrays in chunks with memory bounded by one chunk whatever the number of rows, and refused up
front if they cannot fit.

numpy only, so data_processing.py can use it without TensorFlow.
"""
import contextlib
import csv
import io
import os
import re
import shutil

import numpy as np
from numpy.lib import format as npy_format

from betavae.cli import UsageError
from betavae.words import counted

SUFFIXES = (".npy", ".csv", ".txt", ".dat")
TEXT_BYTES_PER_VALUE = 12  # what "%.7g" plus a separator takes for typical values
TEMPORARY_MARK = ".betavae-tmp-"
_TEMPORARY = re.compile(r"\..+" + re.escape(TEMPORARY_MARK) + r"(\d+)(\.[^.]*)?$")


def temporary_path(path):
    """Where a writer keeps path until it is complete: hidden, beside it, named after it and this process
    (.<name>.betavae-tmp-<pid><suffix>), so no user's file is ever taken for one, and a stale one is known."""
    folder, name = os.path.split(path)
    return os.path.join(folder, f".{name}{TEMPORARY_MARK}{os.getpid()}{os.path.splitext(name)[1]}")


def is_temporary(name):
    """Whether a file name is a temporary of this suite's writers (temporary_path)."""
    return _TEMPORARY.match(name) is not None


def remove_stale_temporaries(folder):
    """Delete the temporaries in folder left by writers of this suite that were killed mid-write (their
    process is gone); nothing else, and nothing of a writer still running."""
    try:
        names = os.listdir(folder or ".")
    except OSError:
        return
    for name in filter(is_stale, names):
        with contextlib.suppress(OSError):
            os.remove(os.path.join(folder, name))


def is_stale(name):
    """Whether a file or folder name is a temporary (temporary_path) of a writer whose process is gone."""
    match = _TEMPORARY.match(name)
    return bool(match) and not _alive(int(match[1]))


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def output_bytes(path, rows, columns, dtype=np.float32):
    """About how many bytes writing rows x columns values to path (format by extension) takes."""
    if os.path.splitext(path)[1].lower() == ".npy":
        return rows * columns * np.dtype(dtype).itemsize + 128
    return rows * columns * TEXT_BYTES_PER_VALUE


def check_output_path(path, rows, columns, dtype=np.float32, side_bytes=0, side_files=""):
    """Raise a UsageError, before any work, for an output path of an unknown format, in a folder that does
    not exist or cannot be written, or on a disk without room for it and its side_bytes (the side_files
    written beside it, e.g. a generated dataset's truth and latents: all fit, or nothing is written)."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.splitext(path)[1].lower() not in SUFFIXES:
        raise UsageError(f"{path}: unknown output format, expected one of {', '.join(SUFFIXES)}")
    check_writable_folder(path, folder)
    needed, free = output_bytes(path, rows, columns, dtype) + side_bytes, shutil.disk_usage(folder).free
    if needed > free:
        raise UsageError(f"{path}: writing {counted(rows, 'row')}{side_files} needs about {needed / 1e9:.3g} GB, but "
                         f"only {free / 1e9:.3g} GB are free in {folder}")


def check_writable_folder(path, folder):
    """Raise a UsageError naming the real cause (no such folder, not a folder, the operating system's own
    reason such as "Permission denied" or "Operation not permitted") if a file cannot be created in folder;
    the check creates and removes a temporary file of ours, since permission bits alone miss an immutable
    folder, a read-only mount or root's rights."""
    if not os.path.exists(folder):
        raise UsageError(f"{path}: cannot write there (folder {folder} does not exist)")
    if not os.path.isdir(folder):
        raise UsageError(f"{path}: cannot write there ({folder} is not a folder)")
    probe = temporary_path(os.path.join(folder, ".write-check"))
    try:
        os.close(os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        os.remove(probe)
    except OSError as error:
        raise UsageError(f"{path}: cannot write there (folder {folder}: {error.strerror})") from None


def make_folder(path, doing="cannot write there", label=None):
    """Create the folder path and its missing parents, or raise a UsageError of one line: a file where a folder
    belongs is named as such (path itself: "is a file, not a folder"; a parent: "cannot write there (<parent>
    is a file, not a folder)"), else the system's reason after `doing`. label: what errors call path."""
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as error:
        label = label or path
        existing = path
        while not os.path.lexists(existing) and os.path.dirname(existing) != existing:
            existing = os.path.dirname(existing)
        if os.path.lexists(existing) and not os.path.isdir(existing):
            raise UsageError(f"{label}: is a file, not a folder" if existing == path else
                             f"{label}: cannot write there ({existing} is a file, not a folder)") from None
        raise UsageError(f"{label}: {doing} ({error.strerror or error})") from None


@contextlib.contextmanager
def folder_made_for(path):
    """Create the missing folders above the file path (make_folder) for the block; if the block raises, remove
    again those of them that it left empty, so that a failed write leaves no folder behind."""
    parent = os.path.dirname(os.path.abspath(path))
    missing = []
    while not os.path.lexists(parent) and os.path.dirname(parent) != parent:
        missing.append(parent)
        parent = os.path.dirname(parent)
    if missing:
        make_folder(missing[0], label=os.path.dirname(path))
    try:
        yield
    except BaseException:
        for folder in missing:  # the deepest first
            with contextlib.suppress(OSError):  # not empty: something of the user's is in it now
                os.rmdir(folder)
        raise


@contextlib.contextmanager
def atomic_file(path):
    """Yield a binary handle on a temporary file beside path; when the block completes, the file is fsynced
    and renamed over path in one step, so a kill or an error mid-write never leaves a half-written file (on an
    error the temporary is removed and path keeps its old contents)."""
    remove_stale_temporaries(os.path.dirname(path))
    temporary = temporary_path(path)
    handle = open(temporary, "wb")
    try:
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        if os.path.lexists(temporary):  # the write or the replace failed (a full disk, a folder in the way)
            os.remove(temporary)


def atomic_write_text(path, text):
    """Replace a text file (UTF-8) in one step (see atomic_file)."""
    with atomic_file(path) as handle:
        handle.write(text.encode("utf-8"))


class ArrayWriter:
    """A context manager writing a [rows, columns] array chunk by chunk; the file appears at path only if
    the block completes with every row written (else the temporary file is removed).

    .npy: its header, then each chunk's bytes appended (a memory map would keep every written page resident);
    text: np.savetxt per chunk. names: the columns' names, written as a .csv file's header line (.txt and
    .dat stay numbers only, which whitespace-separated names could not be, and .npy has no place for them)."""

    def __init__(self, path, rows, columns, dtype=np.float32, names=None):
        check_output_path(path, rows, columns, dtype)
        self.path, self.dtype = path, np.dtype(dtype)
        suffix = os.path.splitext(path)[1].lower()
        self.delimiter = None if suffix == ".npy" else "," if suffix == ".csv" else " "
        self._file = atomic_file(path)
        try:
            self.target = self._file.__enter__()
        except OSError as error:
            raise UsageError(f"{path}: cannot write ({error.strerror})") from None
        try:
            if self.delimiter is None:
                npy_format.write_array_header_1_0(self.target, {"descr": npy_format.dtype_to_descr(self.dtype),
                                                                "fortran_order": False, "shape": (rows, columns)})
            elif self.delimiter == "," and names is not None and not all(map(is_number, names)):
                # A header of numbers only would be read back as a row of data, so it is left out.
                line = io.StringIO()
                csv.writer(line, lineterminator="\n").writerow(names)
                self.target.write(line.getvalue().encode("utf-8"))
        except OSError as error:
            self.__exit__(type(error), error, error.__traceback__)  # removes the temporary; a UsageError

    def write(self, chunk):
        """Append the next rows."""
        if self.delimiter is None:
            np.ascontiguousarray(chunk, dtype=self.dtype).tofile(self.target)
        else:
            np.savetxt(self.target, chunk, delimiter=self.delimiter, fmt="%.7g")

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        try:
            self._file.__exit__(kind, error, traceback)
        except OSError as failure:
            raise UsageError(f"{self.path}: cannot write ({failure.strerror})") from None
        if kind is not None and issubclass(kind, OSError):  # e.g. the disk filled up after all
            raise UsageError(f"{self.path}: cannot write ({error.strerror})") from None


def is_number(text):
    """Whether text reads as a number (float() takes it)."""
    try:
        float(text)
    except ValueError:
        return False
    return True


class StreamMoments:
    """Mean and covariance of rows seen chunk by chunk (shifted sums, in float64), so that outputs too
    large for memory can still be compared with the data."""

    def __init__(self):
        self.count, self.shift, self.total, self.squares = 0, None, 0.0, 0.0

    def add(self, chunk):
        """Account for more rows."""
        chunk = np.asarray(chunk, dtype=np.float64)
        if self.shift is None:
            self.shift = chunk[0]
        centred = chunk - self.shift
        self.count += len(chunk)
        self.total = self.total + centred.sum(axis=0)
        self.squares = self.squares + centred.T @ centred

    def mean_cov(self):
        """(mean, covariance with the n - 1 denominator), like data_processing.moments."""
        mean = self.total / self.count
        cov = (self.squares - self.count * np.outer(mean, mean)) / max(self.count - 1, 1)
        return self.shift + mean, np.atleast_2d(cov)
