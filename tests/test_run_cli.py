"""Every CLI answers bad input with one line `error: ...` and exit status 2, and a good run survives it all.

The table runs the CLIs' main() in-process (fast); the slow tests below run real trainings in
subprocesses: two at once into one folder, an --overwrite that fails, and SIGKILLs at random moments."""
import json
import os
import re
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

from betavae.commands import after_training as after_training_command
from betavae.commands import train as train_command
from betavae.commands import sweep as sweep_command
from betavae.run.folder import RunFolder
from conftest import REPO, factor_data_array, fingerprint
from betavae.run.lock import RunLock

EPOCH_LINE = re.compile(r"^\s*(\d+)/(\d+)\s")  # how an epoch line of the training table starts


def call(main, argv, capsys):
    """Run a CLI's main in-process: (exit status, stdout, stderr)."""
    try:
        status = main([str(arg) for arg in argv])
    except SystemExit as exit_:  # argparse's own usage errors
        status = exit_.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err





def damage(name, edit):
    """A setup that copies the good run and damages one of its files with edit(path)."""
    def setup(run, tmp_path):
        copy = tmp_path / "copy"
        shutil.copytree(run, copy)
        edit(copy / name)
        return copy
    return setup


def rewrite_config(change):
    return damage("config.json", lambda path: path.write_text(json.dumps(change(json.loads(path.read_text())))))


def truncate_every_checkpoint(path):
    for data in path.parent.glob("ckpt-*.data-*"):
        with open(data, "r+b") as handle:
            handle.truncate(10)


TRAIN, AFTER, SWEEP = train_command.main, after_training_command.main, sweep_command.main
# (CLI, arguments with RUN/DATA/TMP placeholders, setup of the run folder used, fragment of the error line)
CASES = {
    "unknown flag": (TRAIN, ["--bogus"], None, "unrecognized arguments: --bogus"),
    "flag type": (TRAIN, ["--epochs", "ten"], None, "invalid int value"),
    "negative seed": (TRAIN, ["--seed", -1, "--checkpoint-dir", "TMP/new"], None, "--seed must be an integer from 0"),
    "seed beyond 2^32": (AFTER, ["--mode", "prior", "--checkpoint-dir", "RUN", "--seed", 2 ** 32], None, "--seed"),
    "missing --mode": (AFTER, ["--checkpoint-dir", "RUN"], None, "--mode"),
    "sweep usage": (SWEEP, ["--jobs"], None, "--jobs"),
    "sweep betas": (SWEEP, ["--betas", "x"], None, "--betas"),
    "epochs below done": (TRAIN, ["--resume", "--checkpoint-dir", "RUN", "--epochs", 1], None,
                          "below the 2 epochs already trained"),
    "second writer": (TRAIN, ["--resume", "--checkpoint-dir", "RUN", "--epochs", 5], "lock",
                      f"being written by pid {os.getpid()}"),
    "output is the history": (AFTER, ["--mode", "prior", "--checkpoint-dir", "RUN", "--output", "RUN/history.csv"],
                              None, "this run's own history.csv"),
    "output is the training data": (AFTER, ["--mode", "prior", "--checkpoint-dir", "RUN", "--output", "DATA"], None,
                                    "which this run reads"),
    "output is the rows given": (AFTER, ["--mode", "recon", "--checkpoint-dir", "RUN", "--rows", "TMP/rows.csv",
                                         "--output", "TMP/rows.csv"], "rows", "which this run reads"),
    "output is another run's file": (AFTER, ["--mode", "prior", "--checkpoint-dir", "RUN", "--num-samples", 5,
                                     "--output", "TMP/copy/history.csv"], "copy", "another run's own history.csv"),
    "output exists": (AFTER, ["--mode", "prior", "--checkpoint-dir", "RUN", "--num-samples", 5, "--output",
                              "TMP/rows.csv"], "rows", "exists; pass --overwrite"),
    "output beyond the disk": (AFTER, ["--mode", "prior", "--checkpoint-dir", "RUN", "--num-samples", 10 ** 14,
                                       "--output", "TMP/huge.npy"], None, "GB are free"),
    "data overflow float32": (TRAIN, ["--data", "TMP/big.csv", "--checkpoint-dir", "TMP/new"], "overflow",
                              "overflows float32"),
    "run folder is a file": (TRAIN, ["--data", "DATA", "--checkpoint-dir", "DATA"], None, "is a file, not a folder"),
    "data in UTF-16": (TRAIN, ["--data", "TMP/wide.csv", "--checkpoint-dir", "TMP/new"], "utf16", "not a text file"),
    "config not an object": (AFTER, ["--mode", "prior", "--checkpoint-dir", "RUN"],
                             rewrite_config(lambda values: [values]), "expected a JSON object"),
    "config wrong type": (AFTER, ["--mode", "prior", "--checkpoint-dir", "RUN"],
                          rewrite_config(lambda values: {**values, "latent_dim": "2"}),
                          "field latent_dim: expected int"),
    "config out of range": (TRAIN, ["--resume", "--checkpoint-dir", "RUN", "--epochs", 5],
                            rewrite_config(lambda values: {**values, "beta": -1}), "field beta must be"),
    "config field missing": (AFTER, ["--mode", "recon", "--checkpoint-dir", "RUN"],
                             rewrite_config(lambda values: {k: v for k, v in values.items() if k != "data_scale"}),
                             "field data_scale is missing"),
    "config not JSON": (AFTER, ["--mode", "prior", "--checkpoint-dir", "RUN"],
                        damage("config.json", lambda path: path.write_text("{oops")), "not valid JSON"),
    "history damaged": (TRAIN, ["--resume", "--checkpoint-dir", "RUN", "--epochs", 5],
                        damage("history.csv", lambda path: path.write_text("epoch,loss\n1,x\n")), "damaged"),
    "checkpoint data truncated": (AFTER, ["--mode", "prior", "--checkpoint-dir", "RUN", "--output", "TMP/s.npy"],
                                  damage("config.json", truncate_every_checkpoint), "unreadable"),
    "no checkpoint": (AFTER, ["--mode", "prior", "--checkpoint-dir", "RUN"],
                      damage("config.json", lambda path: [p.unlink() for p in path.parent.glob("ckpt-*.index")]),
                      "no trained model here"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_one_line_with_status_2_and_the_good_run_survives(good, case, tmp_path, capsys):
    main, argv, setup, fragment = CASES[case]
    folder, before = good
    run = folder / "run"
    if setup == "rows":
        np.savetxt(tmp_path / "rows.csv", factor_data_array(20), delimiter=",")
    elif setup == "overflow":
        (tmp_path / "big.csv").write_text("1,2,3,4\n" * 20 + "1,2,1e39,4\n")
    elif setup == "copy":
        shutil.copytree(run, tmp_path / "copy")
    elif setup == "utf16":
        (tmp_path / "wide.csv").write_bytes("1,2,3,4\n5,6,7,8\n".encode("utf-16"))
    elif setup not in (None, "lock"):
        run = setup(run, tmp_path)
    arguments = [str(arg).replace("RUN", str(run)).replace("DATA", str(folder / "data.npy"))
                 .replace("TMP", str(tmp_path)) for arg in argv]
    lock = RunLock(str(run)).acquire() if setup == "lock" else None
    status, _, stderr = call(main, arguments, capsys)
    if lock:
        lock.release()
    lines = stderr.strip().splitlines()
    assert status == 2 and len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], stderr
    assert fingerprint(folder / "run") == before


def test_the_good_run_still_loads_and_samples_after_the_table(good, tmp_path, capsys):
    folder, before = good
    status, stdout, stderr = call(AFTER, ["--mode", "prior", "--checkpoint-dir", folder / "run", "--num-samples", 30,
                                          "--output", tmp_path / "after.npy"], capsys)
    assert status == 0 and "wrote 30 prior samples" in stdout, stderr
    assert np.all(np.isfinite(np.load(tmp_path / "after.npy"))) and fingerprint(folder / "run") == before


def training(data, folder, *flags):
    """The command line of a small training (4-D data, 8 hidden units) into folder."""
    return [sys.executable, os.path.join(REPO, "beta_vae_main.py"), "--data", str(data), "--batch-size", "100",
            "--hidden-units", "8", "--seed", "1", "--checkpoint-dir", str(folder), *map(str, flags)]


def history_values(folder):
    """The history's rows without the wall-time column, which differs between runs."""
    return [{key: value for key, value in row.items() if key != "seconds"}
            for row in RunFolder(str(folder)).read_history()]


@pytest.mark.slow
def test_two_trainings_into_one_folder_one_trains_the_other_names_it(tmp_path):
    np.save(tmp_path / "data.npy", factor_data_array(300))
    command = training(tmp_path / "data.npy", tmp_path / "run", "--epochs", 3)
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
                 for _ in range(2)]
    results = [(process.pid, process.wait(timeout=300), process.stderr.read()) for process in processes]
    (winner, won, _), (_, lost, message) = sorted(results, key=lambda result: result[1])
    assert (won, lost) == (0, 2) and len(message.strip().splitlines()) == 1, results
    assert message.startswith("error: ") and f"being written by pid {winner} " in message
    assert [row["epoch"] for row in history_values(tmp_path / "run")] == [1, 2, 3]


@pytest.mark.slow
def test_a_failing_overwrite_leaves_the_old_run_loadable(good, tmp_path, capsys):
    folder, before = good
    run = tmp_path / "run"
    shutil.copytree(folder / "run", run)
    failed = subprocess.run(training(folder / "data.npy", run, "--epochs", 3, "--overwrite", "--lr", "1e30"),
                            capture_output=True, text=True, cwd=REPO, timeout=300)
    assert failed.returncode == 1 and "nothing was saved" in failed.stderr, failed.stderr
    assert fingerprint(run) == before and sorted(os.listdir(tmp_path)) == ["run"]
    status, _, stderr = call(AFTER, ["--mode", "prior", "--checkpoint-dir", run, "--num-samples", 20,
                                     "--output", tmp_path / "s.npy"], capsys)
    assert status == 0, stderr


def test_an_existing_output_is_replaced_with_overwrite_and_the_runs_own_outputs_always(good, tmp_path, capsys):
    shutil.copytree(good[0] / "run", tmp_path / "run")  # the shared run stays untouched for the other tests
    (tmp_path / "old.npy").write_text("an earlier file")
    prior = ["--mode", "prior", "--checkpoint-dir", tmp_path / "run", "--num-samples", 7]
    assert call(AFTER, [*prior, "--output", tmp_path / "old.npy", "--overwrite"], capsys)[0] == 0
    assert np.load(tmp_path / "old.npy").shape == (7, 4)
    for _ in range(2):  # the default output inside the run: replaced without --overwrite
        assert call(AFTER, prior, capsys)[0] == 0


KILLS = 20


@pytest.mark.slow  # 22 trainings in subprocesses: about two minutes
def test_sigkill_at_random_moments_loses_and_repeats_no_epoch(tmp_path):
    """Kill a training again and again, resuming each time: every kill leaves a consistent run, and the
    final history equals an uninterrupted run's, value for value."""
    np.save(tmp_path / "data.npy", factor_data_array(300))
    flags = ("--epochs", 60, "--save-every", 1)
    reference = subprocess.run(training(tmp_path / "data.npy", tmp_path / "reference", *flags), cwd=REPO,
                               capture_output=True, text=True, timeout=300)
    assert reference.returncode == 0, reference.stderr
    rng, run = np.random.default_rng(0), RunFolder(str(tmp_path / "run"))
    states = []  # the epoch each kill left committed (0: no run yet)
    for kill in range(KILLS):
        command = training(tmp_path / "data.npy", run.path, *flags, *(["--resume"] if run.is_run() else []))
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO)
        if kill % 3 == 2:  # during training: after this process's second epoch line, so after its first save
            epoch_lines = (line for line in process.stdout if EPOCH_LINE.match(line))
            next(epoch_lines, None), next(epoch_lines, None)  # (a machine under load may take long to save)
            time.sleep(rng.uniform(0.0, 0.3))
        else:  # anywhere in start-up: holding the lock, before or around the first save
            time.sleep(rng.uniform(0.0, 2.5))
        process.kill()
        process.wait()
        process.stdout.close()
        states.append(run.checkpoints()[0][0] if run.is_run() else 0)
        if run.is_run():
            epochs = [row["epoch"] for row in run.read_history()]
            assert epochs == list(range(1, states[-1] + 1)) and run.load_config()
    assert 0 in states and any(0 < state < 60 for state in states), states  # before the first save, and during
    finished = subprocess.run(training(tmp_path / "data.npy", run.path, *flags,
                                       *(["--resume"] if run.is_run() else [])),
                              capture_output=True, text=True, cwd=REPO, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert history_values(run.path) == history_values(tmp_path / "reference")
