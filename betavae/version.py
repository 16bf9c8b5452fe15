"""The package's version, read in one place: from its installed metadata, or, in a checkout that is not
installed, from the pyproject.toml beside the package. Plain Python; read once per process."""
import functools
import importlib.metadata
import os
import re

PYPROJECT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pyproject.toml")


@functools.lru_cache(maxsize=None)
def package_version():
    """The version of the betavae package (e.g. "0.1.0")."""
    try:
        return importlib.metadata.version("betavae")
    except importlib.metadata.PackageNotFoundError:
        return pyproject_version(PYPROJECT)


def pyproject_version(path):
    """The version of a pyproject.toml's [project] table; a ValueError when it has none."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    # The [project] table runs to the next table's header; tomllib would do, but Python 3.10 lacks it.
    table = re.search(r"^\[project\]\s*$(.*?)(?=^\[|\Z)", text, re.M | re.S)
    version = table and re.search(r"^version\s*=\s*[\"']([^\"']+)[\"']", table.group(1), re.M)
    if not version:
        raise ValueError(f"{path}: no version in its [project] table")
    return version.group(1)
