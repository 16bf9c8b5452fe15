"""--mode encode writes the codes E_q[z] of rows (the test rows by default), equal to the model's encoder."""
import numpy as np
import pytest

from betavae.commands import after_training as after_training_command
from betavae.data import loading
from betavae.data.run_rows import load_run_data
from betavae.run.folder import RunFolder
from conftest import committed_run, factor_data_array


def cli(capsys, *argv):
    """after-training's main in-process: (exit status, stdout, stderr)."""
    try:
        status = after_training_command.main([str(arg) for arg in argv])
    except SystemExit as exit_:  # argparse's own usage errors
        status = exit_.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A committed run of an untrained model (its encoder's weights are random, not zero) and its model."""
    folder = tmp_path_factory.mktemp("encode")
    np.save(folder / "data.npy", factor_data_array(200))
    committed_run(folder / "run", folder / "data.npy")
    model, config = RunFolder(str(folder / "run")).restore_model()
    return folder, model, config


def test_codes_of_the_test_rows_are_the_encoder_means(run, capsys):
    folder, model, config = run
    status, out, _ = cli(capsys, "--mode", "encode", "--checkpoint-dir", folder / "run")
    assert status == 0
    codes = np.load(folder / "run" / "codes.npy")
    test = load_run_data(config)[1]
    assert codes.shape == (len(test), config.latent_dim) == (20, 2)
    np.testing.assert_allclose(codes, model.encode(test)[0].numpy(), rtol=1e-5, atol=1e-6)
    assert out.strip() == f"wrote the codes E_q[z] of the held-out test rows (20 x 2) to {folder / 'run' / 'codes.npy'}"
    # The run's own codes.npy is an output a new one supersedes, without --overwrite.
    assert cli(capsys, "--mode", "encode", "--checkpoint-dir", folder / "run")[0] == 0


def test_with_scale_appends_the_log_scales_of_other_rows(run, capsys, tmp_path):
    folder, model, _ = run
    rows = factor_data_array(30, seed=8)
    np.save(tmp_path / "rows.npy", rows)
    output = tmp_path / "codes.csv"
    status, out, _ = cli(capsys, "--mode", "encode", "--checkpoint-dir", folder / "run",
                         "--rows", tmp_path / "rows.npy", "--with-scale", "--output", output)
    assert status == 0 and f"and log-scales of the rows of {tmp_path / 'rows.npy'} (30 x 4; none of them training rows)" in out
    table = loading.load_table(str(output))  # read back as a data file is: its header names the columns
    assert output.read_text().splitlines()[0] == "z1,z2,log_scale_z1,log_scale_z2"
    assert table.names == ("z1", "z2", "log_scale_z1", "log_scale_z2")
    codes = table.data
    assert codes.shape == (30, 4)
    mean, log_scale = model.encode(rows)
    np.testing.assert_allclose(codes, np.concatenate([mean, log_scale], axis=1), rtol=1e-5, atol=1e-5)
    means_only = tmp_path / "means.csv"
    assert cli(capsys, "--mode", "encode", "--checkpoint-dir", folder / "run", "--rows", tmp_path / "rows.npy",
               "--output", means_only)[0] == 0
    np.testing.assert_array_equal(loading.load_table(str(means_only)).data, codes[:, :2])
    assert means_only.read_text().splitlines()[0] == "z1,z2"


@pytest.mark.parametrize("flags, message", [
    (["--mode", "prior", "--with-scale"], "--with-scale does nothing in --mode prior; it belongs to --mode encode"),
    (["--mode", "encode", "--output", "RUN/config.json"], "is this run's own config.json"),
    (["--mode", "encode", "--output", "DATA"], "which this run reads"),
    (["--mode", "encode", "--output", "TMP/codes.bin"], "unknown output format"),
    (["--mode", "encode", "--output", "TMP/codes.npy"], "exists; pass --overwrite"),
])
def test_bad_flags_are_one_line_errors(run, capsys, tmp_path, flags, message):
    folder, _, _ = run
    (tmp_path / "codes.npy").write_bytes(b"keep")
    places = {"RUN": str(folder / "run"), "DATA": str(folder / "data.npy"), "TMP": str(tmp_path)}
    flags = [next((flag.replace(key, value) for key, value in places.items() if key in flag), flag)
             for flag in flags]
    status, _, err = cli(capsys, "--checkpoint-dir", folder / "run", *flags)
    assert status == 2 and err.count("\n") == 1 and message in err
    assert (tmp_path / "codes.npy").read_bytes() == b"keep"
