"""Rows that carry their columns' names, as the Python API takes them: a pandas DataFrame, found by duck typing
(`columns` and `to_numpy`, so that pandas is no dependency), or a structured numpy array (one field per column).
Their names are read as a .csv file's header is. Pure numpy.
"""
import numpy as np

from betavae.data.loading import field_columns
from betavae.files import is_number


def is_named(value):
    """Whether value is rows with named columns: a DataFrame or a structured array."""
    if isinstance(value, np.ndarray):
        return value.dtype.names is not None
    return hasattr(value, "columns") and hasattr(value, "to_numpy")


def values_and_header(value, label):
    """The values of named rows (is_named) as an array, and their columns' names as a header (None when every
    name is a number, as a DataFrame's default 0..D-1 are: a .csv file's first line of numbers is no header
    either). label: what errors call the rows."""
    if isinstance(value, np.ndarray):
        values, header = field_columns(value, label)
    else:
        values, header = value.to_numpy(), tuple("" if name is None else str(name) for name in value.columns)
    return values, None if all(map(is_number, header)) else header
