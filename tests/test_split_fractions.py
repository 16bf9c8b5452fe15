"""Fractions that are not exact in binary: the held-out rows are the nearest whole number to rows x
--test-fraction (100 x 0.29 is 28.999999999999996 in floating point, 7 x 0.3 is 2.1), and the steps of an
epoch with a last partial batch are rounded up."""
import numpy as np
import pytest

from betavae.data import loading
from betavae.data.run_rows import load_split
from betavae.training import console
from conftest import factor_data_array, run_config_for


@pytest.mark.parametrize("rows, fraction, held_out", [
    (100, 0.29, 29),  # 28.999999999999996: truncating holds out 28
    (7, 0.3, 2),  # 2.1: rounding up holds out 3
    (1000, 0.07, 70),  # 70.00000000000001
    (3, 0.5, 2),  # 1.5: the nearest even number, as Python's round()
])
def test_the_held_out_rows_are_the_nearest_whole_number(rows, fraction, held_out):
    train, test = loading.split_indices(rows, fraction, seed=2)
    assert (len(train), len(test)) == (rows - held_out, held_out)
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(rows))


def test_a_fraction_below_half_a_row_holds_out_nothing_and_is_refused():
    with pytest.raises(loading.DataError, match=r"too few rows \(7\) to hold out a test fraction of 0.07"):
        loading.split_indices(7, 0.07, seed=0)  # 0.49 rows


def test_a_run_records_and_prints_the_rounded_split(tmp_path):
    np.save(tmp_path / "data.npy", factor_data_array(100))
    train, test, _ = load_split(str(tmp_path / "data.npy"), None, 0.29, 3)
    assert (len(train), len(test)) == (71, 29)
    config = run_config_for(tmp_path / "run", tmp_path / "data.npy", "--test-fraction", "0.29", "--batch-size", "20")
    assert (config.train_rows, config.test_rows) == (71, 29)
    text = "\n".join(console.header_lines(config, str(tmp_path / "run")))
    assert "71 train / 29 test rows (29% held out, seed 0)" in text
    assert "batch 20 (4 steps/epoch)" in text  # 71 / 20 = 3.55: the last, partial batch is a step too
