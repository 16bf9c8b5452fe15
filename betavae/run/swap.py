"""Folders replaced in one step: the atomic swap of two folders."""
import ctypes
import errno
import os

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
    parked = second + ".swap"
    os.rename(second, parked)
    os.rename(first, second)
    os.rename(parked, first)
