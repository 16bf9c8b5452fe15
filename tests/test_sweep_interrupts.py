"""Stopping a sweep: a signal to the driver or its process group stops it once the running models saved,
says how to resume and starts nothing further; workers die with their driver; the Ray engine answers an
unreachable cluster or one too small in one line, within seconds."""
import contextlib
import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from betavae.cli import UsageError
from betavae.commands import sweep as sweep_command
from betavae.run.folder import RunFolder
from betavae.run.lock import RunLock
from betavae.sweep import engines, worker
from betavae.sweep.plan import SweepRun
from conftest import REPO, factor_data_array


class FakeEngine:
    """Tasks that finish in the order submitted, one per wait; a signal arrives after the first submission."""

    def __init__(self, limit, signal_number, status):
        self.limit, self.signal_number, self.status = limit, signal_number, status
        self.submitted, self.stopped, self.running = [], [], []

    def submit(self, task):
        self.submitted.append(task["run"].index)
        self.running.append(task)
        if len(self.submitted) == 1:
            os.kill(os.getpid(), self.signal_number)
        return len(self.submitted)

    def wait(self, handles, _timeout):
        task = self.running.pop(0)
        status = self.status if self.stopped else 0
        return [(handles[0], lambda: {"run": task["run"], "status": status, "seconds": 0.1,
                                      "message": "stopped during training; epoch 3 is saved"})]

    def stop(self, handles):
        self.stopped.append(list(handles))

    def kill(self, handles):
        raise AssertionError("one signal must not kill")


@pytest.mark.parametrize("number, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_the_sweep_after_the_running_tasks_and_starts_no_other(tmp_path, capsys, number, status):
    tasks = [{"run": SweepRun(index, 1.0, index, str(tmp_path / str(index)))} for index in range(5)]
    engine, progress = FakeEngine(limit=2, signal_number=number, status=status), engines.Progress(5)
    handler = signal.getsignal(number)
    with pytest.raises(engines.Interrupted) as stop:
        engines.follow(tasks, engine, progress)
    assert stop.value.signal_number == number and signal.getsignal(number) is handler  # put back
    assert engine.submitted == [0, 1] and engine.stopped == [[1, 2]]  # the two running, told once
    out = capsys.readouterr().out
    assert "FAILED" not in out and progress.failed == [] and out.count("stopped during training") == 2
    assert f"stopping on {signal.Signals(number).name}" in out


def test_flags_the_engine_would_ignore_are_refused(tmp_path, capsys):
    for flags, message in ((["--engine", "ray", "--jobs", "2"], "--jobs is for --engine local"),
                           (["--engine", "ray", "--jo", "1"], "--jobs is for --engine local"),
                           (["--cpus-per-task", "2"], "--cpus-per-task is for --engine ray"),
                           (["--address", "auto"], "--address is for --engine ray")):
        assert sweep_command.main(["--sweep-dir", str(tmp_path), *flags]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], flags
    assert not os.listdir(tmp_path)


def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_ray_address_is_one_line_within_seconds(tmp_path):
    pytest.importorskip("ray", reason="Ray is optional: pip install -r requirements-ray.txt")
    np.save(tmp_path / "small.npy", factor_data_array(rows=100))
    port = closed_port()
    for address in (f"ray://127.0.0.1:{port}", f"127.0.0.1:{port}"):
        started = time.perf_counter()
        result = subprocess.run([sys.executable, "beta_vae_sweep.py", "--engine", "ray", "--address", address,
                                 "--sweep-dir", str(tmp_path / "sweep"), "--", "--data", str(tmp_path / "small.npy")],
                                capture_output=True, text=True, timeout=120, cwd=REPO)
        assert result.returncode == 2 and time.perf_counter() - started < 60
        assert result.stderr.strip().splitlines() == [
            f"error: --address {address}: cannot reach 127.0.0.1:{port} (Connection refused); is the Ray cluster "
            "running there?"]


def test_a_cluster_that_fails_to_start_leaves_no_record_and_keeps_an_earlier_one(tmp_path, monkeypatch, capsys):
    """Nothing is trained when Ray does not start, so nothing is recorded: the next sweep there may use other
    training flags; a record of an earlier sweep stays as it was."""
    ray = pytest.importorskip("ray", reason="Ray is optional: pip install -r requirements-ray.txt")
    np.save(tmp_path / "small.npy", factor_data_array(rows=100))
    monkeypatch.setattr(engines, "check_reachable", lambda address: None)  # ray.init itself fails here

    def refuse(**_options):
        raise ConnectionError("Failed to connect to GCS at address 10.9.9.9:6379 within 5 seconds")
    monkeypatch.setattr(ray, "init", refuse)
    new, old = tmp_path / "new", tmp_path / "old"
    old.mkdir()
    (old / "training_flags.json").write_text(json.dumps({"flags": ["--data", str(tmp_path / "small.npy")],
                                                         "cwd": str(tmp_path)}) + "\n")
    before = (old / "training_flags.json").read_bytes()
    for folder in (new, old):
        assert sweep_command.main(["--engine", "ray", "--address", "10.9.9.9:6379", "--betas", "1", "--sweep-dir",
                                   str(folder), "--", "--data", str(tmp_path / "small.npy")]) == 2
        assert capsys.readouterr().err.startswith("error: --address 10.9.9.9:6379: cannot start or reach Ray")
    assert not new.exists() and os.listdir(old) == ["training_flags.json"]
    assert (old / "training_flags.json").read_bytes() == before
    monkeypatch.undo()
    assert sweep_command.main(["--sweep-dir", str(new), "--betas", "1", "--list", "--", "--data",
                               str(tmp_path / "small.npy"), "--hidden-units", "16"]) == 0  # other flags: welcome
    assert capsys.readouterr().err == "" and not new.exists()


@pytest.mark.parametrize("flags, message", [(["--betas", "1,1"], "--betas: 1 and 1 are the same beta"),
                                            (["--betas=2,-1"], "--betas: -1 is not a finite number >= 0"),
                                            (["--seeds", "0,4,4", "--list"], "--seeds: 4 is given twice"),
                                            (["--seeds", "0,x", "--list"], "--seeds"),
                                            (["--only", "4"], "--only 4: this sweep has runs 0 to 0"),
                                            (["--epochs", "0", "--list"], "--epochs must be at least 1")])
def test_the_sweeps_own_mistake_comes_before_a_missing_default_data_file(tmp_path, monkeypatch, capsys, flags,
                                                                          message):
    monkeypatch.chdir(tmp_path)  # outside the repository, where the default data file is not
    assert sweep_command.main(["--betas", "1", *flags]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], err
    assert sweep_command.main(["--betas", "1", "--list"]) == 2  # without a mistake of its own: the data file
    assert "training flag --data data/gaussian_10d.npy: no such file" in capsys.readouterr().err
    assert os.listdir(tmp_path) == []


def test_the_reachability_probe_reads_ray_addresses(monkeypatch):
    seen = []
    monkeypatch.setattr(socket, "create_connection", lambda where, timeout: seen.append(where) or socket.socket())
    for address in ("ray://head:10001", "ray://head", "10.0.0.5:6379", "head", "[::1]:7000", None, "auto"):
        engines.check_reachable(address)
    assert seen == [("head", 10001), ("head", 10001), ("10.0.0.5", 6379), ("head", 6379), ("::1", 7000)]


@contextlib.contextmanager
def signal_handlers_kept():
    """Restore this process's SIGINT and SIGTERM handlers after the block: ray.init installs its own, which
    ray.shutdown leaves in place, and a later test in the same worker (test_stop_signals.py) would meet Ray's
    SIGTERM handler instead of the default."""
    saved = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in saved.items():
            signal.signal(number, handler)


@pytest.mark.slow
def test_more_cpus_per_task_than_the_cluster_has_is_refused_at_once(tmp_path, capsys):
    ray = pytest.importorskip("ray", reason="Ray is optional: pip install -r requirements-ray.txt")
    np.save(tmp_path / "small.npy", factor_data_array(rows=100))
    with signal_handlers_kept():
        ray.init(num_cpus=2, include_dashboard=False)
        try:
            started = time.perf_counter()
            assert sweep_command.main(["--engine", "ray", "--cpus-per-task", "8", "--sweep-dir", str(tmp_path / "s"),
                                       "--", "--data", str(tmp_path / "small.npy")]) == 2
            assert time.perf_counter() - started < 30
        finally:
            ray.shutdown()
    err = capsys.readouterr().err.strip().splitlines()  # after Ray's own lines, from the ray.init above
    assert err[-1] == "error: --cpus-per-task 8: the Ray cluster has 2 CPUs in all; ask for at most 2"
    assert not any("Traceback" in line for line in err)


def start_sweep(tmp_path, engine="local"):
    """A two-run sweep (300 epochs each) on `engine` in its own session; returns it once run 0 printed an epoch
    line."""
    np.save(tmp_path / "small.npy", factor_data_array(rows=2000))
    sweep_dir = tmp_path / "sweep"
    command = [sys.executable, "beta_vae_sweep.py", "--engine", engine, "--betas", "1,2", "--epochs", "300",
               "--iwae-samples", "10", "--sweep-dir", str(sweep_dir), "--", "--data", str(tmp_path / "small.npy"),
               "--hidden-units", "8", "--batch-size", "100"]
    process = subprocess.Popen(command, cwd=REPO, start_new_session=True, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    log, deadline = sweep_dir / "beta_1_seed_0" / "train.log", time.time() + 240
    while not (log.exists() and "  1/300 " in log.read_text()):
        assert process.poll() is None and time.time() < deadline, process.communicate()
        time.sleep(0.2)
    return process, command, sweep_dir


@pytest.mark.slow
@pytest.mark.parametrize("target, number, engine", [("group", signal.SIGINT, "local"),
                                                    ("driver", signal.SIGTERM, "local"),
                                                    ("driver", signal.SIGTERM, "ray")])  # a scheduler's stop
def test_a_signal_stops_a_real_sweep_with_its_model_saved_and_says_how_to_resume(tmp_path, target, number, engine):
    if engine == "ray":
        pytest.importorskip("ray", reason="Ray is optional: pip install -r requirements-ray.txt")
    process, command, sweep_dir = start_sweep(tmp_path, engine)
    (os.killpg if target == "group" else os.kill)(process.pid, number)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 128 + number, err
    assert "FAILED" not in out
    assert err.strip().splitlines()[-1].endswith("Resume with the same command: betavae sweep "
                                                 + " ".join(command[2:]))
    started = sorted(path.name for path in sweep_dir.iterdir() if path.is_dir())
    if engine == "local":
        assert started == ["beta_1_seed_0"]  # one run at a time: the next never started
    for name in started:  # Ray runs as many at once as there are cores
        newest = RunFolder(str(sweep_dir / name)).newest_checkpoint()
        assert f"stopped during training; {f'epoch {newest[0]} is saved' if newest else 'no epoch was saved yet'}" \
            in out
        RunLock(str(sweep_dir / name)).acquire().release()
    assert RunFolder(str(sweep_dir / "beta_1_seed_0")).newest_checkpoint() is not None  # it printed epoch 1


@pytest.mark.slow
def test_the_workers_die_with_a_killed_driver_and_free_the_lock(tmp_path):
    process, _, sweep_dir = start_sweep(tmp_path)
    worker = int((sweep_dir / "beta_1_seed_0" / ".lock").read_text().split()[1])
    assert worker != process.pid
    process.kill()
    process.communicate(timeout=60)
    deadline = time.time() + 10
    while os.path.exists(f"/proc/{worker}") and time.time() < deadline:
        time.sleep(0.1)
    assert not os.path.exists(f"/proc/{worker}")
    RunLock(str(sweep_dir / "beta_1_seed_0")).acquire().release()  # the kernel released the dead worker's lock


class LosingEngine:
    """Tasks that finish one per wait, in the order submitted; the worker of run `lose` is lost `times` times
    (its result raises, as a dead worker's does) before it finishes."""

    def __init__(self, lose, times, limit=2):
        self.lose, self.times, self.limit = lose, times, limit
        self.submitted, self.running = [], []

    def submit(self, task):
        self.submitted.append(task["run"].index)
        self.running.append(task)
        return len(self.submitted)

    def wait(self, handles, _timeout):
        task, handle = self.running.pop(0), handles[0]
        if task["run"].index == self.lose and self.times:
            self.times -= 1
            return [(handle, lambda: (_ for _ in ()).throw(RuntimeError("The worker died unexpectedly\nmore")))]
        return [(handle, lambda: {"run": task["run"], "status": 0, "seconds": 0.1, "message": "trained"})]


def test_a_run_whose_worker_is_lost_runs_again_while_the_others_go_on(tmp_path, capsys):
    tasks = [{"run": SweepRun(index, 1.0, index, str(tmp_path / str(index)))} for index in range(3)]
    engine, progress = LosingEngine(lose=1, times=engines.LOST_WORKER_RETRIES), engines.Progress(3)
    engines.follow(tasks, engine, progress)
    assert sorted(engine.submitted) == [0, 1, 1, 1, 2] and progress.failed == [] and progress.finished == 3
    out = capsys.readouterr().out
    assert out.count("[1] beta 1 seed 1: its worker was lost (The worker died unexpectedly); running it again "
                     "from its last saved epoch") == engines.LOST_WORKER_RETRIES
    assert out.count("trained in") == 3


def test_a_run_whose_worker_is_lost_again_and_again_ends_the_sweep_in_one_line(tmp_path, capsys):
    tasks = [{"run": SweepRun(index, 1.0, index, str(tmp_path / str(index)))} for index in range(2)]
    engine = LosingEngine(lose=0, times=engines.LOST_WORKER_RETRIES + 1)
    with pytest.raises(UsageError, match=f"run 0 .*: its worker failed {engines.LOST_WORKER_RETRIES + 1} times, "
                                         "last: The worker died unexpectedly; see the logs in "):
        engines.follow(tasks, engine, engines.Progress(2))


def sweep_losing_a_worker(folder, engine):
    """Sweep betas 1 and 2 on `engine` into folder/engine, SIGKILL the worker of beta 1 once it has saved epoch
    2, and check that the sweep goes on and ends with both rows, the lost run resumed from its checkpoint, not
    started again; returns sweep.csv's rows."""
    sweep_dir = folder / engine
    command = [sys.executable, "beta_vae_sweep.py", "--engine", engine, "--betas", "1,2", "--epochs", "40",
               "--iwae-samples", "5", "--sweep-dir", str(sweep_dir)] + (["--jobs", "2"] if engine == "local" else []) \
        + ["--", "--data", str(folder / "small.npy"), "--hidden-units", "8", "--batch-size", "100",
           "--save-every", "2"]
    process = subprocess.Popen(command, cwd=REPO, start_new_session=True, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    run = sweep_dir / "beta_1_seed_0"
    try:
        deadline = time.time() + 240
        while RunFolder(str(run)).newest_checkpoint() is None:
            assert process.poll() is None and time.time() < deadline, process.communicate()
            time.sleep(0.2)
        worker = int((run / ".lock").read_text().split()[1])
        assert worker != process.pid
        os.kill(worker, signal.SIGKILL)
        out, err = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 0, err
    assert "[0] beta 1 seed 0: its worker was lost" in out and "FAILED" not in out
    assert "resuming " in (run / "train.log").read_text()
    with open(sweep_dir / "sweep.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(float(row["beta"]), int(row["seed"])) for row in rows] == [(1.0, 0), (2.0, 0)]
    return rows


@pytest.mark.slow  # two sweeps of two 40-epoch runs with their evaluations, and Ray's start-up
def test_a_sweep_that_loses_a_worker_runs_its_run_again_and_the_engines_give_one_table(tmp_path):
    """On the local engine and on Ray, a worker killed after its run saved: the sweep ends with both rows, the
    lost run resumed; and the two engines' tables are equal value for value, as a resumed run repeats an
    uninterrupted one and a run does not depend on the engine that ran it."""
    np.save(tmp_path / "small.npy", factor_data_array(rows=300))
    local = sweep_losing_a_worker(tmp_path, "local")
    pytest.importorskip("ray", reason="Ray is optional: pip install -r requirements-ray.txt (the local engine passed)")
    assert sweep_losing_a_worker(tmp_path, "ray") == local


def test_a_stopped_run_says_which_epoch_is_saved_or_that_none_is(good, tmp_path):
    folder, _ = good
    assert worker.stopped_message("training", str(folder / "run")) == "stopped during training; epoch 2 is saved"
    assert worker.stopped_message("training", str(tmp_path)) == "stopped during training; no epoch was saved yet"
    assert worker.stopped_message("evaluation", str(folder / "run")) == "stopped during evaluation"
