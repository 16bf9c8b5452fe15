"""A flag given to a mode that does not use it is refused in one line naming the flag and the mode it belongs
to, before any work, and so is a training weight that the objective trained never reads; an empty path is
refused rather than taken for the flag left out; messages name the real cause (a full disk, a directory
where a file belongs, the flag at fault)."""
import errno
import os

import pytest

from betavae.commands import after_training as after_training_command
from betavae.commands import generate as generate_command
from betavae.commands import train as train_command
from betavae.run.folder import save_problem
from conftest import fingerprint
from test_run_cli import call

AFTER, TRAIN, GENERATE = after_training_command.main, train_command.main, generate_command.main



# (CLI, arguments with RUN/DATA/TMP placeholders, fragment of the one error line)
CASES = {
    "evaluate --output": (AFTER, ["--mode", "evaluate", "--output", "TMP/x.npy"],
                          "--output does nothing in --mode evaluate; it belongs to --mode prior and recon"),
    "evaluate --mean-only": (AFTER, ["--mode", "evaluate", "--mean-only"], "--mean-only does nothing in --mode evaluate"),
    "evaluate --overwrite": (AFTER, ["--mode", "evaluate", "--overwrite"], "--overwrite does nothing"),
    "prior --plots": (AFTER, ["--mode", "prior", "--plots"], "--plots does nothing in --mode prior; it belongs to "
                                                             "--mode evaluate"),
    "prior --rows": (AFTER, ["--mode", "prior", "--rows", "DATA"], "--rows does nothing in --mode prior"),
    "prior --iwae-samples": (AFTER, ["--mode", "prior", "--iwae-samples", 5], "--iwae-samples does nothing"),
    "recon --num-samples": (AFTER, ["--mode", "recon", "--num-samples", 5],
                            "--num-samples does nothing in --mode recon; it belongs to --mode prior and evaluate and "
                            "plot"),
    "plot --mean-only": (AFTER, ["--mode", "plot", "--mean-only"], "--mean-only does nothing in --mode plot"),
    "plot --output": (AFTER, ["--mode", "plot", "--output", "TMP/x.npy"], "--output does nothing in --mode plot"),
    "recon --data ''": (AFTER, ["--mode", "recon", "--data", ""], "--data: an empty path"),
    "prior --output ''": (AFTER, ["--mode", "prior", "--output", ""], "--output: an empty path"),
    "train --test-data ''": (TRAIN, ["--data", "DATA", "--test-data", "", "--checkpoint-dir", "TMP/new"],
                             "--test-data: an empty path"),
    "train --data ''": (TRAIN, ["--data", "", "--checkpoint-dir", "TMP/new"], "--data: an empty path"),
    "train --checkpoint-dir ''": (TRAIN, ["--data", "DATA", "--checkpoint-dir", ""], "--checkpoint-dir: an empty"),
    "train --data a folder": (TRAIN, ["--data", "TMP", "--checkpoint-dir", "TMP/new"], "is a directory"),
    "recon --data a folder": (AFTER, ["--mode", "recon", "--data", "TMP"], "is a directory"),
    "capacity --beta": (TRAIN, ["--data", "DATA", "--checkpoint-dir", "TMP/new", "--capacity", 5, "--beta", 4],
                        "--beta does nothing with the capacity objective; it is for the beta and tc objectives"),
    "capacity --kl-warmup-epochs": (TRAIN, ["--data", "DATA", "--checkpoint-dir", "TMP/new", "--capacity", 5,
                                            "--kl-warmup-epochs", 3], "--kl-warmup-epochs does nothing with the "
                                                                      "capacity objective"),
    "capacity --alpha": (TRAIN, ["--data", "DATA", "--checkpoint-dir", "TMP/new", "--objective", "capacity",
                                 "--capacity", 5, "--alpha", 0], "--alpha does nothing with the capacity objective; "
                                                                 "it is for the tc objective"),
    "beta --gamma": (TRAIN, ["--data", "DATA", "--checkpoint-dir", "TMP/new", "--gamma", 5],
                     "--gamma does nothing with the beta objective; it is for the capacity and tc objectives"),
    "beta --gamma at the capacity default": (TRAIN, ["--data", "DATA", "--checkpoint-dir", "TMP/new", "--gamma", 100],
                                             "--gamma does nothing with the beta objective"),
    "beta --capacity-epochs": (TRAIN, ["--data", "DATA", "--checkpoint-dir", "TMP/new", "--capacity-epochs", 0],
                               "--capacity-epochs does nothing with the beta objective"),
    "tc --capacity-epochs": (TRAIN, ["--data", "DATA", "--checkpoint-dir", "TMP/new", "--objective", "tc",
                                     "--capacity-epochs", 50], "--capacity-epochs does nothing with the tc objective"),
    "iwae --alpha": (TRAIN, ["--data", "DATA", "--checkpoint-dir", "TMP/new", "--objective", "iwae", "--alpha", 2],
                     "--alpha does nothing with the iwae objective"),
    "generate --seed -1": (GENERATE, ["generate", "--seed", -1, "--output", "TMP/g.npy"], "--seed must be an integer"),
    "generate --seed 2^32": (GENERATE, ["generate", "--seed", 2 ** 32, "--output", "TMP/g.npy"], "--seed"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_flag_that_would_do_nothing_is_refused(good, case, tmp_path, capsys):
    main, argv, fragment = CASES[case]
    folder, before = good
    if main is AFTER:
        argv = argv + ["--checkpoint-dir", "RUN"]
    arguments = [str(arg).replace("RUN", str(folder / "run")).replace("DATA", str(folder / "data.npy"))
                 .replace("TMP", str(tmp_path)) for arg in argv]
    status, stdout, stderr = call(main, arguments, capsys)
    lines = stderr.strip().splitlines()
    assert status == 2 and len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], stderr
    assert stdout == "" and fingerprint(folder / "run") == before and os.listdir(tmp_path) == []


@pytest.mark.parametrize("mode", after_training_command.MODES)
def test_every_flag_of_the_parser_is_in_the_table(mode):
    """A flag added to the parser must be given a place in MODE_FLAGS, or it would be refused in every mode."""
    parser = after_training_command.build_parser()
    known = {flag for flags in after_training_command.MODE_FLAGS.values() for flag in flags}
    dests = {action.dest for action in parser._actions} - {"help", "version", "mode", "checkpoint_dir", "verbose"}
    assert dests == known and set(after_training_command.MODE_FLAGS[mode]) <= dests


def test_flags_left_at_their_defaults_or_used_by_the_mode_pass(good, tmp_path, capsys):
    folder, _ = good
    status, stdout, stderr = call(AFTER, ["--mode", "prior", "--checkpoint-dir", folder / "run", "--num-samples", 7,
                                          "--mean-only", "--seed", 3, "--output", tmp_path / "p.npy"], capsys)
    assert status == 0 and "wrote 7 prior samples (decoder means)" in stdout, stderr


class FakeOpError(Exception):
    """What TensorFlow's SaveV2 raises on a full disk: the system's reason buried in its text."""


@pytest.mark.parametrize("error, cause", [
    (FakeOpError("{{function_node __wrapped__SaveV2_dtypes_9_device_/job:localhost}} ckpt-2_temp/part-0.data; "
                 "No space left on device [Op:SaveV2]"), "No space left on device"),
    (FakeOpError("{{function_node __wrapped__SaveV2}} /run/ckpt-2_temp; Read-only file system"),
     "Read-only file system"),
    (OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)), "No space left on device"),
    (FakeOpError("something else entirely\nsecond line"), "something else entirely"),
])
def test_a_failed_save_names_the_system_cause(error, cause):
    assert save_problem(error) == cause
