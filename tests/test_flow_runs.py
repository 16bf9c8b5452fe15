"""--posterior flow from the command line and the Python API: a tiny run trains, resumes, evaluates, encodes
and exports (the SavedModel's sample is --mode prior's, its encode the model's parameters); what the flow
cannot do is refused in one line, as is a posterior family's size given to another family; old config.json
files load. The runs compile TensorFlow graphs for about a minute: those tests are slow (the unit tests of
tests/test_flow_posterior.py are their fast twins)."""
import json

import numpy as np
import pytest
import tensorflow as tf

import betavae
from betavae.commands import after_training, train
from betavae.commands.training_flags import build_parser
from betavae.config import config_from_dict
from betavae.model.flow import coupling_units
from betavae.training.flags import validate_flags
from conftest import factor_data_array, run_main
from test_fields import config_json, config_error, flag_error  # noqa: F401  (config_json: a fixture)


@pytest.mark.parametrize("flags, message", [
    (["--posterior", "flow", "--latent-dim", "1"], "--posterior flow needs --latent-dim 2 or more (got 1): each "
                                                   "coupling step keeps one part of z and moves the other"),
    (["--posterior", "flow", "--objective", "tc"], "--objective tc needs a posterior that factorises over the "
                                                   "latent dimensions; --posterior flow does not"),
    (["--posterior", "flow", "--flow-steps", "0"], "--flow-steps must be at least 1, got 0"),
    (["--posterior", "flow", "--components", "3"], "--components does nothing with the flow posterior; it is for "
                                                   "the mixture posterior"),
    (["--flow-steps", "3"], "--flow-steps does nothing with the diagonal_gaussian posterior; it is for the flow "
                            "posterior"),
    (["--posterior", "mixture", "--flow-steps", "2"], "--flow-steps does nothing with the mixture posterior; it is "
                                                      "for the flow posterior"),
    (["--components", "4"], "--components does nothing with the diagonal_gaussian posterior; it is for the mixture "
                            "posterior"),
])
def test_what_the_flow_cannot_do_and_sizes_of_another_family_are_refused_in_one_line(flags, message, tmp_path):
    result = run_main(train.main, *flags, "--checkpoint-dir", str(tmp_path / "run"))
    assert result.returncode == 2 and result.stderr == f"error: {message}\n", result.stderr
    assert not (tmp_path / "run").exists()


def test_sizes_left_at_their_defaults_pass_and_a_resumed_run_is_not_refused_for_them():
    validate_flags(build_parser().parse_args(["--posterior", "flow", "--components", "2", "--flow-steps", "2"]))
    validate_flags(build_parser().parse_args(["--posterior", "mixture", "--flow-steps", "4", "--components", "3"]))
    validate_flags(build_parser().parse_args(["--objective", "iwae", "--iwae-gradient", "dreg", "--posterior", "flow"]))
    validate_flags(build_parser().parse_args(["--resume", "--flow-steps", "3"]))  # config.json's settings rule
    assert flag_error("--posterior", "flow", "--flow-steps", "3", "--components", "5") == (
        "--components does nothing with the flow posterior; it is for the mixture posterior")


def test_an_old_config_json_loads_with_4_steps_and_one_of_a_1d_flow_is_refused(config_json):  # noqa: F811
    older = {name: value for name, value in config_json.items() if name != "flow_steps"}
    assert config_from_dict(older, "config.json").flow_steps == 4
    recorded = {**config_json, "flow_steps": 7, "components": 5}  # recorded by a run of the default posterior
    assert (config_from_dict(recorded, "config.json").flow_steps, config_from_dict(recorded, "config.json").components) \
        == (7, 5)
    assert config_error({**config_json, "posterior": "flow", "latent_dim": 1}) == (
        "config.json: field posterior flow needs field latent_dim 2 or more (got 1): each coupling step keeps one "
        "part of z and moves the other")


def cli(*argv):
    """after training's main in-process; its exit status."""
    return after_training.main([str(arg) for arg in argv])


@pytest.mark.slow
def test_a_flow_run_trains_resumes_evaluates_encodes_and_exports(tmp_path, capsys):
    np.save(tmp_path / "data.npy", factor_data_array(120))
    run = tmp_path / "run"
    flags = ["--data", tmp_path / "data.npy", "--checkpoint-dir", run, "--hidden-units", "8", "--latent-dim", "3",
             "--posterior", "flow", "--flow-steps", "3", "--batch-size", "50"]
    assert train.main([str(flag) for flag in flags + ["--epochs", "2"]]) == 0
    assert "q(z|x) a diagonal Gaussian through 3 affine coupling steps" in capsys.readouterr().out
    assert train.main([str(flag) for flag in flags + ["--epochs", "3", "--resume"]]) == 0
    config = json.loads((run / "config.json").read_text())
    assert (config["posterior"], config["flow_steps"], config["components"]) == ("flow", 3, 2)
    assert len((run / "history.csv").read_text().splitlines()) == 1 + 3
    assert cli("--mode", "evaluate", "--checkpoint-dir", run, "--iwae-samples", 20) == 0
    report = json.loads((run / "evaluation.json").read_text())
    assert np.isfinite(report["test_elbo"]) and report["test_elbo"] <= -report["test_nll_iwae"] + 0.5
    assert report["gap_decomposition"] is None and report["folded_posterior"]["rows"] == 12
    assert "only bound its approximation gap from above" in report["unavailable"]["gap_decomposition"]
    assert cli("--mode", "encode", "--with-scale", "--checkpoint-dir", run, "--output", tmp_path / "codes.csv") == 0
    header = (tmp_path / "codes.csv").read_text().splitlines()[0].split(",")
    assert header[:6] == ["base_mean_z1", "base_mean_z2", "base_mean_z3", "base_log_scale_z1", "base_log_scale_z2",
                          "base_log_scale_z3"] and len(header) == 6 + coupling_units(3, 3)
    assert cli("--mode", "encode", "--checkpoint-dir", run, "--output", tmp_path / "means.npy") == 0
    assert np.load(tmp_path / "means.npy").shape == (12, 3)
    assert cli("--mode", "prior", "--checkpoint-dir", run, "--num-samples", 37, "--seed", 5, "--output",
               tmp_path / "prior.npy") == 0
    loaded = tf.saved_model.load(betavae.load_run(run).export(tmp_path / "saved"))
    np.testing.assert_array_equal(loaded.sample(37, 5).numpy(), np.load(tmp_path / "prior.npy"))
    rows = factor_data_array(7, seed=3)
    served = [value.numpy() for value in loaded.encode(rows)]
    expected = betavae.load_run(run).encode(rows)
    assert len(served) == 3 and all(np.allclose(a, b, atol=1e-5) for a, b in zip(served, expected))


@pytest.mark.slow
def test_the_python_api_trains_a_flow_with_dreg_and_refuses_a_1d_one(tmp_path):
    run = betavae.train(factor_data_array(60), checkpoint_dir=tmp_path / "run", posterior="flow", flow_steps=2,
                        objective="iwae", iwae_gradient="dreg", mc_samples=4, epochs=2, hidden_units=8)
    assert run.config.flow_steps == 2 and [part.shape[1] for part in run.encode()] == [2, 2, coupling_units(2, 2)]
    with pytest.raises(betavae.UsageError, match=r"^posterior flow needs latent_dim 2 or more \(got 1\)"):
        betavae.train(factor_data_array(60), checkpoint_dir=tmp_path / "other", posterior="flow", latent_dim=1)
    with pytest.raises(betavae.UsageError, match=r"^flow_steps does nothing with the diagonal_gaussian posterior"):
        betavae.train(factor_data_array(60), checkpoint_dir=tmp_path / "other", flow_steps=2)
    assert not (tmp_path / "other").exists()
