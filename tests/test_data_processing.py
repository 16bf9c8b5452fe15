"""Loading, splitting, batching and generating data (no TensorFlow involved)."""
import json
import os

import numpy as np
import pytest

from betavae.commands import generate as generate_command
from betavae.data import loading
from betavae.data.loading import DataError
from conftest import REPO


def test_text_csv_and_npy_load_the_same_values(tmp_path):
    data = np.arange(12, dtype=float).reshape(4, 3) / 7
    np.save(tmp_path / "a.npy", data)
    np.savetxt(tmp_path / "a.txt", data)
    (tmp_path / "a.csv").write_text("x,y,z\n" + "\n".join(",".join(repr(float(v)) for v in row) for row in data) + "\n")
    for name in ("a.npy", "a.txt", "a.csv"):
        np.testing.assert_allclose(loading.load_data(str(tmp_path / name)), data, rtol=1e-12)


def test_integer_npy_loads_as_float(tmp_path):
    np.save(tmp_path / "i.npy", np.arange(6).reshape(3, 2))
    loaded = loading.load_data(str(tmp_path / "i.npy"))
    assert loaded.dtype == np.float64 and loaded[2, 1] == 5


@pytest.mark.parametrize("text, message", [
    ("1 2\n3 x\n", "row 2, column 2: 'x' is not a number"),
    ("1 2\n3 4 5\n", "row 2 has 3 columns, expected 2"),
    ("1 2\nnan 4\n", "row 2, column 1: value nan is not finite"),
])
def test_bad_text_is_reported_with_row_and_column(tmp_path, text, message):
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(DataError, match=message):
        loading.load_data(str(path))


def test_split_is_seeded_disjoint_and_complete():
    train, test = loading.split_indices(1000, 0.1, seed=3)
    again_train, _ = loading.split_indices(1000, 0.1, seed=3)
    other_train, _ = loading.split_indices(1000, 0.1, seed=4)
    assert len(test) == 100 and np.array_equal(train, again_train) and not np.array_equal(train, other_train)
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(1000))


def test_epoch_order_holds_every_row_once_in_a_new_order_each_epoch():
    indices, weights = loading.epoch_order(1175, 100, seed=0, epoch=0)
    assert indices.shape == (12, 100) and weights.shape == (12, 100)
    assert weights.sum() == 1175 and np.all(weights[-1, 75:] == 0) and np.all(indices[-1, 75:] == 0)
    assert sorted(indices.ravel()[weights.ravel() == 1].tolist()) == list(range(1175))
    next_indices, _ = loading.epoch_order(1175, 100, seed=0, epoch=1)
    assert not np.array_equal(indices, next_indices)
    np.testing.assert_array_equal(indices, loading.epoch_order(1175, 100, seed=0, epoch=0)[0])


def test_generated_data_matches_its_truth_and_target_eigenvalues(tmp_path):
    output = tmp_path / "g.npy"
    assert generate_command.main(["generate", "--rows", "50000", "--seed", "1", "--output", str(output)]) == 0
    data = np.load(output)
    truth = json.loads((tmp_path / "g.truth.json").read_text())
    np.testing.assert_allclose(np.cov(data.T), truth["covariance"], rtol=0.05, atol=0.05)
    weights, psi = np.array(truth["W"]), np.array(truth["psi"])
    np.testing.assert_allclose(weights @ weights.T + np.diag(psi), truth["covariance"], rtol=1e-9)
    assert truth["correlation_eigenvalues"][:2] == pytest.approx([7.0, 1.6], abs=0.15)
    assert "--seed 1" in truth["command"]


def test_shipped_data_is_the_documented_regeneration(tmp_path):
    shipped = os.path.join(REPO, "data", "gaussian_10d.npy")
    with open(loading.truth_path(shipped), encoding="utf-8") as handle:
        truth = json.load(handle)
    command = truth["command"].split()
    output = tmp_path / "again.npy"
    assert generate_command.main(command[2:command.index("--output")] + ["--output", str(output)]) == 0
    np.testing.assert_array_equal(np.load(output), np.load(shipped))
