"""The Python API speaks Python: its errors and hints name settings as keywords (resume=True, checkpoint_dir),
never as flags (--resume), through the one place that spells them (fields.spelled), while the CLIs keep their
flags; help(betavae.train) lists every training field with its default; training shows its progress unless
quiet=True."""
import os
import shutil

import numpy as np
import pytest

import betavae
from betavae import fields
from betavae.commands import train as train_command
from betavae.fields import FLAGS, keyword_spelling, spelled, train_call
from conftest import committed_run, factor_data_array, run_main

SMALL = {"epochs": 1, "hidden_units": 8, "batch_size": 64}


def test_a_setting_is_spelled_as_a_flag_on_the_command_line_and_as_a_keyword_in_python():
    spellings = [spelled("resume", True), spelled("checkpoint_dir"), spelled("batch_size", 64),
                 spelled("columns", "a,b c"), spelled("data", text="<copy of it>"),
                 spelled("output", keyword="output_dir"), spelled("jobs")]
    with keyword_spelling():
        keywords = [spelled("resume", True), spelled("checkpoint_dir"), spelled("batch_size", 64),
                    spelled("columns", "a,b c"), spelled("data", text="<copy of it>"),
                    spelled("output", keyword="output_dir"), spelled("jobs")]
        call = train_call(checkpoint_dir="runs/a b", resume=True, epochs=20, lr=0.0001)
        assert fields.speaking_python()
    assert not fields.speaking_python()
    assert spellings == ["--resume", "--checkpoint-dir", "--batch-size 64", "--columns 'a,b c'",
                         "--data <copy of it>", "--output", "--jobs"]
    assert keywords == ["resume=True", "checkpoint_dir", "batch_size=64", "columns='a,b c'", "data=<copy of it>",
                        "output_dir", "jobs"]
    assert call == "betavae.train(None, checkpoint_dir='runs/a b', resume=True, epochs=20, lr=0.0001)"
    assert train_call(checkpoint_dir="runs/a b", resume=True) == "betavae train --checkpoint-dir 'runs/a b' --resume"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A committed run (2 epochs, untrained model) on data.npy, and a plain folder."""
    folder = tmp_path_factory.mktemp("words")
    np.save(folder / "data.npy", factor_data_array(200))
    committed_run(folder / "run", folder / "data.npy")
    (folder / "plain").mkdir()
    return folder


DATA = factor_data_array(100)


@pytest.mark.parametrize("call, fragment", [
    (lambda f: betavae.train(None, checkpoint_dir=f / "new", resume=True, overwrite=True),
     "resume=True and overwrite=True exclude each other"),
    (lambda f: betavae.train(DATA, checkpoint_dir=f / "run", resume=True, overwrite=True),
     "resume=True and overwrite=True exclude each other"),
    (lambda f: betavae.train(f / "data.npy", checkpoint_dir=f / "new", resume=True, overwrite=True),
     "resume=True and overwrite=True exclude each other"),
    (lambda f: betavae.train(DATA, checkpoint_dir=f / "run"),
     "already holds a run; pass resume=True to continue it, overwrite=True to replace it, or choose another "
     "checkpoint_dir"),
    (lambda f: betavae.train(None, checkpoint_dir=f / "copy", resume=True, epochs=1),
     "epochs=1 is below the 2 epochs already trained"),
    (lambda f: betavae.train(DATA, checkpoint_dir=f / "new", epochs=0), "epochs must be at least 1, got 0"),
    (lambda f: betavae.train(DATA, checkpoint_dir=f / "new", columns="a,foo"), "columns: 'a' is not a column"),
    (lambda f: betavae.train(DATA, checkpoint_dir=f / "new", objective="iwae", beta=2),
     "objective iwae is a bound on log p(x) with no KL weight: leave beta at 1"),
    (lambda f: betavae.train(DATA, checkpoint_dir=f / "new", logdir=""), "logdir: an empty path"),
    (lambda f: betavae.sample(f / "plain", 5), "train one with betavae.train(data, checkpoint_dir="),
    (lambda f: betavae.export(f / "run", f / "plain"), "exists; pass overwrite=True to replace it, or choose another "
                                                       "output_dir"),
    (lambda f: betavae.export(f / "run", f / "run" / "inside"), "choose an output_dir outside it"),
    (lambda f: betavae.beta_sweep([1], sweep_dir=f / "sweep", jobs=0), "jobs must be at least 1, got 0"),
    (lambda f: betavae.beta_sweep([1, 2], sweep_dir=f / "sweep", objective="iwae"),
     "objective='iwae' has no KL weight to sweep: betas must be 1"),
    (lambda f: betavae.beta_sweep([-1, 2], sweep_dir=f / "sweep"), "betas: -1.0 is not a finite number >= 0"),
    (lambda f: betavae.beta_sweep([2, float("inf")], sweep_dir=f / "sweep"), "betas: inf is not a finite number"),
    (lambda f: betavae.beta_sweep([1, 4, 1.0], sweep_dir=f / "sweep"), "betas: 1.0 and 1.0 are the same beta"),
    (lambda f: betavae.beta_sweep([], sweep_dir=f / "sweep"), "betas: no beta given"),
    (lambda f: betavae.beta_sweep([1], seeds=[3, 0, 3], sweep_dir=f / "sweep"), "seeds: 3 is given twice"),
    (lambda f: betavae.beta_sweep([1], seeds=[], sweep_dir=f / "sweep"), "seeds: no seed given"),
])
def test_a_mistaken_keyword_call_names_the_keyword_not_a_flag(folder, call, fragment):
    if not (folder / "copy").exists():
        shutil.copytree(folder / "run", folder / "copy")
    with pytest.raises(betavae.UsageError) as error:
        call(folder)
    message = str(error.value)
    assert fragment in message and "--" not in message and "\n" not in message, message


def test_a_run_whose_data_moved_asks_for_the_data_keyword(tmp_path):
    np.save(tmp_path / "data.npy", factor_data_array(200))
    committed_run(tmp_path / "run", tmp_path / "data.npy")
    os.rename(tmp_path / "data.npy", tmp_path / "elsewhere.npy")
    with pytest.raises(betavae.UsageError) as error:
        betavae.evaluate(tmp_path / "run", iwae_samples=2, num_samples=10)
    assert "pass data=<copy of it>" in str(error.value) and "--" not in str(error.value)
    result = run_main(train_command.main, "--resume", "--checkpoint-dir", tmp_path / "run", "--epochs", 3)
    assert result.returncode == 2 and "pass --data <copy of it>" in result.stderr  # the CLI keeps its flags


def test_a_divergence_in_python_says_how_to_go_on_in_python(tmp_path, capsys):
    with pytest.raises(betavae.UsageError) as error:
        betavae.train(DATA, checkpoint_dir=tmp_path / "run", lr=1e9, optimizer="sgd", **SMALL)
    message = str(error.value)
    assert "the loss became" in message and "start again with lr lower than 1e+09" in message
    assert "--" not in message
    capsys.readouterr()


def test_help_of_train_lists_every_training_field_with_its_default():
    text = betavae.train.__doc__
    flat = " ".join(text.split())
    for spec in FLAGS:
        default = False if spec.kind is bool else spec.default
        assert (f"\n    {spec.name}: " if spec.name == "data" else f"\n    {spec.name}={default!r}: ") in text, spec.name
    for line in fields.keyword_help([spec.name for spec in FLAGS if spec.name != "data"]):
        assert " ".join(line.split()) in flat  # each field's whole help, as a keyword's
    assert "\n    quiet=False: " in text and "--" not in text
    assert "lr_schedule='cosine': learning rate per epoch: cosine (decays from lr towards 0 over epochs)" in flat


def test_training_from_python_shows_one_line_per_epoch_unless_quiet(tmp_path, capsys):
    betavae.train(DATA, checkpoint_dir=tmp_path / "shown", **{**SMALL, "epochs": 2})
    out = capsys.readouterr().out
    epoch_lines = [line for line in out.splitlines() if line.lstrip().startswith(("1/2", "2/2"))]
    assert len(epoch_lines) == 2 and "betavae.load_run(" in out and "--" not in out, out
    betavae.train(DATA, checkpoint_dir=tmp_path / "quiet", quiet=True, **SMALL)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("settings, message", [
    ({"columns": "foo"}, "columns: 'foo' is not a column of the data array (its columns: x1, x2, x3, x4)"),
    ({"columns": "1,7"}, "columns: index 7 is out of range for the data array (its 4 columns: 0 to 3)"),
    ({"columns": "x2,x2"}, "columns: column 1 ('x2') of the data array is chosen twice"),
    ({"test_fraction": 0.001}, "the data array: too few rows (100) to hold out a test fraction of 0.001"),
])
def test_an_array_the_data_cannot_be_split_or_chosen_from_is_named_as_the_callers_and_leaves_nothing(
        tmp_path, settings, message):
    with pytest.raises(ValueError) as error:
        betavae.train(DATA, checkpoint_dir=tmp_path / "new" / "run", **settings)
    assert str(error.value).startswith(message) and "data.npy" not in str(error.value)
    assert os.listdir(tmp_path) == []
