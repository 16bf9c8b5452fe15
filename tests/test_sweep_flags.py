"""The sweep's pass-through training flags: checked with the training CLI's own checks before they are
recorded, recorded only by a command that trains, and compared by meaning (values, absolute paths), not text."""
import json
import os

import numpy as np
import pytest

from betavae.commands import sweep as sweep_command
from betavae.sweep import engines
from betavae.sweep.recorded import FLAGS_FILE, check_training_unchanged
from betavae.commands.training_flags import build_parser


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project folder (the cwd) holding data/x.npy and data/other.npy; the engine trains nothing."""
    os.makedirs(tmp_path / "data")
    np.save(tmp_path / "data" / "x.npy", np.zeros((20, 3), dtype=np.float32))
    np.save(tmp_path / "data" / "other.npy", np.ones((20, 3), dtype=np.float32))
    monkeypatch.chdir(tmp_path)
    started = []
    monkeypatch.setattr(engines, "run_local", lambda tasks, jobs, ready: ready() or started.extend(tasks) or [])
    return started


def sweep(*flags, sweep_dir="sweep"):
    """Run the sweep's main in-process for run 0 of betas 1,2: its exit status."""
    return sweep_command.main(["--betas", "1,2", "--sweep-dir", str(sweep_dir), "--epochs", "2", *flags])


def recorded(sweep_dir="sweep"):
    path = os.path.join(sweep_dir, FLAGS_FILE)
    return json.load(open(path, encoding="utf-8")) if os.path.exists(path) else None


def test_refused_commands_record_nothing_and_the_corrected_one_is_accepted(project, capsys):
    for flags in (["--", "--hidden-units", "0"], ["--", "--lr", "-1"], ["--", "--data", "data/missing.npy"],
                  ["--", "--data", "data"], ["--", "--test-data", "nowhere.npy"], ["--only", "99", "--", "--data", "data/x.npy"],
                  ["--collect", "--", "--data", "data/x.npy"], ["--", "--objective", "iwae", "--data", "data/x.npy"]):
        assert sweep(*flags) == 2, flags
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: "), (flags, err)
        assert recorded() is None, flags
    assert sweep("--only", "0", "--", "--hidden-units", "8", "--data", "data/x.npy") == 0
    record = recorded()
    assert (record["flags"], record["cwd"]) == (["--hidden-units", "8", "--data", "data/x.npy"], os.getcwd())
    assert (record["settings"]["hidden_units"], record["settings"]["data"]) == (8, os.path.abspath("data/x.npy"))
    assert len(project) == 1 and project[0]["training"].hidden_units == 8
    assert sweep("--list", "--", "--hidden-units", "0") == 2  # still checked before the folder is read


def test_an_iwae_sweep_is_one_of_seeds_at_beta_1(project, capsys):
    assert sweep("--", "--objective", "iwae", "--data", "data/x.npy") == 2  # betas 1,2
    assert capsys.readouterr().err.strip() == ("error: --objective iwae has no KL weight to sweep: --betas must be 1 "
                                               "(got 2); sweep --seeds instead")
    for only in ("0", "1"):
        assert sweep_command.main(["--betas", "1", "--seeds", "0,1", "--sweep-dir", "sweep", "--epochs", "2",
                                   "--only", only, "--", "--objective", "iwae", "--data", "data/x.npy"]) == 0
    assert len(project) == 2 and all(task["training"].objective == "iwae" for task in project)


def test_the_same_meaning_in_another_spelling_or_order_is_accepted(project, capsys):
    assert sweep("--only", "0", "--", "--hidden-units", "8", "--latent-dim", "3", "--data", "data/x.npy") == 0
    for same in (["--latent-dim", "3", "--data", "data/x.npy", "--hidden-units", "8"],
                 ["--hidden-units=8", "--latent-dim=3", "--data=data/x.npy", "--lr", "0.001"],  # --lr: the default
                 ["--hidden-u", "8", "--latent-dim", "3", "--data", "./data/../data/x.npy", "--verbose"],
                 ["--hidden-units", "8", "--latent-dim", "3", "--data", os.path.abspath("data/x.npy")]):
        assert sweep("--only", "1", "--", *same) == 0, (same, capsys.readouterr().err)
    for other, name in ((["--hidden-units", "8", "--latent-dim", "2", "--data", "data/x.npy"], "--latent-dim"),
                        (["--hidden-units", "8", "--latent-dim", "3", "--data", "data/other.npy"], "--data"),
                        (["--hidden-units", "8", "--latent-dim", "3", "--data", "data/x.npy", "--streaming"],
                         "--streaming")):
        assert sweep("--only", "1", "--", *other) == 2
        err = capsys.readouterr().err
        assert f"they differ in {name})" in err and "trained with the training flags --hidden-units 8" in err


def test_a_relative_data_path_is_the_file_it_names_from_where_it_was_given(project, capsys, monkeypatch):
    sweep_dir = os.path.abspath("sweep")
    assert sweep("--only", "0", "--", "--data", "data/x.npy", sweep_dir=sweep_dir) == 0
    monkeypatch.chdir("data")
    assert sweep("--only", "1", "--", "--data", "x.npy", sweep_dir=sweep_dir) == 0
    assert sweep("--only", "1", "--", "--data", "other.npy", sweep_dir=sweep_dir) == 2
    assert "they differ in --data" in capsys.readouterr().err
    assert recorded(sweep_dir)["flags"] == ["--data", "data/x.npy"]  # the first record stands


def test_a_folder_recorded_as_a_plain_list_is_still_read(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    os.makedirs("sweep")
    with open(os.path.join("sweep", FLAGS_FILE), "w", encoding="utf-8") as handle:
        json.dump(["--hidden-units", "8"], handle)

    def unchanged(flags, meaning_of_flags=sweep_command.meaning_of_flags):
        check_training_unchanged("sweep", build_parser().parse_args(flags), flags, meaning_of_flags=meaning_of_flags)

    unchanged(["--hidden-units=8"])
    with pytest.raises(ValueError, match="they differ in --hidden-units"):
        unchanged(["--hidden-units=16"])
    with pytest.raises(ValueError, match="recorded by an older version as command-line flags"):
        unchanged(["--hidden-units=8"], meaning_of_flags=None)  # the Python API reads no command lines
    for bad in ("5", '{"flags": "x", "cwd": "/"}'):
        with open(os.path.join("sweep", FLAGS_FILE), "w", encoding="utf-8") as handle:
            handle.write(bad)
        with pytest.raises(ValueError, match="expected the training flags"):
            unchanged(["--hidden-units", "8"])


def test_a_sweep_folder_that_is_a_file_is_named_so(project, capsys):
    with open("afile", "w", encoding="utf-8") as handle:
        handle.write("mine")
    assert sweep("--only", "0", "--", "--data", "data/x.npy", sweep_dir="afile") == 2
    assert capsys.readouterr().err == f"error: {os.path.abspath('afile')}: is a file, not a folder\n"
    assert open("afile", encoding="utf-8").read() == "mine" and project == []
