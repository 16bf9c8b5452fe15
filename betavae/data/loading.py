"""Data for the beta-VAE: load and validate files, split train/test, shuffle batches.

Pure numpy, no TensorFlow, so that bad input is reported before TensorFlow's slow import.
"""
import csv
import hashlib
import json
import os
from typing import NamedTuple, Optional

import numpy as np
from numpy.lib import recfunctions

from betavae.config import default_names
from betavae.files import SUFFIXES, ArrayWriter, atomic_file, is_number
from betavae.cli import UsageError, first_line, os_errors, warn
from betavae.paths import check_file, file_problem
from betavae.data.truth import Truth
from betavae.words import counted

FLOAT32_MAX = float(np.finfo(np.float32).max)  # the model computes in float32
CHUNK_ROWS = 1 << 16  # rows per pass when scanning data that may be memory-mapped


class DataError(UsageError):
    """A problem with a user's data file, with a message meant to be shown to the user as it is."""


class Table(NamedTuple):
    """A data file's array, the names of its columns (its header's, else x1..xD; an empty name in a header,
    as pandas writes for its index, is x<j> too) and its header as written (None without one)."""
    data: np.ndarray
    names: tuple
    header: Optional[tuple]


def load_data(path, memory_map=False):
    """Read a 2-D float array from .npy, .csv (optional header) or whitespace text, rejecting bad values.

    memory_map: leave a .npy file on disk and read rows on demand (for data larger than memory)."""
    return load_table(path, memory_map).data


def load_table(path, memory_map=False):
    """load_data's array with the names of its columns (a Table); a header naming two columns alike, or
    another number of columns than the rows have, is refused."""
    check_file(path, "a data file")
    with os_errors(path, "cannot read"):
        return _load_checked(path, memory_map)


def _load_checked(path, memory_map):
    """load_table for an existing file: its format, shape, values and header checked."""
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in SUFFIXES:
        raise DataError(f"{path}: unknown format '{suffix}', expected one of {', '.join(SUFFIXES)}")
    if os.path.getsize(path) == 0:
        raise DataError(f"{path}: file is empty")
    if memory_map and suffix != ".npy":
        raise DataError(f"{path}: streaming reads .npy files (memory-mapped); save the data with numpy.save")
    if suffix == ".npy":
        data, header = _load_npy(path, memory_map)
    else:
        data, header = _load_text(path, delimiter="," if suffix == ".csv" else None)
    if data.ndim != 2:
        raise DataError(f"{path}: expected a 2-D array (rows x columns), got {data.ndim}-D shape {data.shape}")
    if data.shape[0] == 0 or data.shape[1] == 0:
        raise DataError(f"{path}: no data (shape {data.shape})")
    for start in range(0, len(data), CHUNK_ROWS):  # in chunks, so a memory map is never read whole
        chunk = data[start:start + CHUNK_ROWS]
        bad = np.argwhere(~np.isfinite(chunk) | (np.abs(chunk) > FLOAT32_MAX))
        if bad.size:
            row, col = bad[0]
            raise _bad_value(path, start + row + 1, col + 1, data[start + row, col])
    return Table(data, column_names(path, header, data.shape[1]), header)


def column_names(path, header, dim):
    """The names of dim columns: a header's (an empty one as x<j>), else x1..xD; a header naming two columns
    alike, or another number of columns than the rows have, is a DataError naming `path`."""
    if header is None:
        return default_names(dim)
    if len(header) != dim:
        raise DataError(f"{path}: its header names {counted(len(header), 'column')}, but its rows have {dim}")
    names = tuple(name or default for name, default in zip(header, default_names(dim)))
    first = {}
    for column, name in enumerate(names):
        if name in first:
            raise DataError(f"{path}: its header names columns {first[name] + 1} and {column + 1} alike ('{name}'); "
                            "give the columns distinct names")
        first[name] = column
    return names


def _bad_value(path, row, column, value):
    """The error for a value the model cannot take: NaN, infinite, or beyond float32's range."""
    problem = "is not finite" if not np.isfinite(value) else f"overflows float32 (largest {FLOAT32_MAX:.4g})"
    return DataError(f"{path}: row {row}, column {column}: value {value} {problem}")


def _load_npy(path, memory_map):
    """A .npy file's array and its header: the field names of a structured array (one field per column),
    else None."""
    with open(path, "rb") as handle:
        if handle.read(6) != b"\x93NUMPY":
            raise DataError(f"{path}: not a valid .npy array file (no NumPy header)")
    try:
        data = np.load(path, allow_pickle=False, mmap_mode="r" if memory_map else None)
    except ValueError as error:
        if "pickle" in str(error):
            raise DataError(f"{path}: holds Python objects, which are never unpickled; save a numeric array") from None
        raise DataError(f"{path}: not a valid .npy array file ({error})") from None
    except (OSError, EOFError) as error:
        raise DataError(f"{path}: not a valid .npy array file ({error})") from None
    if not isinstance(data, np.ndarray):
        raise DataError(f"{path}: expected a single array, got {type(data).__name__}")
    header, stored = None, data
    if data.dtype.names is not None:
        data, header = field_columns(data, path)
    if not (np.issubdtype(data.dtype, np.number) or data.dtype == bool) or np.iscomplexobj(data):
        raise DataError(f"{path}: expected real numbers, got dtype {data.dtype}")
    if memory_map and not np.may_share_memory(data, stored):
        raise DataError(f"{path}: streaming reads a structured array only if its fields share one dtype (their "
                        "copy in another would not stay on disk); save every field with the same dtype")
    return data if memory_map else data.astype(np.float64), header


def field_columns(array, path):
    """A structured array's fields as the columns of an array (a view where the fields allow one, so that a
    memory map stays on disk) and their names; a field that is not one number per record is a DataError."""
    for name, (kind, *_) in array.dtype.fields.items():
        if kind.shape or kind.names is not None:
            raise DataError(f"{path}: field '{name}' holds {kind}, expected one number per row")
    return recfunctions.structured_to_unstructured(array, copy=False), tuple(array.dtype.names)


def _load_text(path, delimiter):
    """Parse UTF-8 text row by row so that errors can name the row and column; returns (array, header names
    or None). A byte-order mark is ignored, quoted numbers are read, and only a first line that is not all
    numbers is a header (a .csv header's names may be quoted, with commas inside the quotes)."""
    rows = []
    header, header_allowed = None, True
    with open(path, "rb") as handle:
        start = handle.read(1 << 16)
    if b"\0" in start or start[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise DataError(f"{path}: not a text file (binary, or UTF-16); save it as UTF-8 text or as .npy")
    with open(path, encoding="utf-8-sig") as handle:
        for line_number, line in enumerate(_text_lines(handle, path), start=1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            tokens = [_unquote(token.strip()) for token in line.split(delimiter)]
            try:
                values = [float(token) for token in tokens]
            except ValueError:
                if header_allowed:  # the first line may name the columns
                    header_allowed = False
                    if delimiter == ",":
                        tokens = next(csv.reader([line.rstrip("\r\n")], skipinitialspace=True))
                    header = tuple(_unquote(token.strip()) for token in tokens)
                    continue
                column = next(i for i, token in enumerate(tokens) if not is_number(token))
                raise DataError(f"{path}: row {line_number}, column {column + 1}: "
                                f"'{tokens[column][:40]}' is not a number") from None
            bad = [i for i, value in enumerate(values) if not abs(value) <= FLOAT32_MAX]
            if bad:  # named here, by the line of the file, which a header shifts from the row of the array
                raise _bad_value(path, line_number, bad[0] + 1, values[bad[0]])
            if rows and len(values) != len(rows[0]):
                raise DataError(f"{path}: row {line_number} has {counted(len(values), 'column')}, "
                                f"expected {len(rows[0])} like the rows before it")
            rows.append(values)
            header_allowed = False
    if not rows:
        raise DataError(f"{path}: file holds no data rows")
    return np.array(rows, dtype=np.float64), header


def _text_lines(handle, path):
    """The lines of a text file, with a file that is not UTF-8 reported as one DataError."""
    try:
        yield from handle
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a UTF-8 text file; save it as UTF-8 text or as .npy") from None


def _unquote(token):
    """A number written in quotes ("1.5" or '1.5'), as spreadsheets export it, without them."""
    return token[1:-1].strip() if len(token) >= 2 and token[0] == token[-1] and token[0] in "\"'" else token


def save_array(path, array, names=None):
    """Write a 2-D array in the format named by the file's extension (.npy, .csv, .txt or .dat), atomically.
    names: its columns' names, which a .csv file keeps as its header and a .npy file as the fields of a
    structured array (one record per row), both read back by load_table as the columns' names."""
    if names is not None and os.path.splitext(path)[1].lower() == ".npy":
        with os_errors(path, "cannot write"), atomic_file(path) as handle:
            np.save(handle, recfunctions.unstructured_to_structured(np.ascontiguousarray(array), names=list(names)))
        return
    with ArrayWriter(path, *array.shape, dtype=array.dtype, names=names) as writer:
        writer.write(array)


def file_digest(path):
    """SHA-256 of a file, recorded with a checkpoint so a changed data file is noticed."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def split_indices(num_rows, test_fraction, seed):
    """Seeded (train, test) row indices; the same arguments always give the same split."""
    num_test = int(round(num_rows * test_fraction))
    if num_test < 1 or num_rows - num_test < 1:
        raise DataError(f"too few rows ({num_rows}) to hold out a test fraction of {test_fraction}: "
                        "need at least one training and one test row")
    order = np.random.default_rng([seed, 1]).permutation(num_rows)
    return np.sort(order[num_test:]), np.sort(order[:num_test])


def epoch_order(num_rows, batch_size, seed, epoch):
    """One epoch's shuffled row order (keyed by seed and epoch) as row indices [n, B] and row weights [n, B].

    A last, partial batch is padded with row 0 at weight 0, so every step has the same shape and one
    compiled function serves the whole epoch; the rows themselves stay where they are (on the device)."""
    num_batches = -(-num_rows // batch_size)
    indices = np.zeros(num_batches * batch_size, dtype=np.int32)
    indices[:num_rows] = np.random.default_rng([seed, 2, epoch]).permutation(num_rows)
    weights = np.zeros(num_batches * batch_size, dtype=np.float32)
    weights[:num_rows] = 1.0
    return indices.reshape(num_batches, batch_size), weights.reshape(num_batches, batch_size)


class RowSubset:
    """Some rows of a (possibly memory-mapped) array, read only when asked for: the training rows when
    streaming data larger than memory. Slicing gives float32 rows, like an in-memory training array.
    columns: the indices of the columns kept (None: all)."""

    def __init__(self, array, rows, columns=None):
        self.array, self.columns = array, columns
        self.rows = np.asarray(rows)
        self.shape = (len(self.rows), array.shape[1] if columns is None else len(columns))

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, positions):
        rows = self.array[self.rows[positions]]
        return np.asarray(rows if self.columns is None else rows[:, self.columns], dtype=np.float32)


def column_mean_std(rows):
    """Per-column mean and standard deviation, accumulated in chunks so a RowSubset is never loaded whole."""
    total = np.zeros(rows.shape[1])
    squares = np.zeros(rows.shape[1])
    shift = np.asarray(rows[0:1], dtype=np.float64)[0]  # shifted sums keep the variance accurate
    for start in range(0, len(rows), CHUNK_ROWS):
        chunk = np.asarray(rows[start:start + CHUNK_ROWS], dtype=np.float64) - shift
        total += chunk.sum(axis=0)
        squares += (chunk ** 2).sum(axis=0)
    mean = total / len(rows)
    return shift + mean, np.sqrt(np.maximum(squares / len(rows) - mean ** 2, 0.0))


def moments(data):
    """Mean vector and covariance matrix (rows are samples), used to compare outputs with data; in float64, where
    the sums of float32 values near its largest do not overflow."""
    data = np.asarray(data, dtype=np.float64)
    return data.mean(axis=0), np.atleast_2d(np.cov(data, rowvar=False))


TRUTH_SUFFIX = ".truth.json"
LATENTS_SUFFIX = ".latents.npy"


def truth_path(data_path):
    """Where the true parameters of a generated dataset are kept: beside it, as <name>.truth.json."""
    return os.path.splitext(data_path)[0] + TRUTH_SUFFIX


def latents_path(data_path):
    """Where the true latent coordinates of a generated dataset's rows are kept: <name>.latents.npy."""
    return os.path.splitext(data_path)[0] + LATENTS_SUFFIX


def check_not_side_file(path, flag="--output"):
    """Raise a DataError if writing to path would replace the truth or latents file of a data file beside it
    (<name>.truth.json, <name>.latents.npy beside <name>.npy, .csv, .txt or .dat), however path is spelled
    (a symlink included): those files are the data's record of their truth, and --overwrite is no licence
    to destroy them."""
    for spelling in dict.fromkeys((path, os.path.realpath(path))):
        for side, label in ((TRUTH_SUFFIX, "truth"), (LATENTS_SUFFIX, "true latents")):
            owners = data_files_named(spelling[:-len(side)]) if spelling.endswith(side) else []
            if owners:
                raise DataError(f"{path}: is the {label} file of {owners[0]}; writing there would destroy it; "
                                f"choose another {flag}")


def data_files_named(stem):
    """The data files <stem>.npy, .csv, .txt, .dat that exist: those whose truth and latents files are named
    after stem (so one truth and one latents file serve them all)."""
    return [stem + suffix for suffix in SUFFIXES if os.path.exists(stem + suffix)]


def load_truth(data_path, dim=None, columns=None, *, data_sha256=None, unavailable=None):
    """The truth recorded beside a generated dataset (a truth.Truth), or None for data of unknown origin. A
    truth file that cannot be one for these data (unreadable, not JSON, a key missing or of the wrong shape,
    another dimension than dim, or written with a data file whose SHA-256 is not data_sha256) is named in a
    one-line warning and taken as no truth: the scores go on without it, and unavailable (a report's dict,
    if given) says why under "reference.true_nll". A truth that records no SHA-256 (older files) is taken.
    columns: a run's --columns value; the truth describes all the columns, not a choice of them: None."""
    path = truth_path(data_path)
    if columns is not None or not os.path.lexists(path):
        return None
    truth, problem = _read_truth(path, dim)
    if truth is not None and None not in (truth.data_sha256, data_sha256) and truth.data_sha256 != data_sha256:
        truth, problem = None, (f"written with a data file of SHA-256 {truth.data_sha256[:16]}..., not with "
                                f"{data_path} ({data_sha256[:16]}...)")
    if truth is None:
        warn(f"{path}: {problem}; going on without the truth")
        if unavailable is not None:
            unavailable["reference.true_nll"] = f"{path}: {problem}"
    return truth


def _read_truth(path, dim):
    """(the Truth in the file at path, None) or (None, what makes it unusable for data of dim columns)."""
    problem = file_problem(path, "a truth JSON file")
    if problem:
        return None, problem
    try:
        with open(path, encoding="utf-8") as handle:
            return Truth.from_json(json.load(handle), dim), None
    except OSError as error:
        return None, error.strerror or str(error)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        return None, f"not valid JSON ({first_line(error, 80)})"
    except ValueError as error:  # a key missing or of the wrong type or shape
        return None, str(error)
