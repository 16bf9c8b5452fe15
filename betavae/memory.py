"""How much memory this process may still take, and the check that refuses, before any work, what cannot fit:
the smallest of the machine's available memory, the room left under the process's address-space limit
(`ulimit -v`) and under its control group's memory limit (a container's or a job scheduler's), since
whichever is smallest ends the work that does not fit, with a traceback or a kill instead of one line.

Plain Python (no numpy, no TensorFlow), so that a command can check before paying for a slow import.
"""
import os
import resource

from betavae.cli import UsageError

CGROUP_ROOT = "/sys/fs/cgroup"
# (limit file, usage file) of a cgroup v2 folder and of a v1 memory controller's folder. v2 writes "no limit" as
# "max"; v1 as the largest page-aligned signed 64-bit number, so anything above UNLIMITED_V1 is none.
CGROUP_FILES = {"v2": ("memory.max", "memory.current"), "v1": ("memory.limit_in_bytes", "memory.usage_in_bytes")}
UNLIMITED_V1 = 2 ** 62


def read_system_file(path):
    """The text of a small kernel file (/proc, /sys), stripped; None where it cannot be read."""
    try:
        with open(path, encoding="ascii") as handle:
            return handle.read().strip()
    except (OSError, ValueError):
        return None


def machine_available():
    """Bytes of memory a new allocation can have on this machine: the kernel's MemAvailable (free plus
    reclaimable cache), else the free pages; None where neither is known."""
    for line in (read_system_file("/proc/meminfo") or "").splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def address_space_room(process_maps=0):
    """Bytes of address space this process may still map under its soft RLIMIT_AS (`ulimit -v`): the limit
    less the larger of what it maps now (VmSize) and process_maps, what it will map anyway (e.g. TensorFlow's
    libraries, threads and allocator); None when there is no such limit."""
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    mapped = next((int(line.split()[1]) * 1024 for line in (read_system_file("/proc/self/status") or "").splitlines()
                   if line.startswith("VmSize:")), 0)
    return max(soft - max(mapped, process_maps), 0)


def cgroup_room():
    """Bytes this process's control group (v2, or v1's memory controller) and each group above it may still
    take: the smallest of limit less usage over them; None when none of them has a limit."""
    rooms = []
    for line in (read_system_file("/proc/self/cgroup") or "").splitlines():
        _, controllers, path = line.split(":", 2)
        version = "v2" if controllers == "" else "v1" if "memory" in controllers.split(",") else None
        if version is None:
            continue
        base = CGROUP_ROOT if version == "v2" else os.path.join(CGROUP_ROOT, "memory")
        limit_file, usage_file = CGROUP_FILES[version]
        folder = os.path.normpath(os.path.join(base, path.lstrip("/")))
        while True:  # a group's limit bounds every group inside it
            limit, usage = (read_system_file(os.path.join(folder, name)) for name in (limit_file, usage_file))
            if limit and limit.isdigit() and int(limit) < UNLIMITED_V1:
                rooms.append(max(int(limit) - int(usage if usage and usage.isdigit() else 0), 0))
            if len(folder) <= len(base):
                break
            folder = os.path.dirname(folder)
    return min(rooms, default=None)


def available_memory(process_maps=0):
    """(bytes, where) of the smallest of the limits on this process's next allocations that are known (see
    the module's docstring), `where` saying which limit it is; None where none is known. process_maps: see
    address_space_room."""
    limits = [(room, where) for room, where in ((machine_available(), "available on this machine"),
                                                (address_space_room(process_maps), "left under this process's "
                                                                                   "address-space limit (ulimit -v)"),
                                                (cgroup_room(), "left under its control group's memory limit"))
              if room is not None]
    return min(limits, default=None)


def check_memory(needed, what, process_maps=0):
    """Raise a UsageError, before any work, when `what` (e.g. "--rows 100000000000 x --dim 10") needs more
    memory than this process may take (available_memory; process_maps: see address_space_room), with both
    numbers and the limit at fault."""
    limit = available_memory(process_maps)
    if limit is not None and needed > limit[0]:
        raise UsageError(f"{what} need about {needed / 1e9:.3g} GB of memory, but only {limit[0] / 1e9:.3g} GB are "
                         f"{limit[1]}")
