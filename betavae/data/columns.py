"""Which columns of a data file a run trains on (--columns), chosen alike from its training data, its test
data and the rows given to it after training; and the warning for a pandas index taken as a feature.

--columns is a comma list of entries, each a column name (of the file's header; x1..xD without one), a 0-based
index or a start:stop range of indices (a Python slice: stop is not chosen, either end may be left out). A name is
matched before an index, so a header's "2010" is that column. Pure numpy, no TensorFlow.
"""
import re

import numpy as np

from betavae.cli import warn
from betavae.data.loading import CHUNK_ROWS, DataError
from betavae.fields import spelled
from betavae.words import counted, listed

_INDEX = re.compile(r"^\d+$")
_RANGE = re.compile(r"^(\d*):(\d*)$")
SHOWN_NAMES = 8  # names an error lists before "and N more"


def choose(table, columns, path, trained=None):
    """The 0-based indices of the columns `columns` chooses from a loaded table (None: all, in order), or a
    DataError of one line naming the entry and the file's columns. trained: the names a run was trained on;
    a file whose columns already bear exactly those names is taken as it is (e.g. a recon.csv written by the
    run), one whose header holds them all in another order gives them by name, and one whose header gives
    the chosen columns other names is refused; the x1..xD of a run on data without a header are names like
    any other, as its .csv outputs write them."""
    if trained is not None and tuple(table.names) == tuple(trained):
        return None
    named = trained is not None and table.header is not None
    if named and set(trained) <= set(table.names):
        return [table.names.index(name) for name in trained]
    label = spelled("columns") if trained is None else f"the run's {spelled('columns', columns)}"
    indices = None if columns is None else resolve(columns, table.names, path, label)
    chosen = table.names if indices is None else tuple(table.names[i] for i in indices)
    if named and chosen != tuple(trained):
        raise DataError(f"{path}: its columns {listed(chosen, SHOWN_NAMES)} are not those the run was trained on "
                        f"({listed(trained, SHOWN_NAMES)})")
    return indices


def resolve(columns, names, path, label=None):
    """The indices of the entries of a --columns value among a file's column names, in the order given;
    label: what errors call the value (default: the setting's name)."""
    label = label or spelled("columns")
    indices = []
    for entry in (entry.strip() for entry in columns.split(",")):
        if entry in names:
            found = [names.index(entry)]
        elif _INDEX.match(entry):
            if int(entry) >= len(names):
                raise DataError(f"{label}: index {entry} is out of range for {path} ({_numbered(names)})")
            found = [int(entry)]
        elif _RANGE.match(entry):
            start, stop = (int(end) if end else None for end in _RANGE.match(entry).groups())
            found = list(range(len(names))[start:stop])
            if not found:
                raise DataError(f"{label}: {entry} chooses no column of {path} ({_numbered(names)})")
        else:
            what = "an empty entry" if not entry else f"'{entry}' is not a column of {path}"
            raise DataError(f"{label}: {what} (its columns: {listed(names, SHOWN_NAMES)})")
        twice = next((i for i in found if i in indices), None)
        if twice is not None:
            raise DataError(f"{label}: column {twice} ('{names[twice]}') of {path} is chosen twice")
        indices += found
    return indices


def take(data, indices):
    """The chosen columns of an array (all of them, not copied, for None)."""
    return data if indices is None else data[:, indices]


def warn_of_an_index(table, indices, path, columns=None):
    """Print a one-line warning when the first column trained on looks like a row index: its header name is
    empty (as pandas writes its index), or it counts 0, 1, 2, ... (or 1, 2, 3, ...) down every row."""
    first = 0 if indices is None else indices[0]
    unnamed = table.header is not None and table.header[first] == ""
    if not (unnamed or _counts_rows(table.data, first)):
        return
    why = "has no name in the header" if unnamed else "counts the rows (0, 1, 2, ... in order)"
    advice = f"{spelled('columns', '1:')} leaves it out" if columns is None else f"leave it out of {spelled('columns')}"
    warn(f"{path}: column {first} ('{table.names[first]}') {why}, like the index pandas writes; it is trained on "
         f"as a feature; {advice}")


def _counts_rows(data, column):
    """Whether a column holds 0, 1, ..., n - 1 or 1, 2, ..., n (n >= 3), read in chunks (a memory map)."""
    if len(data) < 3:
        return False
    offset = data[0, column]
    if offset not in (0, 1):
        return False
    for start in range(0, len(data), CHUNK_ROWS):
        chunk = np.asarray(data[start:start + CHUNK_ROWS, column])
        if not np.array_equal(chunk, np.arange(start, start + len(chunk)) + offset):
            return False
    return True


def _numbered(names):
    """The indices a file's columns have: "its 4 columns: 0 to 3", "its 1 column: 0"."""
    return f"its {counted(len(names), 'column')}: 0" + (f" to {len(names) - 1}" if len(names) > 1 else "")
