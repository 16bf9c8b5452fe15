"""A training run on disk, and the only code that reads or writes one: config.json, history.csv, the
checkpoints, the writer's lock and the after-training outputs kept inside the run.

Guarantees (docs/run-folder.md, "What checkpoints/ holds"): one writer at a time (run_lock.RunLock); each save is one
commit, its checkpoint's .index file appearing last, after the config and the history it needs; --overwrite
trains into a staging folder beside the run and swaps it in whole at its first commit; a folder without a
checkpoint holds nothing to lose. Importing this module does not import TensorFlow.
"""
import contextlib
import csv
import dataclasses
import errno
import functools
import glob
import importlib
import io
import json
import os
import re
import shutil
import signal
import threading

import numpy as np

from betavae.data import loading
from betavae.files import atomic_write_text
from betavae.cli import UsageError, first_line, os_errors, os_problem, warn
from betavae.config import config_from_dict
from betavae.fields import spelled, train_call
from betavae.files import is_temporary, make_folder, remove_stale_temporaries
from betavae.objectives import BASE_METRICS, objective_of
from betavae.paths import check_file, file_problem
from betavae.run.bundle import checkpoint_problem
from betavae.run.lock import LOCK_FILE, RunLock
from betavae.run.swap import stale_stagings, staging_path, swap_in
from betavae.words import listed

CONFIG_FILE = "config.json"
REPORT_FILE = "evaluation.json"  # what --mode evaluate writes of the held-out test rows (write_report)
ROWS_REPORT_FILE = "evaluation_rows.json"  # what it writes of rows given to it (--rows), beside that one
HISTORY_FILE = "history.csv"


def history_columns(metrics=BASE_METRICS):
    """history.csv's columns for an objective's named epoch metrics (betavae.objectives): the epoch, the
    metrics, the test loss, the epoch's seconds, and beta and capacity, the effective values of the epoch
    under --kl-warmup-epochs and --capacity."""
    return ("epoch", *metrics, "test_loss", "seconds", "beta", "capacity")


HISTORY_COLUMNS = history_columns()  # those of every objective without terms of its own (beta, capacity, iwae)
KEEP_CHECKPOINTS = 3
# What after-training writes inside a run: replaced with the run by --overwrite, never moved across (names
# without their extension).
OUTPUTS = ("evaluation", "evaluation_rows", "plots", "prior_samples", "recon", "codes")
# The copy of an array that the Python API trains on, kept inside the run (and moved with it).
DATA_FILE = "data.npy"
SAMPLE_OUTPUTS = ("prior_samples", "recon", "codes")  # the default --output files, which a new output supersedes
_CHECKPOINT = re.compile(r"ckpt-(\d+)\.index$")
# The checkpoint files training writes (tf.train.Checkpoint.write), and the folder of a save cut short.
_CHECKPOINT_FILE = re.compile(r"ckpt-(\d+)(\.index|\.data-\d+-of-\d+|_temp)$")
LOGS = ("train.log", "evaluate.log")  # what a sweep's training and evaluation of the run printed
PROGRESS_FILE = "progress.jsonl"  # the epochs of a sweep's current training of the run, one JSON line each
KEPT_FILES = (".gitkeep", PROGRESS_FILE) + LOGS  # what a folder may hold beside a run without being another tool's


def is_run_file(name):
    """Whether a file name in a run folder is one of the files training writes (or its leftovers)."""
    return name in (CONFIG_FILE, HISTORY_FILE, LOCK_FILE) or bool(_CHECKPOINT_FILE.match(name)) or is_temporary(name)


def _is_foreign(name):
    """Whether an entry of a run folder belongs to neither the run nor its outputs (e.g. checkpoints/sweep/)."""
    return not is_run_file(name) and name != DATA_FILE and os.path.splitext(name)[0] not in OUTPUTS


def _while_writing(method):
    """A RunFolder method that writes into the run: it exists for a caller only inside writing(), which holds
    the run's lock (outside, calling it is a bug of the caller, not of the user: a RuntimeError)."""
    @functools.wraps(method)
    def guarded(self, *args, **kwargs):
        if self._lock is None:
            raise RuntimeError(f"RunFolder.{method.__name__} writes into {self.path}: call it inside writing()")
        return method(self, *args, **kwargs)
    return guarded


def _history_number(value, number, name):
    """A cell of history.csv as a float; a ValueError naming its row and column if it is none."""
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"row {number}, column {name}: {value!r} is not a number") from None


def _history_header(header):
    """history.csv's header as read, if it is history_columns of some objective's metrics (the three that
    every objective has first); a ValueError naming the expected form otherwise."""
    header = tuple(header)
    if header != history_columns(header[1:-4]) or header[1:4] != BASE_METRICS:
        raise ValueError(f"expected the header {','.join(HISTORY_COLUMNS)}, with an objective's own metrics "
                         "after log_likelihood")
    return header


class RunFolder:
    """One run folder. Readers may use it at any time; writers enter `writing()` first."""

    def __init__(self, path):
        self.path = path
        self.restored_epoch = None  # the epoch of the checkpoint restore() used, once it has run
        self._lock = None
        self._staging = None

    def file(self, name):
        """The path of a file inside the run."""
        return os.path.join(self.path, name)

    def checkpoints(self):
        """The committed checkpoints as (epoch, path prefix), newest first, readable or not (what a writer
        keeps or deletes; what counts as trained is newest_checkpoint())."""
        found = (_CHECKPOINT.match(os.path.basename(path)) for path in glob.glob(self.file("ckpt-*.index")))
        return sorted(((int(match[1]), self.file(f"ckpt-{match[1]}")) for match in found if match), reverse=True)

    def newest_checkpoint(self):
        """(epoch, path prefix) of the newest checkpoint whose files are complete (bundle.checkpoint_problem),
        or None: the epochs a run has done, for resuming, --epochs and the sweep alike. Without TensorFlow."""
        return next(((epoch, prefix) for epoch, prefix in self.checkpoints() if checkpoint_problem(prefix) is None),
                    None)

    def epochs_done(self):
        """The epoch of newest_checkpoint(); a UsageError when the folder's checkpoints are all damaged."""
        newest = self.newest_checkpoint()
        if newest is None:
            committed = self.checkpoints()
            if committed:
                raise UsageError(f"{committed[0][1]}: {checkpoint_problem(committed[0][1])}, and no older "
                                 f"checkpoint of {self.path} is complete")
            raise UsageError(f"{self.path}: no checkpoint")
        return newest[0]

    def is_run(self):
        """Whether the folder holds a run: at least one committed checkpoint (else there is nothing to lose)."""
        return bool(self.checkpoints())

    @contextlib.contextmanager
    def writing(self):
        """Hold the run's lock while writing; a second writer gets a UsageError naming this process. A folder
        this call had to create is removed again if nothing was committed into it, with what the call wrote
        before failing (the run's copy of an array it was given) and the parents it had to create; a folder
        that was there keeps no lock file of this call's when the call wrote no file of a run into it."""
        made = []  # the folders that acquiring the lock creates, the run folder last
        path = os.path.abspath(self.path)
        while not os.path.lexists(path):
            made.insert(0, path)
            path = os.path.dirname(path)
        created = bool(made)
        lock_made = created or not os.path.lexists(os.path.join(self.path, LOCK_FILE))
        found = self._run_files() if os.path.isdir(self.path) else set()  # a file there: acquire names it
        self._lock = RunLock(self.path).acquire()
        try:
            self._remove_entries(self.path, lambda name: name.endswith("_temp") and _CHECKPOINT_FILE.match(name))
            self._recover_staging()
            remove_stale_temporaries(self.path)
            yield self
        finally:
            self._abandon_staging()
            if created and not self.is_run():
                self._remove_entries(self.path, lambda name: name == DATA_FILE or is_run_file(name), keep=(LOCK_FILE,))
            if created and os.listdir(self.path) == [LOCK_FILE]:
                os.remove(self._lock.path)
                for folder in reversed(made):  # the run folder, then its parents, while nothing else is in them
                    with contextlib.suppress(OSError):
                        os.rmdir(folder)
            elif lock_made and self._run_files() <= found:
                # A folder refused (another tool's) or left before this call wrote a file of a run: as it was
                # found. A writer waiting on this lock file finds it gone once it has the flock, and takes anew.
                os.remove(self._lock.path)
            self._lock.release()
            self._lock = None

    def _run_files(self):
        """The names of the files of a run in the folder (is_run_file), but the lock file."""
        return {name for name in os.listdir(self.path) if is_run_file(name) and name != LOCK_FILE}

    def load_config(self):
        """The run's RunConfig, checked field by field; a UsageError for no run or a damaged config.json."""
        path = self.file(CONFIG_FILE)
        if not self.is_run():
            if os.path.isdir(self.path):  # another tool's folder is named as such, not as a run cut short
                self._refuse_others_files()
            hint = "training stopped before its first save" if os.path.isfile(path) else "no checkpoint"
            raise UsageError(f"{self.path}: no trained model here ({hint}); train one with "
                             + train_call(checkpoint_dir=self.path))
        if not os.path.lexists(path):
            raise UsageError(f"{path}: missing, although the folder holds checkpoints")
        check_file(path, "the run's settings file")
        with os_errors(path, "cannot read"):
            try:
                with open(path, encoding="utf-8") as handle:
                    values = json.load(handle)
            except (ValueError, UnicodeDecodeError) as error:
                raise UsageError(f"{path}: not valid JSON ({str(error)[:120]})") from None
        return config_from_dict(values, path)

    def read_history(self, through=None):
        """history.csv as dicts of numbers (epoch as int) up to the committed epoch (or `through`); rows a
        save wrote before its checkpoint landed are not part of the run; an objective's own metric that an
        epoch left empty (trained by an older version) is missing from its row. Empty when there is none yet;
        a UsageError for one that is damaged or no file (paths.file_problem)."""
        path = self.file(HISTORY_FILE)
        if through is None:
            through = self.restored_epoch or (self.newest_checkpoint() or (0,))[0]
        if not os.path.lexists(path):
            return []
        check_file(path, "the run's history file")
        rows = []
        try:
            with open(path, encoding="utf-8", newline="") as handle:
                reader = csv.reader(handle)
                columns = _history_header(next(reader, ()))
                for number, values in enumerate(reader, start=2):
                    if len(values) != len(columns):
                        raise ValueError(f"row {number} has {len(values)} fields, expected {len(columns)}")
                    # an empty cell: a metric the objective gained after an older version trained that epoch
                    row = {name: _history_number(value, number, name) for name, value in zip(columns, values)
                           if value != "" or name not in columns[4:-4]}
                    if not all(map(np.isfinite, row.values())):  # training never commits a non-finite epoch
                        raise ValueError(f"row {number} holds a value that is not finite")
                    row["epoch"] = int(row["epoch"])
                    if row["epoch"] != len(rows) + 1:
                        raise ValueError(f"row {number} is epoch {row['epoch']}, expected {len(rows) + 1}")
                    rows.append(row)
        except (ValueError, UnicodeDecodeError, csv.Error) as error:
            raise UsageError(f"{path}: damaged ({str(error)[:120]})") from None
        return rows[:through]

    def restore(self, checkpoint, partial=False):
        """Restore a tf.train.Checkpoint from the newest readable checkpoint and return its epoch; an
        unreadable one is skipped with a one-line warning. All unreadable: the newest one's UsageError."""
        failures = []
        for epoch, prefix in self.checkpoints():
            try:
                problem = checkpoint_problem(prefix)
                if problem:  # TensorFlow would fail on it too, some damage with less telling messages
                    raise UsageError(f"{prefix}: unreadable ({problem})")
                restore_checkpoint(checkpoint, prefix, partial)
            except UsageError as error:
                failures.append(error)
                continue
            if failures:
                warn(f"{failures[0]}; using the previous checkpoint, epoch {epoch}")
            self.restored_epoch = epoch
            return epoch
        raise failures[0] if failures else UsageError(f"{self.path}: no checkpoint to restore")

    def restore_model(self, verbose=False, config=None):
        """Rebuild the trained model from config.json (or `config`, the RunConfig already read from it) and
        the newest readable checkpoint; returns (model, config)."""
        config = config or self.load_config()
        tf = import_tensorflow(verbose)
        model = build_model(config)
        self.restore(tf.train.Checkpoint(model=model), partial=True)
        return model, config

    def locate_data(self, config, copies=()):
        """config with its data and test_data pointing at where those files are now: at one of `copies`
        (files given by --data, each of which must have the SHA-256 recorded for one of them), else where
        they were trained, else at the file of the same name inside the run (the run's own data.npy, moved
        with it, if its SHA-256 matches). A file that is nowhere is a one-line UsageError saying how to
        point at it."""
        digests = {}
        for path in filter(None, copies):
            check_file(path, "a data file")
            digest = loading.file_digest(path)
            if digest not in (config.data_sha256, config.test_data_sha256):
                raise UsageError(f"{path}: its SHA-256 ({digest[:16]}...) is not the one recorded for the data "
                                 f"{self.path} was trained on ({config.data_sha256[:16]}...); pass a copy of "
                                 f"that file, and other rows to use as {spelled('rows', text='FILE')}")
            digests[digest] = path
        moved = {}
        for name in ("data", "test_data"):
            path, digest = getattr(config, name), getattr(config, f"{name}_sha256")
            own = self.file(os.path.basename(path or ""))
            if digest in digests:
                moved[name] = os.path.abspath(digests[digest])
            elif path and not os.path.isfile(path):
                if not (os.path.isfile(own) and loading.file_digest(own) == digest):
                    raise UsageError(f"{self.path} was {'trained' if name == 'data' else 'tested'} on {path}, "
                                     f"which is not there; pass {spelled('data', text='<copy of it>')} (checked "
                                     "against its SHA-256)")
                moved[name] = os.path.abspath(own)
        return dataclasses.replace(config, **moved)

    @_while_writing
    def save_data(self, array, names=None):
        """Write an array as the run's own data.npy (under writing(), after begin()), with its columns' names if
        given (loading.save_array); returns the path it is read from now (inside the staging folder while an
        --overwrite has not committed yet)."""
        path = os.path.join(self._staging.folder if self._staging else self.path, DATA_FILE)
        loading.save_array(path, array, names)
        return path

    @_while_writing
    def begin(self, replace):
        """Prepare to train a new run here (under writing()). A folder holding a run is refused unless
        replace; then the new run trains in a staging folder until its first commit swaps it in."""
        self._refuse_others_files()
        if not self.is_run():
            self._remove_entries(self.path, is_run_file, keep=(LOCK_FILE,))
            return
        if not replace:
            raise UsageError(f"{self.path} already holds a run; pass {spelled('resume', True)} to continue it, "
                             f"{spelled('overwrite', True)} to replace it, or choose another "
                             f"{spelled('checkpoint_dir')}")
        if os.path.ismount(os.path.realpath(self.path)):
            raise UsageError(f"{self.path}: is a mount point, which {spelled('overwrite', True)} cannot swap for a "
                             f"new run folder; choose a folder inside it as {spelled('checkpoint_dir')}")
        self._staging = RunLock(staging_path(self.path)).acquire()

    def _refuse_others_files(self):
        """Refuse (UsageError) a folder that is neither empty nor this suite's: unless its config.json is one
        of ours (a run, or one stopped before its first save), it may hold only .gitkeep and folders that no
        run writes (e.g. checkpoints/sweep/); any other file may be another tool's, never to be replaced."""
        problem = file_problem(self.file(CONFIG_FILE)) if os.path.lexists(self.file(CONFIG_FILE)) else ""
        if problem is None:  # a regular file: opening it cannot block
            try:
                with open(self.file(CONFIG_FILE), encoding="utf-8") as handle:
                    config_from_dict(json.load(handle), CONFIG_FILE)
                return
            except (OSError, ValueError) as error:  # UsageError included: not a config of this suite
                problem = first_line(error, 100)
        problem = problem and f" ({problem})"
        others = sorted(name for name in os.listdir(self.path) if name not in KEPT_FILES + (LOCK_FILE,)
                        and not is_temporary(name)
                        and (not os.path.isdir(self.file(name)) or not _is_foreign(name)))
        if others:
            why = problem if CONFIG_FILE in others else ""
            raise UsageError(f"{self.path}: holds {listed(others, 4)}, not a run of this suite{why}; training there "
                             f"could replace them; choose an empty or new {spelled('checkpoint_dir')}")

    @_while_writing
    def commit(self, config, history, checkpoint):
        """Save one consistent state: config.json and history.csv first, then the checkpoint of the last
        history row, whose .index file appearing is the commit; then keep only the newest checkpoints."""
        import tensorflow as tf
        folder = self._staging.folder if self._staging else self.path
        text = io.StringIO()
        columns = history_columns(objective_of(config).metrics)
        writer = csv.DictWriter(text, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        # a resumed run's epochs from an older version lack the metrics its objective gained since: empty cells
        writer.writerows({name: row.get(name, "") for name in columns} for row in history)
        checkpoint.save_counter  # noqa: B018  (creates it: restore() expects it in the file, as save() writes it)
        try:
            atomic_write_text(os.path.join(folder, CONFIG_FILE), json.dumps(config.to_dict(), indent=1) + "\n")
            atomic_write_text(os.path.join(folder, HISTORY_FILE), text.getvalue())
            checkpoint.write(os.path.join(folder, f"ckpt-{history[-1]['epoch']}"))
        except (OSError, tf.errors.OpError) as error:
            reason = save_problem(error)
            kept = "the previous save is intact" if self.checkpoints() else "nothing was saved"
            raise UsageError(f"{self.path}: cannot save epoch {history[-1]['epoch']} ({reason}); {kept}") from None
        if self._staging:
            self._swap_in_staging()
        # Checkpoints newer than this one are unreadable ones that a resume fell back from.
        kept = {f"ckpt-{epoch}" for epoch, _ in
                [item for item in self.checkpoints() if item[0] <= history[-1]["epoch"]][:KEEP_CHECKPOINTS]}
        # The .index (sorted before .data) goes first: a checkpoint is never listed with its data gone.
        self._remove_entries(self.path, lambda name: _CHECKPOINT_FILE.match(name) is not None
                             and re.split(r"[._]", name)[0] not in kept, key=lambda name: ".index" not in name)

    def _swap_in_staging(self):
        """Move what is not the old run's across (e.g. checkpoints/sweep/), then swap the folders in one
        step and delete the old run (run.swap.swap_in)."""
        staging = self._staging.folder
        moved = list(filter(_is_foreign, os.listdir(self.path)))
        for name in moved:
            os.rename(self.file(name), os.path.join(staging, name))
        try:
            swap_in(staging, self.path)  # through a symlink: into its target
        except OSError as error:  # e.g. EBUSY: the run folder is a mount point
            for name in moved:
                os.rename(os.path.join(staging, name), self.file(name))
            raise UsageError(os_problem(error, self.path, "cannot swap the new run in") + "; the old run is "
                             "intact") from None
        self._lock.release()
        self._lock, self._staging = self._staging, None

    def _recover_staging(self):
        """Clear the staging folders of --overwrite runs killed before their swap (run.swap.stale_stagings):
        entries moved out of the run go back, the rest is deleted."""
        for staging in stale_stagings(self.path):
            for name in filter(_is_foreign, os.listdir(staging)):
                if not os.path.exists(self.file(name)):
                    os.rename(os.path.join(staging, name), self.file(name))
            shutil.rmtree(staging, ignore_errors=True)

    def _abandon_staging(self):
        if self._staging:
            shutil.rmtree(self._staging.folder, ignore_errors=True)
            self._staging.release()
            self._staging = None

    @staticmethod
    def _remove_entries(folder, select, keep=(), key=None):
        for name in sorted(os.listdir(folder), key=key):
            path = os.path.join(folder, name)
            if select(name) and name not in keep:
                shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)

    @_while_writing
    def write_report(self, text, given_rows=False):
        """Replace evaluation.json (given_rows: evaluation_rows.json, so that a report of other rows never
        replaces the held-out one) with text in one step; returns its path."""
        path = self.file(ROWS_REPORT_FILE if given_rows else REPORT_FILE)
        with os_errors(path, "cannot write"):
            atomic_write_text(path, text)
        return path

    @_while_writing
    def plot_path(self, name):
        """Where the run's plot `name` (e.g. history.png) goes, in its plots/ folder (made if needed)."""
        folder = self.file("plots")
        make_folder(folder, "cannot create")
        return os.path.join(folder, name)

    def check_output(self, path, inputs=(), replace=False):
        """Refuse (UsageError) an output path that is a file of this or any other run, or one of `inputs`
        (the data the run was trained or tested on, the rows given to after-training), or the truth or latents
        file of a data file (loading.check_not_side_file): writing would destroy it. Any other existing file is
        replaced only if `replace` (--overwrite), except this run's own outputs (prior_samples.npy, recon.npy,
        codes.npy), which a new output supersedes."""
        real = os.path.realpath(path)
        folder, name = os.path.split(real)
        own = folder == os.path.realpath(self.path)
        if (is_run_file(name) or name == DATA_FILE) and (own or RunFolder(folder).is_run()):
            raise UsageError(f"{path}: is {'this' if own else 'another'} run's own {name}; writing there would "
                             "destroy the run; choose another --output")
        loading.check_not_side_file(path)
        for source in filter(None, inputs):
            if real == os.path.realpath(source) or (os.path.exists(path) and os.path.exists(source)
                                                    and os.path.samefile(path, source)):
                raise UsageError(f"{path}: is {source}, which this run reads; writing there would destroy it; "
                                 "choose another --output")
        if os.path.exists(real) and not replace and not (own and os.path.splitext(name)[0] in SAMPLE_OUTPUTS):
            raise UsageError(f"{path}: exists; pass --overwrite to replace it, or choose another --output")

    def holds(self, path):
        """Whether path lies inside this run folder (writing there needs the run's lock)."""
        return os.path.realpath(path).startswith(os.path.realpath(self.path) + os.sep)


def run_folder(run):
    """The RunFolder of a path, or run itself if it is one: what functions taking "a run" accept."""
    return run if isinstance(run, RunFolder) else RunFolder(os.fspath(run))


def import_tensorflow(verbose=False):
    """Import TensorFlow with its C++ start-up log silenced unless verbose; returns the module.

    TF_CPP_MIN_LOG_LEVEL is not read by every library TensorFlow loads, so stderr is also muted while
    the import runs (and restored before any Python error could be shown). A Ctrl-C during the import,
    which TensorFlow's import would swallow, is raised once it ends; an import that fails (a library that
    cannot be mapped under a memory limit, a broken install) is a UsageError."""
    if verbose:
        return _import_keeping_interrupts()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    saved_stderr = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        tf = _import_keeping_interrupts()
    finally:
        os.dup2(saved_stderr, 2)
        os.close(saved_stderr)
        os.close(devnull)
    tf.get_logger().setLevel("ERROR")
    return tf


def _import_keeping_interrupts():
    """importlib.import_module("tensorflow") with SIGINT noted while it runs (in the main thread, where
    Python handles signals) and raised as KeyboardInterrupt after it. A SIGINT handler installed outside
    Python (an embedding program's), which Python could not put back, is left alone."""
    interrupts = []
    main = threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) is not None
    previous = signal.signal(signal.SIGINT, lambda number, frame: interrupts.append(number)) if main else None
    try:
        tf = importlib.import_module("tensorflow")
    except (ImportError, OSError) as error:
        raise UsageError(f"cannot load TensorFlow ({first_line(error)})") from None
    finally:
        if main:
            signal.signal(signal.SIGINT, previous)
    if interrupts:
        raise KeyboardInterrupt
    return tf


def build_model(config):
    """A fresh BetaVAE with the architecture and data standardisation recorded in config."""
    from betavae.model.vae import BetaVAE
    return BetaVAE(config.data_dim, config.latent_dim, config.hidden_units, list(config.data_shift),
                   list(config.data_scale), posterior=config.posterior, likelihood=config.likelihood,
                   components=config.components, flow_steps=config.flow_steps)


# The operating-system causes a failed save can have, which TensorFlow's errors quote in their text.
SAVE_CAUSES = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EISDIR, errno.EIO)


def save_problem(error):
    """The cause of a failed save: an OSError's reason, or the system's reason that a TensorFlow error's
    text quotes (a full disk: "No space left on device"), else that text's first line."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    text = str(error)
    cause = next((os.strerror(code) for code in SAVE_CAUSES if os.strerror(code).lower() in text.lower()), None)
    return cause or first_line(error, 120)


def restore_checkpoint(checkpoint, path, partial=False):
    """Restore a tf.train.Checkpoint, turning a mismatch (another architecture, a damaged file) into a
    one-line UsageError. partial: the file may hold more than checkpoint asks for (the optimizer)."""
    import tensorflow as tf
    try:
        status = checkpoint.restore(path)
        (status.expect_partial() if partial else status).assert_existing_objects_matched()
    except (AssertionError, ValueError, IndexError, KeyError, OSError, tf.errors.OpError) as error:
        raise UsageError(f"{path}: unreadable or does not match the model described by {CONFIG_FILE} "
                         f"({first_line(error, 200)})") from None
