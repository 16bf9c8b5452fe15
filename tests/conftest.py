"""Shared fixtures: a quiet TensorFlow, small datasets and CLI runners (in a subprocess or in-process)."""
import contextlib
import hashlib
import io
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from betavae.xla_switch import XLA_SWITCH
from betavae.run.folder import import_tensorflow

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The suite's models are small and its runs short, so XLA's compilation (about 3 s of CPU per function) would
# be most of their time: the suite traces without XLA, in this process and the subprocesses it starts, except
# in test_xla.py, which checks the XLA-compiled path users run. BETAVAE_XLA=1 runs the whole suite with XLA.
os.environ.setdefault(XLA_SWITCH, "0")

import_tensorflow()


def pytest_addoption(parser):
    parser.addoption("--slow", action="store_true", help="also run the tests marked slow (CI=true does too)")


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: end-to-end runs of ten seconds to two minutes; run by CI and with --slow")


def pytest_collection_modifyitems(config, items):
    """Skip slow tests unless asked for (--slow) or on CI, keeping a local run under three minutes."""
    if config.getoption("--slow") or os.environ.get("CI") == "true":
        return
    skip = pytest.mark.skip(reason="slow: run with --slow (CI runs it)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def run_script(script, *args, timeout=300):
    """Run one of the suite's scripts in a subprocess; returns the CompletedProcess (text output)."""
    return subprocess.run([sys.executable, os.path.join(REPO, script), *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, cwd=REPO)


def run_main(main, *args):
    """Call a CLI's main(argv) in this process, from the repository's top level as run_script does, and return
    a CompletedProcess of its exit status and output: for tests about what a CLI does rather than about its
    process, without the second TensorFlow import a subprocess costs."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.chdir(REPO), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main([str(arg) for arg in args])
        except SystemExit as exit_:  # argparse's own usage errors
            status = exit_.code
    return subprocess.CompletedProcess(args, status, out.getvalue(), err.getvalue())


def pip_installed(tmp_path):
    """The package installed by pip, from a copy of the checkout (so that the build leaves nothing in it), into
    a fresh virtual environment under tmp_path with the system's site-packages (TensorFlow, numpy: nothing is
    downloaded); returns the environment's bin folder and the process environment to run it in (no
    PYTHONPATH, so that only the installed package is found)."""
    source = tmp_path / "source"
    shutil.copytree(os.path.join(REPO, "betavae"), source / "betavae", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(os.path.join(REPO, name), source / name)
    env = {name: value for name, value in os.environ.items() if name not in ("PYTHONPATH", "PYTHONHOME")}
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", tmp_path / "venv"], check=True)
    installed = subprocess.run([str(tmp_path / "venv" / "bin" / "python"), "-m", "pip", "install", "--no-deps",
                                "--no-build-isolation", "--quiet", str(source)],
                               capture_output=True, text=True, env=env, timeout=300)
    assert installed.returncode == 0, installed.stderr
    return tmp_path / "venv" / "bin", env


def factor_data_array(rows=600, seed=5):
    """Small 4-D, 1-factor data with an offset and scale far from standard (mean 50, scale 10)."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((rows, 1))
    return (50 + 10 * (z @ np.array([[1.0, 0.8, -0.6, 0.3]]) + 0.3 * rng.standard_normal((rows, 4)))) \
        .astype(np.float32)


def run_config_for(folder, data_file, *flags):
    """The RunConfig that `beta_vae_main.py --data data_file --checkpoint-dir folder --hidden-units 8 *flags`
    builds (no training)."""
    from betavae.data.run_rows import load_split
    from betavae.commands.training_flags import build_parser
    from betavae.training.setup import new_config
    args = build_parser().parse_args(["--data", str(data_file), "--checkpoint-dir", str(folder),
                                      "--hidden-units", "8", *map(str, flags)])
    train, test, names = load_split(args.data, args.test_data, args.test_fraction, args.seed, columns=args.columns)
    return new_config(args, train, test, names=names)


def committed_run(folder, data_file, epochs=2, flags=()):
    """A run of an untrained model committed after `epochs` epochs (made-up history), in-process and fast;
    flags: training flags of its config."""
    import tensorflow as tf
    from betavae.objectives import objective_of
    from betavae.run.folder import RunFolder, build_model, history_columns
    run, config = RunFolder(str(folder)), run_config_for(folder, data_file, *flags)
    checkpoint = tf.train.Checkpoint(model=build_model(config))
    metrics = objective_of(config).metrics
    with run.writing():
        run.begin(replace=False)
        # loss, kl, log_likelihood, then 0.5 for any metric of the objective's own
        history = [dict(zip(history_columns(metrics), (epoch, 5.0 / epoch, 1.0, -4.0,
                                                       *[0.5] * (len(metrics) - 3), 5.0, 0.1, 1.0, 0.0)))
                   for epoch in range(1, epochs + 1)]
        run.commit(config, history, checkpoint)
    return run


def fingerprint(folder):
    """The names and contents of every file of a run, to show that nothing was touched."""
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest()
            for name in sorted(os.listdir(folder)) if (folder / name).is_file() and name != ".lock"}


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """A committed run (2 epochs) of an untrained model on small 4-D data, and the fingerprint of its files."""
    folder = tmp_path_factory.mktemp("good")
    np.save(folder / "data.npy", factor_data_array(200))
    committed_run(folder / "run", folder / "data.npy")
    return folder, fingerprint(folder / "run")
