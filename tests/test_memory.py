"""The memory check sees every limit on the process, not only the machine's free memory: the address-space limit
(ulimit -v) and the control group's, v2 or v1, at its own level or one above; the smallest one decides, and the
refusal names it. The kernel's files and getrlimit are patched, so no real limit is needed but in the one
subprocess test."""
import resource
import subprocess
import sys

import numpy as np
import pytest

from betavae import memory
from betavae.cli import UsageError
from conftest import REPO

GB = 10 ** 9
MEMINFO = "MemTotal:       32000000 kB\nMemAvailable:   20000000 kB\n"  # 20.48 GB available


@pytest.fixture
def system(monkeypatch):
    """Patch the kernel's files (a dict path -> text; a missing path reads as None) and RLIMIT_AS (no limit
    until a test sets one); returns (files, limits)."""
    files = {"/proc/meminfo": MEMINFO, "/proc/self/status": "Name: python\nVmSize:\t  1000000 kB\n"}
    limits = {"as": (resource.RLIM_INFINITY, resource.RLIM_INFINITY)}
    monkeypatch.setattr(memory, "read_system_file", lambda path: files.get(path))
    monkeypatch.setattr(resource, "getrlimit",
                        lambda which: limits["as"] if which == resource.RLIMIT_AS else (-1, -1))
    return files, limits


def test_without_a_limit_the_machines_available_memory_decides(system):
    assert memory.available_memory() == (20_480_000_000, "available on this machine")


def test_an_address_space_limit_counts_what_the_process_maps_already(system):
    _, limits = system
    limits["as"] = (6 * GB, resource.RLIM_INFINITY)  # the soft limit decides, not the hard one
    room, where = memory.available_memory()
    assert room == 6 * GB - 1_024_000_000 and "ulimit -v" in where
    # what the process will map anyway (TensorFlow's) counts when it is more than what it maps now
    assert memory.available_memory(process_maps=4 * GB)[0] == 2 * GB
    with pytest.raises(UsageError, match=r"--rows 5 need about 5.5 GB of memory, but only 4.98 GB are left under "
                                         r"this process's address-space limit \(ulimit -v\)"):
        memory.check_memory(5_500_000_000, "--rows 5")


def test_a_cgroup_v2_limit_less_its_usage_decides(system):
    files, _ = system
    files["/proc/self/cgroup"] = "0::/user.slice/job-7\n"
    files["/sys/fs/cgroup/user.slice/job-7/memory.max"] = "3000000000"
    files["/sys/fs/cgroup/user.slice/job-7/memory.current"] = "1250000000"
    assert memory.available_memory() == (1_750_000_000, "left under its control group's memory limit")


def test_a_limit_of_a_group_above_bounds_the_groups_inside(system):
    files, _ = system
    files["/proc/self/cgroup"] = "0::/user.slice/job-7\n"
    files["/sys/fs/cgroup/user.slice/job-7/memory.max"] = "max"  # no limit of its own
    files["/sys/fs/cgroup/user.slice/memory.max"] = "900000000"
    files["/sys/fs/cgroup/user.slice/memory.current"] = "100000000"
    assert memory.cgroup_room() == 800_000_000


def test_a_cgroup_v1_memory_controller_is_read_and_its_no_limit_ignored(system):
    files, _ = system
    files["/proc/self/cgroup"] = "5:devices:/job\n4:cpuacct,memory:/job\n0::/\n"
    files["/sys/fs/cgroup/memory/job/memory.limit_in_bytes"] = "2147483648"
    files["/sys/fs/cgroup/memory/job/memory.usage_in_bytes"] = "147483648"
    files["/sys/fs/cgroup/memory/memory.limit_in_bytes"] = "9223372036854771712"  # v1's "no limit"
    assert memory.cgroup_room() == 2_000_000_000
    files["/sys/fs/cgroup/memory/job/memory.limit_in_bytes"] = "9223372036854771712"
    assert memory.cgroup_room() is None


def test_the_smallest_limit_decides_whichever_it_is(system):
    files, limits = system
    limits["as"] = (3 * GB, 3 * GB)
    files["/proc/self/cgroup"] = "0::/\n"
    files["/sys/fs/cgroup/memory.max"], files["/sys/fs/cgroup/memory.current"] = "1500000000", "700000000"
    assert memory.available_memory() == (800_000_000, "left under its control group's memory limit")
    files["/proc/self/status"] = "VmSize:\t  2500000 kB\n"  # now 0.44 GB left under ulimit -v
    assert memory.available_memory() == (440_000_000, "left under this process's address-space limit (ulimit -v)")


def test_training_checks_against_the_address_space_limit_with_tensorflows_share(system):
    from types import SimpleNamespace

    from betavae.training.setup import TRAINING_ADDRESS_SPACE, check_training_memory
    _, limits = system
    small = SimpleNamespace(hidden_units=8, data_dim=4, latent_dim=2, batch_size=100, test_rows=50, mc_samples=1,
                            iwae_gradient="plain", posterior="diagonal_gaussian", components=2)
    limits["as"] = (TRAINING_ADDRESS_SPACE + GB, resource.RLIM_INFINITY)
    check_training_memory(small)  # a tiny model fits in the 1 GB beside TensorFlow's share
    limits["as"] = (TRAINING_ADDRESS_SPACE + 1000, resource.RLIM_INFINITY)
    with pytest.raises(UsageError, match=r"--hidden-units 8, .* GB are left under this process's address-space"):
        check_training_memory(small)


def test_generate_under_a_real_ulimit_is_one_line(tmp_path):
    limit_kb = 3_000_000
    command = f"ulimit -v {limit_kb}; exec {sys.executable} data_processing.py generate --rows 50000000 " \
              f"--output {tmp_path / 'big.npy'}"
    process = subprocess.run(["bash", "-c", command], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert process.returncode == 2 and "Traceback" not in process.stderr, process.stderr
    assert process.stderr.startswith("error: --rows 50000000 x --dim 10 need about 16.8 GB of memory, but only ")
    assert process.stderr.rstrip().endswith("GB are left under this process's address-space limit (ulimit -v)")
    assert list(tmp_path.iterdir()) == []


def test_a_flow_posterior_counts_its_head_and_its_steps_activations(monkeypatch):
    """A flow adds its coupling weights to the head and its steps' floats (forward and back) to each draw; the
    layout by hand for a 3-d latent: step 1 keeps 1 coordinate and moves 2 (8 + 8 + 16 + 2 + 16 + 2 = 52
    units), step 2 keeps 2 and moves 1 (16 + 8 + 8 + 1 + 8 + 1 = 42)."""
    from types import SimpleNamespace

    from betavae.model.flow_layout import coupling_activations, coupling_units
    from betavae.training import setup
    assert coupling_units(3, 2) == 52 + 42 and coupling_activations(2, 1) == 2 * (8 * (1 + 1 + 2) + 3 + 4)
    needed = []
    monkeypatch.setattr(setup, "check_memory", lambda count, *args, **kwargs: needed.append(count))
    settings = dict(hidden_units=8, data_dim=5, latent_dim=3, batch_size=100, test_rows=50, mc_samples=2,
                    iwae_gradient="plain", components=2, flow_steps=2)
    for posterior in ("diagonal_gaussian", "flow"):
        setup.check_training_memory(SimpleNamespace(**settings, posterior=posterior))
    assert needed[1] - needed[0] == 4 * (4 * 8 * 94 + 3 * 200 * coupling_activations(3, 2))


def test_an_allocation_no_check_foresaw_is_one_line_not_a_traceback(capsys):
    """The checks estimate; numpy's own MemoryError (as under a small ulimit -v) still ends in one line."""
    from betavae.cli import run_cli

    def allocate():
        return np.empty((10 ** 7, 10 ** 6))  # 72.8 TiB: numpy's own MemoryError, nothing allocated

    assert run_cli(allocate) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: out of memory (Unable to allocate 72.8 TiB for an array with shape (10000000, 1000000) and data "
        "type float64); free memory, raise the process's limit (ulimit -v), or ask for less"]
