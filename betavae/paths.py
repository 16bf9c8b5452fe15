"""What a path that a user or a run names is, when it is not a regular file to read: one wording for every
command (a directory, a FIFO or a device, a symlink loop or a broken symlink, nothing there), found with
os.stat before anything opens the path, since opening a FIFO waits for a writer for ever.

Plain Python (no numpy, no TensorFlow), so that a command can check its files before paying for a slow import.
"""
import errno
import os
import stat

from betavae.cli import UsageError

# The kinds of file that are not regular files nor directories, as a user would name them.
SPECIAL_KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                 (stat.S_ISSOCK, "a socket"))


def file_problem(path, expected="a file"):
    """None when path is (or links to) a regular file; else what it is instead, the words that follow
    "<path>: " in a message: "no such file", "is a directory, expected a data file" (expected names what
    was wanted), "is a FIFO, not a regular file", "is a symlink loop", "is a broken symlink (to x.csv)",
    or the system's reason it cannot be looked at ("cannot read (Permission denied)")."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return f"is a broken symlink (to {os.readlink(path)})" if os.path.islink(path) else "no such file"
    except OSError as error:
        if error.errno == errno.ELOOP:
            return "is a symlink loop"
        return f"cannot read ({error.strerror or error})"  # a folder above it unreadable, a name too long
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return f"is a directory, expected {expected}"
    kind = next((name for is_kind, name in SPECIAL_KINDS if is_kind(mode)), "a special file")
    return f"is {kind}, not a regular file"


def check_file(path, expected="a file", flag=None):
    """Raise a UsageError "<path>: <file_problem>" (after "<flag> " when a flag named the path, e.g.
    "training flag --data") unless path is a regular file that can be opened without waiting."""
    named = f"{flag} " if flag else ""
    if not path:
        raise UsageError(f"{named}an empty path was given, expected {expected}")
    problem = file_problem(path, expected)
    if problem:
        raise UsageError(f"{named}{path}: {problem}")
