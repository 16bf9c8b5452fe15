"""The sweep's cache of the linear optimum's curve: kept under what the curve depends on (the runs' rows and
the grid), so a collect whose first evaluated run is another beta reuses it, and other rows recompute it."""
import numpy as np
import tensorflow as tf

from betavae.sweep import driver
from betavae.run.folder import HISTORY_COLUMNS, RunFolder, build_model
from betavae.scoring import references
from conftest import factor_data_array, run_config_for


def committed(folder, data_file, *flags):
    """An untrained run committed after one epoch, with the training flags given."""
    run, config = RunFolder(str(folder)), run_config_for(folder, data_file, *flags)
    with run.writing():
        run.begin(replace=False)
        run.commit(config, [dict(zip(HISTORY_COLUMNS, (1, 5.0, 1.0, -4.0, 5.0, 0.1, 1.0, 0.0)))],
                   tf.train.Checkpoint(model=build_model(config)))
    return run.path


def test_the_curve_is_computed_once_for_runs_on_the_same_rows_and_again_for_other_rows(tmp_path, monkeypatch):
    np.save(tmp_path / "data.npy", factor_data_array(300))
    beta1, beta4 = (committed(tmp_path / f"b{beta}", tmp_path / "data.npy", "--beta", beta) for beta in (1, 4))
    other_split = committed(tmp_path / "s1", tmp_path / "data.npy", "--seed", 1)
    calls = []
    optimum = references.held_out_linear_optimum
    monkeypatch.setattr(references, "held_out_linear_optimum", lambda *args: calls.append(1) or optimum(*args))
    grid, cache = [0.5, 2.0], str(tmp_path / "optimum_curve.json")
    first = driver.optimum_curve(beta1, grid, 1, cache)
    assert len(calls) == 2
    assert driver.optimum_curve(beta4, grid, 1, cache) == first and len(calls) == 2
    other = driver.optimum_curve(other_split, grid, 1, cache)
    assert len(calls) == 4 and other[0][0]["objective"] != first[0][0]["objective"]
    driver.optimum_curve(other_split, [0.5, 3.0], 1, cache)
    assert len(calls) == 6
