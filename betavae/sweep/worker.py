"""A sweep's worker side: one task trains and evaluates one run by calling the library's training session and
evaluation in this process, with what each prints appended to a log file in the run's folder and each
training epoch recorded in its progress file for the driver (sweep.progress). Local workers die with their
driver (start_worker); Ray runs run_task in its own workers.
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

from betavae.cli import run_cli
from betavae.run.folder import RunFolder
from betavae.sweep.plan import EVALUATE_LOG, TRAIN_LOG, training_settings
from betavae.sweep.progress import EpochRecorder

POLL_SECONDS = 1.0  # how often a local worker checks that its driver is alive
STOPPED = (128 + signal.SIGINT, 128 + signal.SIGTERM)  # a task's status when a signal stopped it after saving
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


def call_logged(title, body, log_path):
    """Run body() in this process with its output appended to log_path, after a line saying what it does;
    returns an exit status as the CLIs give it: 2 for a user's error (its one line last in the log), 1 for
    a diverged training or a bug (its traceback in the log), 128 + the signal when stopped. The training
    session installs SIGINT/SIGTERM handlers, which are put back afterwards so that the worker can still be
    stopped between runs."""
    from betavae.training.session import Diverged, Stopped

    def step():
        try:
            body()
            return 0
        except Stopped as stop:
            print(stop, file=sys.stderr)
            return 128 + stop.signal_number
        except Diverged as error:
            print(f"error: {error}", file=sys.stderr)
            return 1

    handlers = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    with output_to(log_path):
        print(f"# {title}   ({datetime.now(timezone.utc):%Y-%m-%d %H:%M:%S} UTC)", flush=True)
        try:
            # A user's error, or an OSError no edge named, as the CLIs say it: one line.
            return run_cli(step, sigterm=False)
        except Exception:  # a bug, not a user error: its traceback goes to the log, the sweep says where
            traceback.print_exc()
            return 1
        finally:
            for number, handler in handlers.items():
                signal.signal(number, handler)


def last_error(log_path):
    """The last line of a failed step's log, which holds its one-line error."""
    with open(log_path, encoding="utf-8", errors="replace") as handle:
        lines = [line.strip() for line in handle if line.strip()]
    return lines[-1] if lines else "no message"


def train(settings):
    """Train the run as its settings say (training.session), each epoch recorded in its progress file."""
    from betavae.training.session import train_settings
    train_settings(settings, on_epoch=EpochRecorder(settings.checkpoint_dir, settings.epochs))


def evaluate(folder, iwae_samples, seed):
    """Score the run as --mode evaluate does (held-out rows, noise seeded by seed), save evaluation.json and
    print the report."""
    from betavae.run.opened import open_run
    from betavae.scoring import evaluate as scoring
    run = open_run(folder)
    report, path = scoring.evaluate_and_save(run, iwae_samples=iwae_samples, seed=seed,
                                             progress=lambda line: print(line, flush=True))
    print(scoring.format_report(report, folder))
    print(f"wrote {path}")


def stopped_message(step, folder):
    """What a run stopped during `step` keeps, as the sweep reports it: after training, the epoch of the
    newest checkpoint in its folder, or that none was saved yet (stopped while it set up or before its
    first epoch ended)."""
    if step != "training":
        return f"stopped during {step}"
    newest = RunFolder(folder).newest_checkpoint()
    return "stopped during training; " + (f"epoch {newest[0]} is saved" if newest else "no epoch was saved yet")


def run_task(task):
    """Train (if needed) and evaluate one run in this process; returns {'run', 'status', 'message',
    'seconds'}. task: a dict with run (a sweep.plan.SweepRun), training (its training settings, None to skip
    training), iwae_samples and cwd. Ctrl-C stops the run (training saves its epoch first); the status is
    then one of STOPPED. Whether training resumes is decided here, from what the run's folder holds now, so
    that a task run again after its worker died resumes from the epoch that worker saved."""
    os.chdir(task["cwd"])
    run, started, training = task["run"], time.perf_counter(), task["training"]
    training = training and training_settings(run, training.epochs, training)
    os.makedirs(run.folder, exist_ok=True)
    # Each step with what the user would run by hand instead (beta_vae_main.py, beta_vae_after_training.py).
    steps = [(f"training {run.label} to epoch {training.epochs}" if training else None,
              lambda: train(training), TRAIN_LOG, "training", "beta_vae_main.py"),
             (f"evaluating {run.label}", lambda: evaluate(run.folder, task["iwae_samples"], run.seed),
              EVALUATE_LOG, "evaluation", "beta_vae_after_training.py")]
    idle_handler = signal.signal(signal.SIGINT, signal.default_int_handler)  # a local worker ignores it idle
    try:
        for title, body, log_name, step, script in steps:
            if title is None:
                continue
            log_path = os.path.join(run.folder, log_name)
            try:
                status = call_logged(title, body, log_path)
            except KeyboardInterrupt:  # a second Ctrl-C while the step was handling the first
                status = STOPPED[0]
            if status in STOPPED:
                return {"run": run, "status": status, "seconds": time.perf_counter() - started,
                        "message": stopped_message(step, run.folder)}
            if status != 0:
                return {"run": run, "status": status, "seconds": time.perf_counter() - started,
                        "message": f"{script} failed (exit {status}): {last_error(log_path)}; see {log_path}"}
    finally:
        signal.signal(signal.SIGINT, idle_handler)
    done = "trained and evaluated" if training is not None else "evaluated"
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
