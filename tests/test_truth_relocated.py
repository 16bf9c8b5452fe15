"""The truth of generated data when the run's data have moved: an opened run reads the truth once, but a
truth looked for before the data were located again elsewhere (a copy given by --data or data=) is not the
answer afterwards; the truth is read beside the copy. Data moved without a copy: the truth is looked for
where the data were trained."""
import os
import shutil

import numpy as np
import pytest

from betavae.data import families, loading
from betavae.data.truth import write_truth
from betavae.run.opened import open_run
from conftest import committed_run


@pytest.fixture
def moved(tmp_path):
    """A committed run on generated 4-D data whose data.npy and data.truth.json were then moved to copy/."""
    x, truth = families.generate(dim=4, factors=1, rows=200, seed=6)
    truth.pop("latents")
    data = tmp_path / "data.npy"
    np.save(data, x)
    write_truth(loading.truth_path(str(data)), {**truth, "data_sha256": loading.file_digest(data)}, dim=4)
    run = committed_run(tmp_path / "run", data)
    (tmp_path / "copy").mkdir()
    for name in ("data.npy", "data.truth.json"):
        shutil.move(tmp_path / name, tmp_path / "copy" / name)
    return run, tmp_path / "copy" / "data.npy", np.asarray(truth["psi"])


def test_a_truth_looked_for_before_the_data_were_located_is_read_again_beside_the_copy(moved):
    run, copy, psi = moved
    opened = open_run(run.path)
    assert opened.truth() is None  # nothing where the data were trained, and no copy given yet
    located = opened.with_data(str(copy))
    assert located.located().data == str(copy)
    truth = located.truth()
    assert truth is not None and truth.data_sha256 == opened.config.data_sha256
    np.testing.assert_allclose(truth.psi, psi)
    assert located.truth() is truth  # read once


def test_a_run_opened_with_the_copy_reads_the_truth_beside_it(moved):
    run, copy, psi = moved
    truth = open_run(run.path, data=str(copy)).truth()
    assert truth is not None
    np.testing.assert_allclose(truth.psi, psi)


def test_data_moved_without_a_copy_look_for_the_truth_where_they_were_trained(moved, tmp_path):
    run, copy, psi = moved
    shutil.copy(copy.with_name("data.truth.json"), tmp_path / "data.truth.json")  # the truth stayed behind
    opened = open_run(run.path)
    truth = opened.truth()
    assert truth is not None and not os.path.exists(opened.config.data)
    np.testing.assert_allclose(truth.psi, psi)
