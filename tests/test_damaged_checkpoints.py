"""A damaged checkpoint never counts as trained: the index parser against TensorFlow's own files, and each
caller that counts epochs (resume, --resume --epochs N, the sweep's plan) on a run whose newest checkpoint is
cut short."""
import os

import numpy as np
import pytest
import tensorflow as tf

from betavae.commands import train as train_command
from betavae.run.bundle import checkpoint_problem
from betavae.run.folder import HISTORY_COLUMNS, RunFolder, UsageError
from betavae.sweep.plan import SweepRun, latest_checkpoint, needs, training_settings
from betavae.training.session import train_settings
from betavae.training.setup import default_settings
from conftest import factor_data_array, run_config_for

DATA_FILE = "ckpt-{}.data-00000-of-00001"


def test_complete_checkpoints_pass_and_each_kind_of_damage_is_named(tmp_path):
    tf.train.Checkpoint(a=tf.Variable(tf.zeros([50, 40])), b=tf.Variable(tf.ones([7]))).write(str(tmp_path / "ckpt-1"))
    assert checkpoint_problem(str(tmp_path / "ckpt-1")) is None
    # The variables TensorFlow lists are exactly the entries the parser walks (beside the object graph).
    index = (tmp_path / "ckpt-1.index").read_bytes()
    data = (tmp_path / DATA_FILE.format(1)).read_bytes()
    for epoch, (new_index, new_data) in enumerate([(index, data[:-1]), (index, data[:8000]), (b"", data),
                                                   (index[:len(index) // 2], data), (index[:-1], data)], start=2):
        (tmp_path / f"ckpt-{epoch}.index").write_bytes(new_index)
        (tmp_path / DATA_FILE.format(epoch)).write_bytes(new_data)
    assert "is truncated" in checkpoint_problem(str(tmp_path / "ckpt-2"))  # one byte short
    assert "is truncated" in checkpoint_problem(str(tmp_path / "ckpt-3"))
    for epoch in (4, 5, 6):
        assert "index is damaged" in checkpoint_problem(str(tmp_path / f"ckpt-{epoch}")), epoch
    os.remove(tmp_path / DATA_FILE.format(2))
    assert "is missing" in checkpoint_problem(str(tmp_path / "ckpt-2"))
    assert "cannot read its index" in checkpoint_problem(str(tmp_path / "ckpt-7"))
    for epoch in (2, 3, 4):  # TensorFlow agrees that these cannot be restored
        with pytest.raises((tf.errors.OpError, ValueError, IndexError)):
            tf.train.Checkpoint(a=tf.Variable(tf.zeros([50, 40])), b=tf.Variable(tf.ones([7]))).read(
                str(tmp_path / f"ckpt-{epoch}")).assert_consumed()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A run with a checkpoint at every epoch of 4 (kept: 4, 3, 2) of a stand-in model (one variable)."""
    folder = tmp_path_factory.mktemp("trained")
    np.save(folder / "data.npy", factor_data_array(rows=200))
    run = RunFolder(str(folder / "run"))
    config = run_config_for(run.path, folder / "data.npy", "--epochs", "4")
    rows = [dict(zip(HISTORY_COLUMNS, (epoch, 1.0, 0.5, -1.0, 2.0, 0.1, 1.0, 0.0))) for epoch in range(1, 5)]
    with run.writing():
        run.begin(replace=False)
        for epoch in range(1, 5):
            run.commit(config, rows[:epoch], tf.train.Checkpoint(v=tf.Variable(float(epoch))))
    return folder / "run"


@pytest.fixture(scope="module")
def trained_model(tmp_path_factory):
    """A real 4-epoch training with a checkpoint at every epoch (kept: 4, 3, 2)."""
    folder = tmp_path_factory.mktemp("trained_model")
    np.save(folder / "data.npy", factor_data_array(rows=200))
    status = train_command.main(["--data", str(folder / "data.npy"), "--checkpoint-dir", str(folder / "run"),
                                 "--epochs", "4", "--save-every", "1", "--hidden-units", "8", "--batch-size", "50"])
    assert status == 0
    return folder / "run"


def damaged_copy(trained, tmp_path):
    """A copy of the trained run whose newest checkpoint (epoch 4) lost the end of its data file, plus an
    empty ckpt-99.index, as a full disk or an interrupted copy leaves them."""
    run = tmp_path / "run"
    os.makedirs(run)
    for name in os.listdir(trained):
        if name != ".lock":
            (run / name).write_bytes((trained / name).read_bytes())
    os.truncate(run / DATA_FILE.format(4), os.path.getsize(run / DATA_FILE.format(4)) // 2)
    (run / "ckpt-99.index").write_bytes(b"")
    return run


def test_the_run_folder_counts_from_its_newest_complete_checkpoint(trained, tmp_path):
    folder = RunFolder(str(damaged_copy(trained, tmp_path)))
    assert [epoch for epoch, _ in folder.checkpoints()] == [99, 4, 3, 2]
    assert folder.newest_checkpoint() == (3, folder.file("ckpt-3")) and folder.epochs_done() == 3
    assert [row["epoch"] for row in folder.read_history()] == [1, 2, 3]
    for epoch in (3, 2):
        os.remove(folder.file(f"ckpt-{epoch}.index"))
    with pytest.raises(UsageError, match="ckpt-99: its index is damaged.*no older checkpoint"):
        folder.epochs_done()


@pytest.mark.slow
def test_resume_trains_again_the_epoch_whose_checkpoint_is_damaged(trained_model, tmp_path, capsys):
    run = damaged_copy(trained_model, tmp_path)
    resume = ["--resume", "--checkpoint-dir", str(run), "--epochs", "4"]
    assert train_command.main(resume) == 0
    out, err = capsys.readouterr()
    assert "resuming" in out and "after epoch 3" in out and "nothing to train" not in out
    assert "ckpt-99: unreadable" in err and "using the previous checkpoint, epoch 3" in err
    folder = RunFolder(str(run))
    assert folder.newest_checkpoint()[0] == 4 and "ckpt-99.index" not in os.listdir(run)
    (run / "ckpt-99.index").write_bytes(b"")  # left again: the complete epoch 4 is what counts
    assert train_command.main(resume) == 0
    assert "already holds 4 epochs: nothing to train" in capsys.readouterr().out
    assert train_command.main([*resume[:-1], "3"]) == 2
    assert "below the 4 epochs already trained" in capsys.readouterr().err


def test_the_sweep_trains_a_damaged_run_again_and_reuses_the_evaluation_of_what_restores(trained, tmp_path):
    run = SweepRun(0, 1.0, 0, str(damaged_copy(trained, tmp_path)))
    assert latest_checkpoint(run.folder)["file"] == "ckpt-3"
    assert needs(run, 4, 10) == ("train", "evaluate") and needs(run, 3, 10) == ("evaluate",)


def test_the_sweep_trains_afresh_a_run_whose_every_checkpoint_is_damaged(trained, tmp_path):
    """Resuming it would fail on every re-run of the sweep (nothing complete to resume), and training without
    --overwrite would be refused (the folder holds a run): it is trained anew, replacing it."""
    run = SweepRun(0, 1.0, 0, str(damaged_copy(trained, tmp_path)))
    settings = training_settings(run, 4, default_settings())
    assert (settings.resume, settings.overwrite, settings.epochs) == (True, False, 4)
    assert (settings.checkpoint_dir, settings.beta, settings.seed) == (run.folder, 1.0, 0)
    for epoch in (3, 2):
        os.remove(os.path.join(run.folder, f"ckpt-{epoch}.index"))
    settings = training_settings(run, 4, default_settings())
    assert (settings.resume, settings.overwrite) == (False, True) and needs(run, 4, 10) == ("train", "evaluate")
    fresh = training_settings(SweepRun(1, 1.0, 0, str(tmp_path / "new")), 4, default_settings())
    assert (fresh.resume, fresh.overwrite) == (False, False)


@pytest.mark.slow
def test_a_run_whose_every_checkpoint_is_damaged_trains_anew_under_the_sweeps_settings(trained_model, tmp_path):
    run = SweepRun(0, 1.0, 0, str(damaged_copy(trained_model, tmp_path)))
    for epoch in (3, 2):
        os.remove(os.path.join(run.folder, f"ckpt-{epoch}.index"))
    os.remove(os.path.join(run.folder, "ckpt-99.index"))
    training = default_settings()
    vars(training).update(data=str(trained_model.parent / "data.npy"), hidden_units=8, batch_size=50)
    train_settings(training_settings(run, 2, training))
    assert RunFolder(run.folder).newest_checkpoint()[0] == 2 and needs(run, 2, 10) == ("evaluate",)
