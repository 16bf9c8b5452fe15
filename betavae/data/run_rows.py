"""A run's rows: the training and test rows of a data file (its seeded split, its --columns), the rows of a
file in a run's columns, and whether a file is a moved copy of a run's data. Pure numpy, no TensorFlow."""
import os

import numpy as np

from betavae.cli import UsageError
from betavae.data import columns as columns_module
from betavae.data import loading
from betavae.words import counted


def load_split(data_path, test_path, test_fraction, seed, stream=False, columns=None, trained=None, label=None):
    """The training and test rows (float32) of a data file and an optional test file, or of the file's
    seeded split, and the names of their columns: those --columns chose (columns; None: all), taken alike
    from both files. trained: the names of the columns a run was trained on, None for a new run (whose first
    column is checked for a pandas index). stream: leave the training rows in the memory-mapped .npy file
    (a RowSubset). label: what messages call the data (default: its path; the run's copy of an array is
    named as the caller's array)."""
    table = loading.load_table(data_path, memory_map=stream)
    label = label or data_path
    chosen = columns_module.choose(table, columns, label, trained)
    names = table.names if chosen is None else tuple(table.names[i] for i in chosen)
    if trained is None:
        columns_module.warn_of_an_index(table, chosen, label, columns)
    data = table.data
    if test_path:
        train_rows, test = np.arange(len(data)), load_rows(test_path, columns, trained or names)
        if test.shape[1] != len(names):
            raise UsageError(f"{test_path}: has {counted(test.shape[1], 'column')}, the training data {len(names)}")
    else:
        try:
            train_rows, test_rows = loading.split_indices(len(data), test_fraction, seed)
        except loading.DataError as error:
            raise loading.DataError(f"{label}: {error}") from None
        test = columns_module.take(data[test_rows], chosen)
    train = (loading.RowSubset(data, train_rows, chosen) if stream else
             columns_module.take(data[train_rows], chosen).astype(np.float32))
    return train, np.asarray(test, dtype=np.float32), names


def load_rows(path, columns, trained):
    """The rows of a file (float32) in the columns a run was trained on (names `trained`), chosen by the
    run's --columns value as from its training data: its test data, or rows given to it after training."""
    table = loading.load_table(path)
    return columns_module.take(table.data, columns_module.choose(table, columns, path, trained)).astype(np.float32)


def count_training_rows(rows, train):
    """How many of rows (float32) equal a training row in every column: a row given to score after training
    that the model was trained on, so that a report can say its numbers are not held-out ones. Values are
    compared as float32 bits, with -0.0 taken as 0.0."""
    def as_records(array):
        array = np.ascontiguousarray(np.asarray(array, dtype=np.float32) + np.float32(0))  # -0.0 + 0.0 is 0.0
        return array.view(np.dtype((np.void, array.itemsize * array.shape[1]))).ravel()

    if len(rows) == 0 or len(train) == 0:
        return 0
    return int(np.isin(as_records(rows), as_records(train)).sum())


def training_rows_words(count, total):
    """The words for how many of `total` scored rows were training rows: 'none of them training rows', 'all
    of them training rows', '5400 of them training rows'."""
    if count == 0:
        return "none of them training rows"
    return f"{'all' if count == total else count} of them training rows"


def load_run_data(config, stream=False):
    """The training and test rows of a run; refuses a data file changed since training."""
    for path, digest in ((config.data, config.data_sha256), (config.test_data, config.test_data_sha256)):
        if path and os.path.isfile(path) and loading.file_digest(path) != digest:
            raise UsageError(f"{path}: file changed since this run was trained")
    return load_split(config.data, config.test_data, config.test_fraction, config.seed, stream, config.columns,
                      config.column_names)[:2]
