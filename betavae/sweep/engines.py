"""Where a sweep's runs execute: long-lived local worker processes, or Ray tasks on a cluster.

Either way one task trains and evaluates one run (worker.run_task), so TensorFlow is imported once per
worker, not twice per run; what each step prints goes to a log file in the run's folder, and each epoch to
its progress file, which the driver follows to print progress. The driver stops the sweep on a signal once
the running models saved (follow).
"""
import concurrent.futures
import concurrent.futures.process
import contextlib
import multiprocessing
import os
import signal
import socket
import threading
import time

from betavae.cli import UsageError, first_line
from betavae.fields import spelled
from betavae.sweep.progress import latest_epoch, progress_line
from betavae.sweep.worker import STOPPED, run_task, start_worker
from betavae.words import counted

POLL_SECONDS = 1.0
LOST_WORKER_RETRIES = 2  # how often a run whose worker died is run again before the sweep gives up on it
CONNECT_SECONDS = 5.0  # how long an --address may take to accept a connection


class Interrupted(Exception):
    """The sweep was stopped by a signal after its running models saved; signal_number is the signal's."""

    def __init__(self, signal_number):
        super().__init__(signal.Signals(signal_number).name)
        self.signal_number = signal_number


class Progress:
    """Prints a run's newest epoch every few epochs (about 20 lines per run) while the driver waits."""

    def __init__(self, total):
        self.total, self.finished, self.shown, self.failed = total, 0, {}, []
        self.started = time.time()

    def poll(self, runs):
        """Print the runs whose training has moved on by a step since they were last shown."""
        for run in runs:
            record = latest_epoch(run.folder, self.started)
            if record is None:
                continue
            epoch, epochs = record["epoch"], record["epochs"]
            if epoch >= self.shown.get(run.index, 0) + max(1, epochs // 20) or \
                    (epoch == epochs and self.shown.get(run.index) != epoch):
                self.shown[run.index] = epoch
                print(f"[{run.index}] {run.label}: {progress_line(record)}", flush=True)

    def done(self, result, stopping=False):
        """Print one line for a finished run; a failed one is remembered, and the other runs go on. While the
        sweep stops, a run that stopped on the signal is no failure."""
        run = result["run"]
        if stopping and result["status"] in STOPPED:
            print(f"[{run.index}] {run.label}: {result['message']} ({run.folder})", flush=True)
            return
        self.finished += 1
        if result["status"] != 0:
            self.failed.append(run)
        print(f"[{run.index}] {run.label}: {'FAILED: ' if result['status'] else ''}{result['message']} in "
              f"{result['seconds']:.1f} s ({self.finished}/{self.total} done, {run.folder})", flush=True)


class Signals:
    """Counts the SIGINTs and SIGTERMs the driver gets while runs go on, instead of dying of the first:
    `number` is the first one's signal, `count` how many came."""

    def __init__(self):
        self.number, self.count, self.saved = None, 0, {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():  # only there can Python catch signals
            self.saved = {number: signal.signal(number, self._handle) for number in (signal.SIGINT, signal.SIGTERM)}
        return self

    def __exit__(self, *_):
        for number, handler in self.saved.items():
            signal.signal(number, handler)

    def _handle(self, number, _frame):
        self.number = self.number or number
        self.count += 1


def follow(tasks, engine, progress, ready=lambda: None):
    """Run every task on `engine` and wait for them, printing progress meanwhile. engine: submit(task) ->
    handle; wait(handles, timeout) -> the finished handles, each with a function that gives its result;
    limit, how many tasks may run at once (a task not started yet is never started after a signal);
    stop(handles) asks the running tasks to save and end; kill(handles) ends them at once. The first
    SIGINT or SIGTERM stops the sweep once the running models saved; a second one stops it at once. Raises
    Interrupted after a signal. A run whose worker died (a crash, a kill, a lost node) is run again, up to
    LOST_WORKER_RETRIES times, from its last saved epoch (the worker resumes what is in its folder) while the
    others go on; past that it is one line naming the run. ready(): called before the first task is submitted."""
    queued, pending, seen, lost = list(tasks), {}, 0, {}
    ready()
    with Signals() as signals:

        def react():  # to a signal that came since the last look
            nonlocal seen
            if signals.count > seen:
                seen = signals.count
                queued.clear()
                if seen > 1:
                    engine.kill(list(pending))
                    raise Interrupted(signals.number)
                print(f"stopping on {signal.Signals(signals.number).name}: each running model saves its current "
                      "epoch (a second Ctrl-C stops at once, losing it)", flush=True)
                engine.stop(list(pending))

        while queued or pending:
            react()
            while queued and len(pending) < engine.limit:
                task = queued.pop(0)
                pending[engine.submit(task)] = task
            finished = engine.wait(list(pending), POLL_SECONDS)
            react()
            for handle, result in finished:
                task = pending.pop(handle)
                run = task["run"]
                try:
                    outcome = result()
                except Exception as error:  # the worker, not the run's code, failed: that raised in the worker
                    if signals.number:
                        continue  # a task the stop cancelled
                    message = first_line(error, 200)
                    lost[run.index] = lost.get(run.index, 0) + 1
                    if lost[run.index] > LOST_WORKER_RETRIES:
                        raise UsageError(f"run {run.index} ({run.label}): its worker failed {lost[run.index]} times, "
                                         f"last: {message}; see the logs in {run.folder}") from None
                    print(f"[{run.index}] {run.label}: its worker was lost ({message}); running it again from its "
                          f"last saved epoch ({lost[run.index]} of {LOST_WORKER_RETRIES})", flush=True)
                    queued.insert(0, task)
                    continue
                progress.done(outcome, stopping=signals.number is not None)
            progress.poll([task["run"] for task in pending.values()])
        if signals.number:
            raise Interrupted(signals.number)


class LocalEngine:
    """`jobs` long-lived worker processes (spawned: the driver may already hold TensorFlow's threads, which
    a fork would copy in an unusable state), each dying with the driver (start_worker). A worker that dies
    breaks its pool (which ends the others' tasks too); the next submit starts a new one, so that follow can
    run the lost tasks again."""

    def __init__(self, jobs):
        self.pool, self.limit = None, jobs

    def submit(self, task):
        if self.pool is not None:
            try:
                return self.pool.submit(run_task, task)
            except concurrent.futures.process.BrokenProcessPool:
                self.pool.shutdown()
        self.pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=self.limit, mp_context=multiprocessing.get_context("spawn"), initializer=start_worker,
            initargs=(os.getpid(),))
        return self.pool.submit(run_task, task)

    def close(self):
        """Wait for the workers to end."""
        if self.pool is not None:
            self.pool.shutdown()

    @staticmethod
    def wait(futures, timeout):
        done, _ = concurrent.futures.wait(futures, timeout, concurrent.futures.FIRST_COMPLETED)
        return [(future, future.result) for future in done]

    @staticmethod
    def stop(_futures):
        # The workers' SIGINT: a Ctrl-C in the terminal has sent it already, a signal to the driver alone
        # has not. A running task saves and ends (twice is as once); an idle worker ignores it.
        for worker in multiprocessing.active_children():
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker.pid, signal.SIGINT)

    @staticmethod
    def kill(_futures):
        for worker in multiprocessing.active_children():
            worker.kill()


def run_local(tasks, jobs, ready=lambda: None):
    """Run tasks in `jobs` local worker processes; returns the runs that failed (Interrupted on a signal).
    ready: see follow."""
    progress, engine = Progress(len(tasks)), LocalEngine(jobs)
    try:
        follow(tasks, engine, progress, ready)
    finally:
        engine.close()
    return progress.failed


def check_reachable(address):
    """Refuse, within CONNECT_SECONDS, an --address whose host and port accept no connection: Ray itself
    would retry for minutes. 'auto' (found by Ray on this node) is left to Ray."""
    if address is None or address == "auto":
        return
    scheme, _, location = address.rpartition("://")
    host, _, port = location.rstrip("/").rpartition(":")
    if not host or not port.isdigit():
        host, port = location.rstrip("/"), "10001" if scheme == "ray" else "6379"  # Ray's default ports
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_SECONDS).close()
    except OSError as error:
        reason = f"no answer within {CONNECT_SECONDS:g} s" if isinstance(error, TimeoutError) else \
            (error.strerror or str(error))
        raise UsageError(f"{spelled('address', address)}: cannot reach {host}:{port} ({reason}); is the Ray cluster "
                         "running there?") from None


class RayEngine:
    """One Ray task per run; Ray itself schedules as many at once as the cluster's CPUs allow."""

    def __init__(self, ray, remote, count):
        self.ray, self.remote, self.limit = ray, remote, count

    def submit(self, task):
        return self.remote.remote(task)

    def wait(self, refs, timeout):
        done, _ = self.ray.wait(refs, num_returns=1, timeout=timeout)
        return [(ref, lambda ref=ref: self.ray.get(ref)) for ref in done]

    def stop(self, refs):
        for ref in refs:  # a KeyboardInterrupt in the task; training saves on it as on Ctrl-C
            self.ray.cancel(ref, force=False)

    def kill(self, refs):
        for ref in refs:
            self.ray.cancel(ref, force=True)


def run_ray(tasks, address, cpus_per_task, ready=lambda: None):
    """Run each task as one Ray task: on the cluster at `address`, on Ray already started in this process, or
    else on a local Ray instance started (and stopped) here. Workers import the project from this folder,
    so it must sit at the same path on every node (see docs/sweeps.md). Returns the runs that failed
    (Interrupted on a signal). Refuses in one line a cluster that cannot be reached or has fewer CPUs than
    one task asks for. ready: see follow, called once Ray is up and large enough."""
    try:
        import ray
    except ImportError:
        raise UsageError(f"{spelled('engine', 'ray')} needs Ray: pip install -r requirements-ray.txt") from None
    started_here = not ray.is_initialized()
    if started_here:
        check_reachable(address)
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        except Exception as error:  # Ray raises several types for an unreachable or refused cluster
            raise UsageError(f"{spelled('address', address)}: cannot start or reach Ray "
                             f"({first_line(error, 200)})") from None
    try:
        cpus = ray.cluster_resources().get("CPU", 0)
        if cpus_per_task > cpus:  # Ray would wait for ever for a node that large
            raise UsageError(f"{spelled('cpus_per_task', text=f'{cpus_per_task:g}')}: the Ray cluster has "
                             f"{counted(cpus, 'CPU', spec='g')} in all; ask for at most {cpus:g}")
        project = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # holds betavae/
        remote = ray.remote(run_task).options(
            num_cpus=cpus_per_task, max_retries=0,
            runtime_env={"env_vars": {"PYTHONPATH": project, "TF_CPP_MIN_LOG_LEVEL": "3"}})
        progress = Progress(len(tasks))
        follow(tasks, RayEngine(ray, remote, len(tasks)), progress, ready)
        return progress.failed
    finally:
        if started_here:
            ray.shutdown()
