"""SIGTERM (a scheduler's stop, `timeout`) stops a command as Ctrl-C does, through the one place that runs
every CLI (cli.run_cli): the temporary file of an output being written is removed, one line says what stopped
it, the exit status is 128 + the signal, and SIGTERM's handler is put back afterwards. A handler of the
caller's own is left alone. The signal is sent by the process to itself from inside the writer: in-process,
no long run."""
import os
import signal

import numpy as np
import pytest

from betavae import files
from betavae.cli import run_cli
from betavae.commands import after_training as after_training_command
from betavae.commands import generate as generate_command

STOPPED = {signal.SIGTERM: "stopped by SIGTERM", signal.SIGINT: "interrupted"}


def signal_on_first_chunk(monkeypatch, number):
    """Patch ArrayWriter.write so that the process signals itself as the first chunk is written (the temporary
    holds its header then)."""
    write, calls = files.ArrayWriter.write, []

    def signalling(writer, chunk):
        calls.append(len(chunk))
        if len(calls) == 1:
            os.kill(os.getpid(), number)
        write(writer, chunk)
    monkeypatch.setattr(files.ArrayWriter, "write", signalling)
    return calls


@pytest.mark.parametrize("number", sorted(STOPPED))
@pytest.mark.parametrize("mode, output", [("prior", "p.npy"), ("recon", "r.csv")])
def test_a_signal_mid_write_removes_the_temporary_and_says_so(good, tmp_path, capsys, monkeypatch, number, mode,
                                                              output):
    folder, _ = good
    calls = signal_on_first_chunk(monkeypatch, number)
    argv = ["--mode", mode, "--checkpoint-dir", str(folder / "run"), "--output", str(tmp_path / output)]
    if mode == "prior":
        argv += ["--num-samples", "30"]
    else:
        np.save(tmp_path / "rows.npy", np.load(folder / "data.npy")[:30])
        argv += ["--rows", str(tmp_path / "rows.npy")]
    status = after_training_command.main(argv)
    assert (status, capsys.readouterr().err) == (128 + number, STOPPED[number] + "\n")
    assert len(calls) == 1 and sorted(os.listdir(tmp_path)) == ([] if mode == "prior" else ["rows.npy"])
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_generate_stopped_by_sigterm_leaves_no_temporary(tmp_path, capsys, monkeypatch):
    save = generate_command.save_array

    def signalling(path, values):
        os.kill(os.getpid(), signal.SIGTERM)
        save(path, values)
    monkeypatch.setattr(generate_command, "save_array", signalling)
    status = generate_command.main(["generate", "--rows", "50", "--dim", "3", "--factors", "1",
                                    "--output", str(tmp_path / "g.npy")])
    assert (status, capsys.readouterr().err) == (143, "stopped by SIGTERM\n") and os.listdir(tmp_path) == []


def test_a_callers_own_sigterm_handler_is_kept(capsys):
    received = []
    previous = signal.signal(signal.SIGTERM, lambda number, frame: received.append(number))
    try:
        assert run_cli(lambda: os.kill(os.getpid(), signal.SIGTERM) or 0) == 0
        assert received == [signal.SIGTERM] and capsys.readouterr().err == ""
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_sigterm_is_left_to_its_default_when_the_caller_asks(capsys):
    seen = []
    assert run_cli(lambda: seen.append(signal.getsignal(signal.SIGTERM)) or 0, sigterm=False) == 0
    assert seen == [signal.SIG_DFL]
