"""One error format for every CLI of the suite: `error: <what>` on one line of stderr, exit status 2.

Plain Python (no numpy, no TensorFlow), so that any script, data_processing.py's included, can check its
flags with it before paying for a slow import.
"""
import argparse
import contextlib
import difflib
import os
import signal
import sys
import threading

from betavae.version import package_version
from betavae.xla_switch import xla_enabled

# np.random.seed (called by tf.keras.utils.set_random_seed) accepts exactly this range; the split and the
# stateless noise keys accept it too.
SEED_MIN, SEED_MAX = 0, 2 ** 32 - 1


class UsageError(ValueError):
    """A mistake in the flags or files a user gave, reported as one line with exit status 2."""


class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """--help shows each flag's default once: not when its help already says it, nor for a required flag, a
    switch or a None default, where "(default: None)" would tell the reader nothing."""

    def _get_help_string(self, action):
        help_text = action.help or ""
        unset = action.default is None or action.default is False or action.default == argparse.SUPPRESS
        if action.required or not action.option_strings or unset or "default" in help_text.lower():
            return help_text
        return super()._get_help_string(action)


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr (exit status 2), like every other user error;
    its --help uses DefaultsHelpFormatter unless told otherwise, and --version prints the package's version."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", DefaultsHelpFormatter)
        super().__init__(*args, **kwargs)
        self.add_argument("--version", action="version", version=f"betavae {package_version()}",
                          help="print the version of betavae and exit")

    def error(self, message):
        print(f"error: {message}{self.suggestion(message)} (see --help)", file=sys.stderr)
        sys.exit(2)

    def suggestion(self, message):
        """'; did you mean --latent-dim?' for an unrecognized flag that is one of this parser's with
        underscores for dashes, or close to one in spelling; else ''."""
        if not message.startswith("unrecognized arguments: "):
            return ""
        options = [option for option in self._option_string_actions if option.startswith("--")]
        for token in message.split(": ", 1)[1].split():
            flag = token.split("=", 1)[0]
            if not flag.startswith("--"):
                continue
            dashed = flag[:2] + flag[2:].replace("_", "-")
            close = [dashed] if dashed in options else difflib.get_close_matches(dashed, options, n=1, cutoff=0.8)
            if close:
                return f"; did you mean {close[0]}?"
        return ""


def flag_name(name):
    """The command-line spelling of a setting: batch_size -> --batch-size."""
    return "--" + name.replace("_", "-")


def check_minimum(args, names, minimum, spell=flag_name):
    """Raise a UsageError naming the first of the settings `names` whose value is below `minimum`; spell: how
    the message spells a setting's name (default: as a flag)."""
    for name in names:
        if getattr(args, name) < minimum:
            raise UsageError(f"{spell(name)} must be at least {minimum}, got {getattr(args, name)}")


def check_seed(seed, flag="--seed"):
    """Raise a UsageError unless seed lies in the range every random generator of the suite accepts."""
    if not SEED_MIN <= seed <= SEED_MAX:
        raise UsageError(f"{flag} must be an integer from {SEED_MIN} to {SEED_MAX}, got {seed}")


def warn(message):
    """Tell the user about damage a command went on past (a file it could not use, a part of its output it
    left out): `warning: <message>` on one line of stderr, where every command of the suite says it, apart
    from its results on stdout."""
    print(f"warning: {message}", file=sys.stderr, flush=True)


def first_line(error, limit=None):
    """The first line of an exception's message, or its type's name when the message is empty: what a one-line
    report quotes of an error raised by code the suite calls (TensorFlow, Ray, a worker, numpy). limit: its
    most characters; a longer line is cut after a whole word, before any parenthesis the cut would leave open,
    and ends in "...", so that the quote still reads inside the report's own parentheses."""
    line = (str(error).strip().splitlines() or [type(error).__name__])[0]
    if limit is None or len(line) <= limit:
        return line
    kept = line[:limit - 2]
    kept = kept[:kept.rindex(" ")] if " " in kept else kept[:-1]
    while kept.count("(") > kept.count(")"):
        kept = kept[:kept.rindex("(")]
    return kept.rstrip(" ,;:.") + "..."


def os_problem(error, path=None, doing=None):
    """One line for an operating-system error: the path it concerns (`path`, else the error's own: not the
    name of a temporary file the user never chose), what was being done and the system's reason, e.g.
    "run/config.json: cannot read (Is a directory)"."""
    where = path if path is not None else error.filename
    reason = error.strerror or str(error) or type(error).__name__
    text = f"{doing} ({reason})" if doing else reason
    return f"{where}: {text}" if where is not None else text


@contextlib.contextmanager
def os_errors(path=None, doing=None):
    """Turn an OSError raised in the block (permission denied, a directory where a file belongs, a full disk,
    a busy mount point) into a one-line UsageError (os_problem): the edges of run-folder and data I/O use it."""
    try:
        yield
    except OSError as error:
        raise UsageError(os_problem(error, path, doing)) from None


class Terminated(KeyboardInterrupt):
    """SIGTERM (a scheduler's stop, `timeout`, `kill`), raised where the command is as Ctrl-C raises
    KeyboardInterrupt, so that every cleanup that runs on Ctrl-C (a temporary output removed, a lock
    released) runs on it too."""


def _raise_terminated(_number, _frame):
    raise Terminated()


@contextlib.contextmanager
def _sigterm_as_interrupt(wanted):
    """Within the block, SIGTERM raises Terminated: when wanted, in the main thread (where Python runs signal
    handlers), and only over the default handler, so that a caller's own (training's save-and-stop, the
    sweep driver's) keeps its meaning."""
    install = (wanted and threading.current_thread() is threading.main_thread()
               and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL)
    if install:
        signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        if install:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _check_environment():
    """A bad BETAVAE_XLA as a UsageError, before the command does any work."""
    try:
        xla_enabled()
    except ValueError as error:
        raise UsageError(str(error)) from None


def run_cli(body, sigterm=True):
    """Run a CLI body; report user errors as one line on stderr with exit status 2 instead of a traceback.
    Ctrl-C and SIGTERM stop it alike, its writers cleaning up, with one line and exit status 128 + the
    signal. sigterm False: leave SIGTERM's default (a sweep's worker process, which its pool ends with it)."""
    try:
        with _sigterm_as_interrupt(sigterm):
            _check_environment()
            return body()
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Terminated:
        print("stopped by SIGTERM", file=sys.stderr)
        return 128 + signal.SIGTERM
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 128 + signal.SIGINT
    except BrokenPipeError:  # the reader of stdout went away (e.g. `| head`): nothing more to say to it
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + 13  # as a process ended by SIGPIPE
    except MemoryError as error:  # an allocation the memory checks did not foresee (numpy's names its size)
        print(f"error: out of memory ({first_line(error)}); free memory, raise the process's limit (ulimit -v), "
              "or ask for less", file=sys.stderr)
        return 2
    except OSError as error:  # one an edge did not name with os_errors: still one line, naming its path
        print(f"error: {os_problem(error)}", file=sys.stderr)
        return 2
