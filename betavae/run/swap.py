"""Folders replaced in one step, by --overwrite (a run folder) and by export (a SavedModel): the new version is
built at staging_path beside the target and put in place by swap_in; a staging folder left by a killed writer
is stale (stale_stagings) and cleared by the target's next writer. One temporary-name scheme for all of them:
files.temporary_path's, the one every atomic file writer uses.
"""
import ctypes
import errno
import glob
import os
import shutil

from betavae.files import TEMPORARY_MARK, is_stale, temporary_path

RENAME_EXCHANGE = 2
AT_FDCWD = -100


def exchange_folders(first, second):
    """Swap two folders of one file system in one step (Linux renameat2 RENAME_EXCHANGE): at no instant is
    either path missing or half-swapped. Where the call is missing, two renames with a moment between."""
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is not None:
        if renameat2(AT_FDCWD, os.fsencode(first), AT_FDCWD, os.fsencode(second), RENAME_EXCHANGE) == 0:
            return
        if ctypes.get_errno() not in (errno.ENOSYS, errno.EINVAL):
            raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()), first)
    parked = temporary_path(second + "-old")
    os.rename(second, parked)
    os.rename(first, second)
    os.rename(parked, first)


def staging_path(target):
    """Where a new version of the folder target is built before swap_in: beside it (beside what it links to),
    hidden and named after it and this process (files.temporary_path), so that one a killed writer left is
    known as stale."""
    return temporary_path(os.path.realpath(target))


def stale_stagings(target):
    """The staging folders of target (staging_path of any process) whose writer is gone, by name:
    what the next writer of target clears. A live writer's is never among them."""
    folder, name = os.path.split(os.path.realpath(target))
    pattern = os.path.join(glob.escape(folder), f".{glob.escape(name)}{TEMPORARY_MARK}*")
    return sorted(path for path in glob.glob(pattern) if os.path.isdir(path) and is_stale(os.path.basename(path)))


def swap_in(staging, target):
    """Put the folder staging in target's place in one step (exchange_folders if target exists, else a
    rename), then delete what target held. An OSError (the system refused the swap) leaves both as they
    were."""
    real = os.path.realpath(target)
    if not os.path.lexists(real):
        os.rename(staging, real)
        return
    exchange_folders(staging, real)
    shutil.rmtree(staging, ignore_errors=True)  # the old version; a part left behind is stale once we end
