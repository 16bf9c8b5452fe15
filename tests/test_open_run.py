"""A run is opened once: `--mode evaluate --plots` reads config.json, the data and the truth and restores the
checkpoint once each; --mode plot draws the optimum of an evaluation.json of the current checkpoint (and
says so when it is stale), and without history.csv draws the other plots and says why the history is not."""
import collections
import os

import numpy as np
import pytest
import tensorflow as tf

from betavae.commands import after_training as after_training_command
from betavae.data import loading
from betavae.plots import run as plots
from betavae.run.folder import RunFolder, build_model
from betavae.run.opened import open_run
from betavae.scoring import evaluate as scoring
from conftest import committed_run, factor_data_array

EVALUATE = ["--mode", "evaluate", "--iwae-samples", "3", "--num-samples", "50"]
PLOT = ["--mode", "plot", "--num-samples", "50"]


@pytest.fixture
def run(tmp_path):
    """A committed run (2 epochs of an untrained model) on small 4-D data, and its data file."""
    np.save(tmp_path / "data.npy", factor_data_array(200))
    return committed_run(tmp_path / "run", tmp_path / "data.npy"), str(tmp_path / "data.npy")


def call(capsys, run, *argv):
    """after-training's main on the RunFolder run: (exit status, stdout lines, stderr)."""
    status = after_training_command.main([*map(str, argv), "--checkpoint-dir", run.path])
    captured = capsys.readouterr()
    return status, captured.out.splitlines(), captured.err


def count_calls(monkeypatch, owner, name, counts, key=None):
    """Replace owner.name with a wrapper that counts its calls (under key(args), default name) in counts."""
    original = getattr(owner, name)

    def counted(*args, **kwargs):
        counts[key(args) if key else name] += 1
        return original(*args, **kwargs)
    monkeypatch.setattr(owner, name, counted)


def drawn_best(monkeypatch):
    """The `best` argument of every history plot drawn from now on, in order."""
    bests, original = [], plots.plot_history

    def recording(history, path, best=None, *rest):
        bests.append(best)
        original(history, path, best, *rest)
    monkeypatch.setattr(plots, "plot_history", recording)
    return bests


def test_evaluate_with_plots_reads_config_data_and_truth_and_restores_the_model_once(run, monkeypatch, capsys):
    folder, data = run
    counts = collections.Counter()
    for owner, name in ((RunFolder, "restore_model"), (RunFolder, "load_config"), (loading, "load_table"),
                        (loading, "load_truth")):
        count_calls(monkeypatch, owner, name, counts)
    count_calls(monkeypatch, loading, "file_digest", counts,
                key=lambda args: "data digest" if os.fspath(args[0]) == data else "other digest")
    bests = drawn_best(monkeypatch)
    status, out, err = call(capsys, folder, *EVALUATE, "--plots")
    assert status == 0, err
    once = ("restore_model", "load_config", "load_table", "load_truth", "data digest")
    assert {name: counts[name] for name in once} == dict.fromkeys(once, 1)
    assert sorted(os.listdir(folder.file("plots"))) == ["covariances.png", "history.png", "latent.png", "pairs.png"]
    best = scoring.best_objective(scoring.load_report(folder))
    assert best is not None and bests == [best] and "wrote 4 plots to " in out[-1]


def test_plot_draws_the_optimum_of_an_evaluation_of_the_current_checkpoint_only(run, monkeypatch, capsys):
    folder, _ = run
    bests = drawn_best(monkeypatch)
    assert call(capsys, folder, *EVALUATE)[0] == 0
    status, out, err = call(capsys, folder, *PLOT)
    assert status == 0, err
    assert bests == [scoring.best_objective(scoring.load_report(folder))] and bests[0] is not None
    assert not [line for line in out if line.startswith("note:")]
    config = folder.load_config()  # training goes on by one epoch: the evaluation is of ckpt-2, now stale
    history = folder.read_history()
    with folder.writing():
        folder.commit(config, history + [dict(history[-1], epoch=3)], tf.train.Checkpoint(model=build_model(config)))
    lines = []
    assert scoring.saved_best_objective(open_run(folder.path), lines.append) is None
    assert lines == [f"note: {folder.file('evaluation.json')} scored ckpt-2, not the current ckpt-3: the history "
                     "plot has no optimum line; --mode evaluate --plots draws it"]


def test_plot_without_history_csv_says_so_and_draws_the_other_plots(run, capsys):
    folder, data = run
    os.remove(folder.file("history.csv"))
    status, out, err = call(capsys, folder, *PLOT)
    assert status == 0, err
    assert err.splitlines() == [f"warning: no history plot: {folder.file('history.csv')} is missing or holds no epoch"]
    assert sorted(os.listdir(folder.file("plots"))) == ["covariances.png", "latent.png", "pairs.png"]
    assert out[-1].startswith("wrote 3 plots to ") and out[-1].endswith("pairs.png, latent.png, covariances.png")
    os.remove(data)  # neither the history nor the data: nothing to draw, and two lines say why
    status, out, err = call(capsys, folder, *PLOT)
    notes = err.splitlines()
    assert status == 0 and len(notes) == 2 and "need the test rows" in notes[1] and out[-1] == "wrote no plots"
    assert all(note.startswith("warning: ") for note in notes) and not [line for line in out if "note:" in line]
