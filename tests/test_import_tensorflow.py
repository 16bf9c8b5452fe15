"""Loading TensorFlow (run.folder.import_tensorflow): a Ctrl-C during its import, which TensorFlow's import
swallows, still stops the command once the import ends; an import that fails is one line, not a traceback.
The import is simulated by patching importlib.import_module, the signal by sending SIGINT to this process."""
import os
import signal
import types

import pytest

from betavae.cli import UsageError
from betavae.run import folder


def test_a_ctrl_c_during_the_import_is_raised_after_it(monkeypatch):
    handler = signal.getsignal(signal.SIGINT)
    imported = []

    def interrupted_import(name):
        os.kill(os.getpid(), signal.SIGINT)  # delivered to the handler in place while the import runs
        imported.append(name)
        return types.SimpleNamespace(__name__=name)

    monkeypatch.setattr(folder.importlib, "import_module", interrupted_import)
    with pytest.raises(KeyboardInterrupt):
        folder.import_tensorflow(verbose=True)
    assert imported == ["tensorflow"] and signal.getsignal(signal.SIGINT) is handler


def test_an_import_without_a_signal_returns_the_module(monkeypatch):
    module = types.SimpleNamespace(__name__="tensorflow")
    monkeypatch.setattr(folder.importlib, "import_module", lambda name: module)
    assert folder.import_tensorflow(verbose=True) is module


@pytest.mark.parametrize("error", [ImportError("libtensorflow_cc.so.2: failed to map segment from shared object"),
                                   OSError(12, "Cannot allocate memory")])
def test_a_failed_import_is_one_line(monkeypatch, error):
    def failing_import(name):
        raise error

    monkeypatch.setattr(folder.importlib, "import_module", failing_import)
    stderr = os.fstat(2)
    with pytest.raises(UsageError, match=r"^cannot load TensorFlow \((libtensorflow_cc.so.2: failed to map|.*"
                                         r"Cannot allocate memory)"):
        folder.import_tensorflow()
    assert (os.fstat(2).st_dev, os.fstat(2).st_ino) == (stderr.st_dev, stderr.st_ino)  # not left on /dev/null


def test_a_handler_installed_outside_python_is_left_in_place(monkeypatch):
    """signal.getsignal gives None for a handler Python did not install (an embedding's): signal.signal could
    not put it back, so the import must not replace it."""
    installed = []
    monkeypatch.setattr(folder.signal, "getsignal", lambda number: None)
    monkeypatch.setattr(folder.signal, "signal", lambda number, handler: installed.append(handler))
    module = types.SimpleNamespace(__name__="tensorflow")
    monkeypatch.setattr(folder.importlib, "import_module", lambda name: module)
    assert folder.import_tensorflow(verbose=True) is module and installed == []
