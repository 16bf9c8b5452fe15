"""A sweep's worker side: one task trains and evaluates one run by calling, in this process, the two CLIs'
entry functions that the task carries (the sweep command hands them down: nothing here imports the commands),
with each CLI's output appended to a log file in the run's folder. Local workers die with their driver
(start_worker); Ray runs run_task in its own workers.
"""
import contextlib
import ctypes
import os
import signal
import sys
import threading
import time
import traceback
from datetime import datetime, timezone

from betavae.sweep.plan import EVALUATE_LOG, TRAIN_LOG

POLL_SECONDS = 1.0  # how often a local worker checks that its driver is alive
COMMAND_MARK = "$ python "
STOPPED = (128 + signal.SIGINT, 128 + signal.SIGTERM)  # the training CLI's status after saving on a signal
PR_SET_PDEATHSIG = 1  # linux/prctl.h


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
    'seconds'}. task: a dict with run, train_argv (None to skip training), evaluate_argv, cwd, and train and
    evaluate: the training and after-training CLIs' main(argv). Ctrl-C stops the run (training saves its
    epoch first); the status is then one of STOPPED."""
    os.chdir(task["cwd"])
    run, started = task["run"], time.perf_counter()
    os.makedirs(run.folder, exist_ok=True)
    steps = [("beta_vae_main.py", task["train"], task["train_argv"], TRAIN_LOG, "training"),
             ("beta_vae_after_training.py", task["evaluate"], task["evaluate_argv"], EVALUATE_LOG, "evaluation")]
    idle_handler = signal.signal(signal.SIGINT, signal.default_int_handler)  # a local worker ignores it idle
    try:
        for script, main, argv, log_name, step in steps:
            if argv is None:
                continue
            log_path = os.path.join(run.folder, log_name)
            try:
                status = call_logged(script, main, argv, log_path)
            except KeyboardInterrupt:  # a second Ctrl-C while the CLI was handling the first
                status = STOPPED[0]
            if status in STOPPED:
                saved = "; its last epoch is saved" if step == "training" else ""
                return {"run": run, "status": status, "seconds": time.perf_counter() - started,
                        "message": f"stopped during {step}{saved}"}
            if status != 0:
                return {"run": run, "status": status, "seconds": time.perf_counter() - started,
                        "message": f"{script} failed (exit {status}): {last_error(log_path)}; see {log_path}"}
    finally:
        signal.signal(signal.SIGINT, idle_handler)
    done = "trained and evaluated" if task["train_argv"] is not None else "evaluated"
    return {"run": run, "status": 0, "seconds": time.perf_counter() - started, "message": done}


def start_worker(driver):
    """Initializer of a local worker process: it dies with the driver `driver` (pid) however the driver
    dies, so no orphan trains on holding a run's lock, and while idle it ignores Ctrl-C (the driver decides
    what stops; a running task handles it, see run_task)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:  # Linux: the kernel kills this process when the driver's thread that started it ends
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # elsewhere the watchdog below is the only guard
    threading.Thread(target=_watch_driver, args=(driver,), daemon=True, name="driver-watchdog").start()


def _watch_driver(driver):
    """End this process once its parent is no longer the driver (reparented: the driver died)."""
    while os.getppid() == driver:
        time.sleep(POLL_SECONDS)
    os.kill(os.getpid(), signal.SIGKILL)
