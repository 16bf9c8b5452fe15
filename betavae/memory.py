"""How much memory this process may still take, and the check that refuses, before any work, what cannot fit.

Plain Python (no numpy, no TensorFlow), so that a command can check before paying for a slow import.
"""
import os

from betavae.cli import UsageError


def available_memory():
    """Bytes of memory a new allocation can have now: the kernel's MemAvailable (free plus reclaimable
    cache), else the free pages; None where neither is known."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(needed, what):
    """Raise a UsageError, before any work, when `what` (e.g. "--rows 100000000000 x --dim 10") needs more
    memory than is available, with both numbers."""
    free = available_memory()
    if free is not None and needed > free:
        raise UsageError(f"{what} need about {needed / 1e9:.3g} GB of memory, but only {free / 1e9:.3g} GB are "
                         "available")
