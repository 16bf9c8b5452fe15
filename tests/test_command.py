"""The `betavae` command: each subcommand is a script's CLI under another name (same flags, same numbers), its
--help and errors name it, and it reaches only the flags of its mode; `python -m betavae` is the same command,
and `pip install .` puts it on the PATH, working from any folder."""
import os
import subprocess
import sys

import numpy as np
import pytest

from betavae.commands import after_training, dispatch, generate, sweep, train
from betavae.version import pyproject_version
from conftest import REPO, pip_installed, run_main


def test_help_lists_every_command_and_its_script():
    result = run_main(dispatch.main, "--help")
    assert result.returncode == 0 and result.stdout.startswith("usage: betavae <command>")
    for name, (_, script, _) in dispatch.COMMANDS.items():
        assert f"  {name} " in result.stdout and f"(python {script})" in result.stdout
    assert set(dispatch.COMMANDS) == {"train", "sweep", "generate", *after_training.MODES}


@pytest.mark.parametrize("argv, message", [
    ((), "error: a command is required: train, prior, recon,"),
    (("trian",), "error: unknown command 'trian': expected one of train, prior,"),
    (("--bogus",), "error: unrecognized arguments: --bogus"),
])
def test_no_or_an_unknown_command_is_one_line_and_status_2(argv, message):
    result = run_main(dispatch.main, *argv)
    assert result.returncode == 2 and result.stderr.startswith(message) and result.stderr.count("\n") == 1


@pytest.mark.parametrize("name", list(dispatch.COMMANDS))
def test_each_commands_help_names_it(name):
    result = run_main(dispatch.main, name, "--help")
    expected = "usage: betavae generate" if name == "generate" else f"usage: betavae {name}"
    assert result.returncode == 0 and result.stdout.startswith(expected), result.stdout[:200]
    assert "--mode {" not in result.stdout  # a mode command takes no --mode


def test_a_mode_command_shows_and_takes_only_its_flags(tmp_path):
    shown = run_main(dispatch.main, "recon", "--help").stdout
    assert "--mean-only" in shown and "--seed" in shown
    assert "--num-samples" not in shown and "--iwae-samples" not in shown
    result = run_main(dispatch.main, "recon", "--checkpoint-dir", tmp_path, "--num-samples", 5)
    assert result.returncode == 2 and result.stderr == ("error: --num-samples does nothing in betavae recon; it belongs "
                                                        "to betavae prior and betavae evaluate and betavae plot\n")


@pytest.fixture(scope="module")
def run_folder(good):
    return good[0] / "run"


@pytest.mark.parametrize("mode, flags", [("prior", ("--num-samples", 37, "--seed", 3)), ("recon", ("--mean-only",)),
                                         ("encode", ("--with-scale",))])
def test_a_mode_command_writes_what_the_script_writes(run_folder, tmp_path, mode, flags):
    by_command, by_script = tmp_path / "command.npy", tmp_path / "script.npy"
    assert run_main(dispatch.main, mode, "--checkpoint-dir", run_folder, *flags, "--output", by_command).returncode == 0
    assert run_main(after_training.main, "--mode", mode, "--checkpoint-dir", run_folder, *flags, "--output",
                    by_script).returncode == 0
    assert np.array_equal(np.load(by_command), np.load(by_script))


def test_generate_and_train_run_through_the_command(tmp_path):
    data = tmp_path / "made.npy"
    made = run_main(dispatch.main, "generate", "--dim", 4, "--factors", 1, "--rows", 120, "--output", data)
    assert made.returncode == 0 and data.is_file() and np.load(data).shape == (120, 4)
    refused = run_main(dispatch.main, "train", "--data", data, "--checkpoint-dir", tmp_path / "run", "--epochs", 0)
    assert refused.returncode == 2 and refused.stderr == "error: --epochs must be at least 1, got 0\n"


@pytest.mark.parametrize("main, argv", [(dispatch.main, ()), (dispatch.main, ("prior",)), (train.main, ()),
                                        (after_training.main, ()), (sweep.main, ()), (generate.main, ())])
def test_every_script_and_command_prints_the_version(main, argv):
    result = run_main(main, *argv, "--version")
    version = pyproject_version(os.path.join(REPO, "pyproject.toml"))
    assert result.returncode == 0 and result.stdout == f"betavae {version}\n"


def test_python_m_betavae_is_the_command(tmp_path):
    result = subprocess.run([sys.executable, "-m", "betavae", "--help"], capture_output=True, text=True,
                            cwd=tmp_path, env={**os.environ, "PYTHONPATH": REPO}, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("usage: betavae <command>")


@pytest.mark.slow  # a venv and a pip install: about 20 s; test_python_m_betavae_is_the_command is its fast twin
def test_pip_install_puts_the_command_on_the_path(tmp_path):
    bin_folder, environment = pip_installed(tmp_path)
    python, command = bin_folder / "python", bin_folder / "betavae"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for argv in ([command, "--help"], [python, "-m", "betavae", "--help"]):
        result = subprocess.run(argv, capture_output=True, text=True, cwd=elsewhere, env=environment, timeout=60)
        assert result.returncode == 0 and result.stdout.startswith("usage: betavae <command>"), result.stderr
    # Installed, the version comes from the package's metadata (no pyproject.toml beside it).
    version = subprocess.run([command, "train", "--version"], capture_output=True, text=True, cwd=elsewhere,
                             env=environment, timeout=60)
    assert version.stdout == f"betavae {pyproject_version(os.path.join(REPO, 'pyproject.toml'))}\n"
    made = subprocess.run([command, "generate", "--dim", "3", "--factors", "1", "--rows", "50", "--output", "d.npy"],
                          capture_output=True, text=True, cwd=elsewhere, env=environment, timeout=120)
    assert made.returncode == 0 and (elsewhere / "d.npy").is_file(), made.stderr


@pytest.mark.parametrize("main, argv, suggested", [
    (train.main, ["--latent_dim", "3"], "; did you mean --latent-dim?"),  # underscores for dashes
    (train.main, ["--latnt-dim=3"], "; did you mean --latent-dim?"),  # a letter missing, with its value joined
    (after_training.main, ["--mode", "prior", "--num_samples", "5"], "; did you mean --num-samples?"),
    (train.main, ["--zzz", "3"], ""),  # nothing close: no guess
    (train.main, ["extra"], ""),  # not a flag
])
def test_an_unknown_flag_close_to_a_known_one_is_named(main, argv, suggested):
    result = run_main(main, *argv)
    first = result.stderr.split(" (see --help)")[0]
    assert result.returncode == 2 and first.startswith("error: unrecognized arguments: ")
    assert first.endswith(suggested) and first.count("did you mean") == (1 if suggested else 0), result.stderr
