"""training.session: train() reports each epoch to on_epoch, raises Stopped after saving on a signal and
Diverged without touching the last good save; training settings built without a parser equal the parser's."""
import os
import signal

import numpy as np
import pytest

from betavae.run.folder import RunFolder
from betavae.commands.training_flags import build_parser, with_settings_file
from betavae.training.session import Diverged, Stopped, train_settings
from betavae.training.setup import default_settings
from conftest import factor_data_array, fingerprint


def small_settings(tmp_path, **values):
    """Training settings for a tiny run of small data into tmp_path/run."""
    if not (tmp_path / "small.npy").exists():
        np.save(tmp_path / "small.npy", factor_data_array(300))
    settings = default_settings()
    vars(settings).update(data=str(tmp_path / "small.npy"), checkpoint_dir=str(tmp_path / "run"), batch_size=64,
                          hidden_units=8, **values)
    return settings


def test_default_settings_are_what_the_parser_gives_for_no_flags():
    args = build_parser().parse_args([])
    assert with_settings_file(args, set()) == set()  # no --config: nothing given, and the flag taken off args
    assert vars(default_settings()) == vars(args)


def test_a_signal_stops_after_saving_the_epoch_and_on_epoch_saw_every_row(tmp_path, capsys):
    seen = []

    def on_epoch(row):
        seen.append(row)
        if row["epoch"] == 2:  # as a Ctrl-C arriving during epoch 2
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(Stopped) as stopped:
        train_settings(small_settings(tmp_path, epochs=5, save_every=4), on_epoch=on_epoch)
    assert stopped.value.signal_number == signal.SIGINT and "--resume" in str(stopped.value)
    folder = RunFolder(str(tmp_path / "run"))
    assert folder.epochs_done() == 2  # saved at the stop, although --save-every is 4
    history = folder.read_history()
    assert [row["epoch"] for row in seen] == [1, 2]
    assert [row["loss"] for row in history] == pytest.approx([float(row["loss"]) for row in seen], rel=1e-6)


def test_a_diverging_resume_raises_and_keeps_the_last_good_save(tmp_path, capsys):
    train_settings(small_settings(tmp_path, epochs=2))
    before = fingerprint(tmp_path / "run")
    settings = small_settings(tmp_path, resume=True, epochs=5, lr=1e9)
    with pytest.raises(Diverged, match=r"epoch 3: the loss became .*last good checkpoint \(epoch 2\)"):
        train_settings(settings, given={"lr", "epochs"})
    assert fingerprint(tmp_path / "run") == before
