"""Where a sweep's runs execute: long-lived local worker processes, or Ray tasks on a cluster.

Either way one task trains and evaluates one run by calling the two CLIs' main() in the worker process, so
TensorFlow is imported once per worker, not twice per run; each CLI's output goes to a log file in the run's
folder, which the driver follows to print progress.
"""
import concurrent.futures
import contextlib
import multiprocessing
import os
import signal
import sys
import time
import traceback
from datetime import datetime, timezone

from betavae.training.console import EPOCH_LINE
from betavae.run.folder import UsageError
from betavae.sweep.plan import EVALUATE_LOG, TRAIN_LOG

POLL_SECONDS = 1.0
COMMAND_MARK = "$ python "


@contextlib.contextmanager
def output_to(path):
    """Send this process's stdout and stderr (Python's and the C libraries' alike) to the end of `path`."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "a", encoding="utf-8") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def call_logged(script, main, argv, log_path):
    """Run a CLI's main(argv) in this process with its output appended to log_path, after a line naming the
    command; returns its exit status. The training CLI installs SIGINT/SIGTERM handlers, which are put
    back afterwards so that the worker can still be stopped between runs."""
    handlers = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    with output_to(log_path):
        print(f"{COMMAND_MARK}{script} {' '.join(argv)}   # {datetime.now(timezone.utc):%Y-%m-%d %H:%M:%S} UTC",
              flush=True)
        try:
            status = main(argv)
        except SystemExit as stop:
            status = stop.code if isinstance(stop.code, int) else 2
        except Exception:  # a bug, not a user error: its traceback goes to the log, the sweep says where
            traceback.print_exc()
            status = 1
        finally:
            for number, handler in handlers.items():
                signal.signal(number, handler)
    return status or 0


def last_error(log_path):
    """The last line of a failed CLI's log, which holds its one-line error."""
    with open(log_path, encoding="utf-8", errors="replace") as handle:
        lines = [line.strip() for line in handle if line.strip()]
    return lines[-1] if lines else "no message"


def run_task(task):
    """Train (if needed) and evaluate one run in this process; returns {'run', 'status', 'message',
    'seconds'}. task: a dict with run, train_argv (None to skip training), evaluate_argv and cwd."""
    from betavae.commands import after_training as after_training_command
    from betavae.commands import train as train_command
    os.chdir(task["cwd"])
    run, started = task["run"], time.perf_counter()
    os.makedirs(run.folder, exist_ok=True)
    steps = [("beta_vae_main.py", train_command.main, task["train_argv"], TRAIN_LOG),
             ("beta_vae_after_training.py", after_training_command.main, task["evaluate_argv"], EVALUATE_LOG)]
    for script, main, argv, log_name in steps:
        if argv is None:
            continue
        log_path = os.path.join(run.folder, log_name)
        status = call_logged(script, main, argv, log_path)
        if status != 0:
            return {"run": run, "status": status, "seconds": time.perf_counter() - started,
                    "message": f"{script} failed (exit {status}): {last_error(log_path)}; see {log_path}"}
    done = "trained and evaluated" if task["train_argv"] is not None else "evaluated"
    return {"run": run, "status": 0, "seconds": time.perf_counter() - started, "message": done}


def training_progress(folder, since=0.0):
    """(epoch, epochs, line) of the newest epoch line of the run's current training, or None; also None
    when the log was last written before `since` (a queued run's log from an earlier sweep)."""
    path = os.path.join(folder, TRAIN_LOG)
    try:
        if os.path.getmtime(path) < since:
            return None
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return None
    latest = None
    for line in text[max(text.rfind(COMMAND_MARK), 0):].splitlines():
        match = EPOCH_LINE.match(line)
        if match:
            latest = (int(match.group(1)), int(match.group(2)), line.strip())
    return latest


class Progress:
    """Prints a run's newest epoch line every few epochs (about 20 lines per run) while the driver waits."""

    def __init__(self, total):
        self.total, self.finished, self.shown, self.failed = total, 0, {}, []
        self.started = time.time()

    def poll(self, runs):
        """Print the runs whose training has moved on by a step since they were last shown."""
        for run in runs:
            progress = training_progress(run.folder, self.started)
            if progress is None:
                continue
            epoch, epochs, line = progress
            if epoch >= self.shown.get(run.index, 0) + max(1, epochs // 20) or \
                    (epoch == epochs and self.shown.get(run.index) != epoch):
                self.shown[run.index] = epoch
                print(f"[{run.index}] {run.label}: {line}", flush=True)

    def done(self, result):
        """Print one line for a finished run; a failed one is remembered, and the other runs go on."""
        self.finished += 1
        run = result["run"]
        if result["status"] != 0:
            self.failed.append(run)
        print(f"[{run.index}] {run.label}: {'FAILED: ' if result['status'] else ''}{result['message']} in "
              f"{result['seconds']:.1f} s ({self.finished}/{self.total} done, {run.folder})", flush=True)


def follow(pending, wait, progress):
    """Wait for every task: `pending` maps a handle to its run; wait(handles, timeout) returns the finished
    handles, each with a function that gives its result. Prints progress meanwhile; a worker that died (a
    crash, a kill, a lost node) is one line naming the run."""
    while pending:
        for handle, result in wait(list(pending), POLL_SECONDS):
            run = pending.pop(handle)
            try:
                outcome = result()
            except Exception as error:  # the worker, not the run's code, failed: that raised in the worker
                message = (str(error).strip().splitlines() or [type(error).__name__])[0]
                raise UsageError(f"run {run.index} ({run.label}): its worker failed ({message}); see the logs "
                                 f"in {run.folder}") from None
            progress.done(outcome)
        progress.poll(pending.values())


def run_local(tasks, jobs):
    """Run tasks in `jobs` long-lived worker processes (spawned: the driver may already hold TensorFlow's
    threads, which a fork would copy in an unusable state); returns the runs that failed."""
    progress = Progress(len(tasks))
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        pending = {pool.submit(run_task, task): task["run"] for task in tasks}

        def wait(futures, timeout):
            done, _ = concurrent.futures.wait(futures, timeout, concurrent.futures.FIRST_COMPLETED)
            return [(future, future.result) for future in done]

        try:
            follow(pending, wait, progress)
        except BaseException:
            for future in pending:
                future.cancel()
            raise
    return progress.failed


def run_ray(tasks, address, cpus_per_task):
    """Run each task as one Ray task: on the cluster at `address`, on Ray already started in this process, or
    else on a local Ray instance started (and stopped) here. Workers import the project from this folder,
    so it must sit at the same path on every node (see the README). Returns the runs that failed."""
    try:
        import ray
    except ImportError:
        raise UsageError("--engine ray needs Ray: pip install -r requirements-ray.txt") from None
    started_here = not ray.is_initialized()
    if started_here:
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        except Exception as error:  # Ray raises several types for an unreachable or refused cluster
            message = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise UsageError(f"--address {address}: cannot start or reach Ray ({message[:200]})") from None
    try:
        import betavae
        project = os.path.dirname(os.path.dirname(os.path.abspath(betavae.__file__)))  # what holds the package
        remote = ray.remote(run_task).options(
            num_cpus=cpus_per_task, max_retries=0,
            runtime_env={"env_vars": {"PYTHONPATH": project, "TF_CPP_MIN_LOG_LEVEL": "3"}})
        progress = Progress(len(tasks))
        pending = {remote.remote(task): task["run"] for task in tasks}

        def wait(refs, timeout):
            done, _ = ray.wait(refs, num_returns=1, timeout=timeout)
            return [(ref, lambda ref=ref: ray.get(ref)) for ref in done]

        try:
            follow(pending, wait, progress)
        except BaseException:
            for ref in pending:
                ray.cancel(ref, force=True)
            raise
        return progress.failed
    finally:
        if started_here:
            ray.shutdown()
