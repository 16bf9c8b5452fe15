"""The true latents beside generated data: taken for the run's test rows when they fit, and otherwise named in
one warning line with what is wrong, the reason kept for the report's `unavailable`."""
import os
import types

import numpy as np
import pytest

from betavae.data import loading
from betavae.scoring.sections.factors import DisentanglementSection
from betavae.scoring.truth import latents_of_test_rows

ROWS, FRACTION, SEED = 103, 0.29, 2  # 103 x 0.29 = 29.87: an inexact split


def config_for(tmp_path, test_data=None):
    """The RunConfig fields latents_of_test_rows reads, for data of ROWS rows split at FRACTION."""
    test_rows = int(loading.split_indices(ROWS, FRACTION, SEED)[1].size)
    return types.SimpleNamespace(data=str(tmp_path / "d.npy"), test_data=test_data, train_rows=ROWS - test_rows,
                                 test_rows=test_rows, test_fraction=FRACTION, seed=SEED)


def test_the_latents_of_the_held_out_rows_are_those_rows(tmp_path, capsys):
    np.save(tmp_path / "d.latents.npy", np.arange(ROWS, dtype=float)[:, None] * [1.0, -2.0, 0.5])
    config = config_for(tmp_path)
    latents = latents_of_test_rows(config)
    held_out = loading.split_indices(ROWS, FRACTION, SEED)[1]
    assert latents.shape == (config.test_rows, 3)
    np.testing.assert_array_equal(latents[:, 0], held_out)  # row i's latents are (i, -2i, i/2)
    np.testing.assert_array_equal(latents[:, 1], -2.0 * held_out)
    assert capsys.readouterr().err == ""


def test_no_latents_file_is_no_latents_and_no_warning(tmp_path, capsys):
    unavailable = {}
    assert latents_of_test_rows(config_for(tmp_path), unavailable) is None
    assert unavailable == {} and capsys.readouterr().err == ""


@pytest.mark.parametrize("content, problem", [
    (np.zeros((ROWS - 1, 2)), f"holds latents of {ROWS - 1} rows, the data {ROWS} rows"),
    (np.zeros((ROWS + 7, 2)), f"holds latents of {ROWS + 7} rows, the data {ROWS} rows"),
    (np.zeros(ROWS), f"holds a float64 array of shape [{ROWS}], not a [rows, factors] array"),
    (np.zeros((ROWS, 2, 1)), f"holds a float64 array of shape [{ROWS}, 2, 1], not a [rows, factors] array"),
    (np.array([["a", "b"]] * ROWS), f"holds a <U1 array of shape [{ROWS}, 2], not a [rows, factors] array"),
    (np.where(np.eye(ROWS, 2) > 0, np.nan, -1.0), "holds values that are not finite"),
])
def test_latents_that_cannot_be_these_rows_are_named_and_left_out(tmp_path, capsys, content, problem):
    path = tmp_path / "d.latents.npy"
    np.save(path, content)
    unavailable = {}
    assert latents_of_test_rows(config_for(tmp_path), unavailable) is None
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [f"warning: {path}: {problem}; going on without the true latents"]
    assert unavailable == {"disentanglement": f"{path}: {problem}"}


def test_latents_of_a_test_data_file_must_have_its_rows(tmp_path, capsys):
    np.save(tmp_path / "t.latents.npy", np.ones((12, 2)))
    config = config_for(tmp_path, test_data=str(tmp_path / "t.npy"))
    config.test_rows = 13
    assert latents_of_test_rows(config) is None
    assert "t.latents.npy: holds latents of 12 rows, the data 13 rows" in capsys.readouterr().err
    config.test_rows = 12
    np.testing.assert_array_equal(latents_of_test_rows(config), np.ones((12, 2)))


def test_a_directory_in_place_of_the_latents_is_named(tmp_path, capsys):
    os.mkdir(tmp_path / "d.latents.npy")
    unavailable = {}
    assert latents_of_test_rows(config_for(tmp_path), unavailable) is None
    assert "directory" in unavailable["disentanglement"]
    assert capsys.readouterr().err.count("\n") == 1


def test_the_report_keeps_the_latents_reason_over_the_general_one():
    said = {"disentanglement": "d.latents.npy: holds latents of 4 rows, the data 5 rows"}
    context = types.SimpleNamespace(latents=lambda: None, unavailable=dict(said))
    assert DisentanglementSection().compute(context) == {"disentanglement": None}
    assert context.unavailable == said
    context = types.SimpleNamespace(latents=lambda: None, unavailable={})
    DisentanglementSection().compute(context)
    assert "not generated with latents" in context.unavailable["disentanglement"]
