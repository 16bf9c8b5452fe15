"""The exported SavedModel, loaded by plain TensorFlow in a process that cannot import this project, gives
the CLI's numbers: sample(n, seed) equals `--mode prior` bit for bit, encode and decode equal the model's; its
serving signatures (sample, sample_seeded, encode, decode) give the same numbers, by TensorFlow 2's loader and by
the TensorFlow 1 style one of TensorFlow Serving. The export creates the folders above its output and refuses
every output folder whose replacement could destroy something, a user's file beside a SavedModel among them.

The TensorFlow-only process and the training it serves take over 20 s together: those tests are slow."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import betavae
from betavae.cli import UsageError
from betavae.commands import after_training as after_training_command
from betavae.commands import train as train_command
from betavae.serving import export_run
from betavae.model.inference import SAMPLING_CHUNK
from betavae.run.folder import RunFolder
from conftest import committed_run, factor_data_array

SEED = 11
COUNTS = (37, SAMPLING_CHUNK + 5)  # not a multiple of the chunk; more than one chunk

# Run by `python -I` in an empty folder: no PYTHONPATH, no user site, no current folder on sys.path.
SERVE = """
import importlib.util, json, sys
import numpy as np, tensorflow as tf
assert importlib.util.find_spec("betavae") is None and importlib.util.find_spec("beta_vae_models") is None
loaded = tf.saved_model.load(sys.argv[1])
x, z = np.load("x.npy"), np.load("z.npy")
out = {f"sample_{n}": loaded.sample(n, %(seed)d).numpy() for n in %(counts)r}
out["means"] = loaded.sample_means(37, %(seed)d).numpy()
out["x_mean"], out["x_log_scale"] = [t.numpy() for t in loaded.decode(z)]
out["z_mean"], out["z_log_scale"] = [t.numpy() for t in loaded.encode(x)]
out["config"] = np.array(loaded.config_json.numpy().decode())
np.savez("served.npz", **out)
""" % {"seed": SEED, "counts": COUNTS}


def cli(*argv):
    """after-training's main in-process; its exit status."""
    return after_training_command.main([str(arg) for arg in argv])


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A 1-epoch run trained in-process, its export, and what a TensorFlow-only process served from it."""
    folder = tmp_path_factory.mktemp("export")
    np.save(folder / "data.npy", factor_data_array(300))
    assert train_command.main(["--data", str(folder / "data.npy"), "--checkpoint-dir", str(folder / "run"),
                               "--epochs", "1", "--hidden-units", "8", "--latent-dim", "2", "--seed", "4"]) == 0
    export_run(folder / "run", folder / "saved")
    rng = np.random.default_rng(0)
    serve = folder / "empty"
    serve.mkdir()
    np.save(serve / "x.npy", factor_data_array(50, seed=9))
    np.save(serve / "z.npy", rng.standard_normal((50, 2)).astype(np.float32))
    result = subprocess.run([sys.executable, "-I", "-c", SERVE, str(folder / "saved")], cwd=serve,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return folder, dict(np.load(serve / "served.npz"))


@pytest.fixture(scope="module")
def committed(tmp_path_factory):
    """A committed run of an untrained model (no training: fast), for the checks of the output folder."""
    folder = tmp_path_factory.mktemp("committed")
    np.save(folder / "data.npy", factor_data_array(200))
    (folder / "empty").mkdir()
    committed_run(folder / "run", folder / "data.npy")
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("count", COUNTS)
def test_loaded_samples_equal_the_cli_prior(exported, count):
    folder, served = exported
    output = folder / f"prior_{count}.npy"
    assert cli("--mode", "prior", "--checkpoint-dir", folder / "run", "--num-samples", count, "--seed", SEED,
               "--output", output) == 0
    cli_samples = np.load(output)
    assert served[f"sample_{count}"].shape == (count, 4)
    np.testing.assert_array_equal(served[f"sample_{count}"], cli_samples)


@pytest.mark.slow
def test_loaded_sample_means_equal_the_cli_mean_only(exported):
    folder, served = exported
    output = folder / "means.npy"
    assert cli("--mode", "prior", "--checkpoint-dir", folder / "run", "--num-samples", 37, "--seed", SEED,
               "--mean-only", "--output", output) == 0
    np.testing.assert_array_equal(served["means"], np.load(output))


@pytest.mark.slow
def test_loaded_encode_and_decode_equal_the_model_in_data_units(exported):
    folder, served = exported
    model, _ = RunFolder(str(folder / "run")).restore_model()
    x, z = np.load(folder / "empty" / "x.npy"), np.load(folder / "empty" / "z.npy")
    for name, value in zip(("z_mean", "z_log_scale", "x_mean", "x_log_scale"), (*model.encode(x), *model.decode(z))):
        np.testing.assert_allclose(served[name], value.numpy(), rtol=1e-6, atol=1e-6, err_msg=name)
    # In data units: the decoder means sit near the data's mean of 50, not near 0.
    assert abs(served["x_mean"].mean() - 50) < 10


@pytest.mark.slow
def test_config_travels_with_the_export(exported):
    folder, served = exported
    config = json.loads(str(served["config"]))
    assert config == json.loads((folder / "run" / "config.json").read_text())
    assert (config["data_dim"], config["latent_dim"], config["beta"]) == (4, 2, 1.0)


def test_export_replaces_only_a_savedmodel(committed, tmp_path, capsys):
    folder = committed
    target = tmp_path / "model"
    assert cli("--mode", "export", "--checkpoint-dir", folder / "run", "--output", target) == 0
    assert capsys.readouterr().out.strip() == (f"wrote a SavedModel of {folder / 'run'} to {target}: "
                                               "sample(n, seed), encode(x), decode(z) in data units")
    assert cli("--mode", "export", "--checkpoint-dir", folder / "run", "--output", target) == 2
    assert "exists; pass --overwrite" in capsys.readouterr().err
    (target / "variables" / "variables.index").write_text("from the previous export")
    assert cli("--mode", "export", "--checkpoint-dir", folder / "run", "--output", target, "--overwrite") == 0
    assert (target / "saved_model.pb").is_file() and (target / "variables" / "variables.index").stat().st_size > 30
    assert sorted(os.listdir(tmp_path)) == ["model"]  # no temporary folder left beside it


@pytest.mark.parametrize("mine, named", [
    (["README.txt"], "README.txt"),
    (["notes/a.txt"], "notes"),
    (["variables/mine.txt"], "variables/mine.txt"),
    (["e", "d", "c", "b", "a"], "a, b, c, d and 1 more"),
])
def test_export_overwrite_refuses_a_savedmodel_beside_anything_else_and_keeps_it(committed, tmp_path, capsys,
                                                                                 mine, named):
    if not (committed / "saved").exists():  # one export for every case
        export_run(committed / "run", committed / "saved")
    target = tmp_path / "model"
    shutil.copytree(committed / "saved", target)
    for name in mine:
        (target / name).parent.mkdir(exist_ok=True)
        (target / name).write_text("mine")
    before = sorted(str(path.relative_to(target)) for path in target.rglob("*"))
    assert cli("--mode", "export", "--checkpoint-dir", committed / "run", "--output", target, "--overwrite") == 2
    assert capsys.readouterr().err == (f"error: {target}: holds {named} besides a SavedModel; --overwrite replaces "
                                       "only a folder holding a SavedModel and nothing else; move "
                                       f"{'it' if len(mine) == 1 else 'them'} out or choose another --output\n")
    assert sorted(str(path.relative_to(target)) for path in target.rglob("*")) == before
    assert all((target / name).read_text() == "mine" for name in mine)
    with pytest.raises(UsageError, match=f"holds {named} besides a SavedModel; overwrite=True replaces only"):
        betavae.export(committed / "run", target, overwrite=True)


def test_export_clears_the_staging_folders_of_killed_exports_only(committed, tmp_path, monkeypatch, capsys):
    dead, live = tmp_path / ".model.betavae-tmp-1111", tmp_path / ".model.betavae-tmp-2222"
    for staging in (dead, live):
        os.makedirs(staging / "variables")

    def kill(pid, signal_number):  # the pid check (files._alive) asks with signal 0: 2222 is running
        if pid != 2222:
            raise ProcessLookupError(pid)
    monkeypatch.setattr(os, "kill", kill)
    assert cli("--mode", "export", "--checkpoint-dir", committed / "run", "--output", tmp_path / "model") == 0
    assert sorted(os.listdir(tmp_path)) == [live.name, "model"] and (tmp_path / "model" / "saved_model.pb").is_file()


@pytest.mark.parametrize("where, overwrite, message", [
    ("data.npy", True, "holds the run's data"),
    ("run", True, "holds the run folder"),
    (".", True, "holds the run folder"),
    ("run/saved", False, "inside a run folder"),
    ("empty", True, "is not a SavedModel"),
    ("empty", False, "exists; pass --overwrite"),
    ("data.npy/saved", False, "cannot write there .* is not a folder"),
])
def test_export_refuses_output_folders_that_could_destroy_something(committed, where, overwrite, message):
    folder = committed
    before = sorted(os.listdir(folder)), sorted(os.listdir(folder / "run"))
    with pytest.raises(UsageError, match=message):
        export_run(folder / "run", folder / where, overwrite=overwrite)
    assert (sorted(os.listdir(folder)), sorted(os.listdir(folder / "run"))) == before


def test_export_needs_output_and_a_run(tmp_path, capsys):
    assert cli("--mode", "export", "--checkpoint-dir", tmp_path) == 2
    assert capsys.readouterr().err.strip() == ("error: --mode export needs --output DIR, the folder to write the "
                                               "SavedModel to")
    assert cli("--mode", "export", "--checkpoint-dir", tmp_path, "--output", tmp_path / "out") == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "no trained model here" in error


def test_an_interrupted_export_leaves_nothing_behind(committed, tmp_path, monkeypatch):
    import tensorflow as tf

    def fail_halfway(module, folder, signatures=None):
        os.makedirs(os.path.join(folder, "variables"))  # a half-written SavedModel
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tf.saved_model, "save", fail_halfway)
    with pytest.raises(UsageError, match="cannot write the SavedModel .No space left on device."):
        export_run(committed / "run", tmp_path / "model")
    assert os.listdir(tmp_path) == []


@pytest.fixture(scope="module")
def served(committed, tmp_path_factory):
    """The committed run exported into folders that do not exist yet, and loaded back by tf.saved_model.load."""
    import tensorflow as tf
    target = tmp_path_factory.mktemp("served") / "missing" / "parents" / "model"
    export_run(committed / "run", target)
    return target, tf.saved_model.load(str(target))


def test_the_signatures_give_the_functions_numbers_bit_for_bit(committed, served, tmp_path):
    import tensorflow as tf
    target, loaded = served
    assert set(loaded.signatures) == {"sample", "sample_seeded", "encode", "decode"}
    count = tf.constant(COUNTS[1], tf.int64)
    by_signature = loaded.signatures["sample"](n=count)["x"].numpy()  # the count alone: seed 0
    np.testing.assert_array_equal(by_signature, loaded.sample(count).numpy())
    np.testing.assert_array_equal(by_signature, loaded.sample(count, 0).numpy())
    assert cli("--mode", "prior", "--checkpoint-dir", committed / "run", "--num-samples", COUNTS[1], "--output",
               tmp_path / "prior.npy") == 0  # the CLI's default seed
    np.testing.assert_array_equal(by_signature, np.load(tmp_path / "prior.npy"))
    seeded = loaded.signatures["sample_seeded"](n=tf.constant(37, tf.int64), seed=tf.constant(SEED, tf.int64))["x"]
    np.testing.assert_array_equal(seeded.numpy(), loaded.sample(37, SEED).numpy())
    assert not np.array_equal(seeded.numpy(), by_signature[:37])
    model, _ = RunFolder(str(committed / "run")).restore_model()
    x = factor_data_array(50, seed=9)
    z = np.random.default_rng(0).standard_normal((50, 2)).astype(np.float32)
    for name, rows, function, keras_function in (("encode", x, loaded.encode, model.encode),
                                                 ("decode", z, loaded.decode, model.decode)):
        outputs = loaded.signatures[name](**{"encode": {"x": tf.constant(x)}, "decode": {"z": tf.constant(z)}}[name])
        assert sorted(outputs) == ["log_scale", "mean"]
        for key, value, by_function, by_keras in zip(("mean", "log_scale"), (outputs["mean"], outputs["log_scale"]),
                                                     function(rows), keras_function(rows)):
            np.testing.assert_array_equal(value.numpy(), by_function.numpy(), err_msg=f"{name} {key}")
            np.testing.assert_allclose(value.numpy(), by_keras.numpy(), rtol=1e-6, atol=1e-6, err_msg=f"{name} {key}")


def test_the_signatures_run_in_a_tensorflow_1_session_as_tensorflow_serving_runs_them(served):
    """TensorFlow Serving and saved_model_cli run load a SavedModel into a session, by its signature's tensor
    names: the variables must be found there, not only by tf.saved_model.load."""
    import tensorflow as tf
    target, loaded = served
    with tf.Graph().as_default(), tf.compat.v1.Session() as session:
        graph = tf.compat.v1.saved_model.loader.load(session, ["serve"], str(target))
        signature = graph.signature_def["sample_seeded"]
        feed = {signature.inputs["n"].name: 37, signature.inputs["seed"].name: SEED}
        samples = session.run(signature.outputs["x"].name, feed_dict=feed)
        encode = graph.signature_def["encode"]
        means = session.run(encode.outputs["mean"].name, feed_dict={encode.inputs["x"].name: factor_data_array(5)})
    np.testing.assert_array_equal(samples, loaded.sample(37, SEED).numpy())
    # The session's graph optimiser may fuse the encoder's operations otherwise: equal to float32's rounding.
    np.testing.assert_allclose(means, loaded.encode(factor_data_array(5))[0].numpy(), rtol=1e-6, atol=1e-7)


def test_an_export_that_fails_removes_the_parents_it_created(committed, tmp_path, monkeypatch):
    import tensorflow as tf

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tf.saved_model, "save", fail)
    (tmp_path / "kept").mkdir()
    with pytest.raises(UsageError, match="cannot write the SavedModel"):
        export_run(committed / "run", tmp_path / "kept" / "new" / "deeper" / "model")
    assert os.listdir(tmp_path) == ["kept"] and os.listdir(tmp_path / "kept") == []


def test_a_parent_that_cannot_be_made_undoes_the_parents_made_before_it(committed, tmp_path, monkeypatch):
    made, mkdir = [], os.mkdir

    def second_refused(path, *args, **kwargs):
        if made:
            raise PermissionError(13, "Permission denied", path)
        made.append(path)
        mkdir(path, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", second_refused)
    with pytest.raises(UsageError, match=r"cannot write the SavedModel \(Permission denied\)"):
        export_run(committed / "run", tmp_path / "first" / "second" / "model")
    assert made == [str(tmp_path / "first")] and os.listdir(tmp_path) == []
