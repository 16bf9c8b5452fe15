"""Objectives own what they mean (betavae.objectives): a toy objective registered here, with a metric of its
own, trains, resumes, prints its own epoch columns, records them in history.csv and is named by the
evaluation, with no other file touched; the checks between fields hold for flags and config.json alike; a
weight the objective never reads is refused as a flag (left at its default it passes) and loads from a
config.json that recorded it."""
import json
import os
import signal

import numpy as np
import pytest

from betavae import objectives
from betavae.commands import after_training as after_training_command
from betavae.commands import train as train_command
from betavae.commands.training_flags import build_parser
from betavae.model import objectives as losses
from betavae.training.flags import validate_flags
from conftest import committed_run, factor_data_array, run_main


class ToySpec(objectives.ObjectiveSpec):
    """beta * KL - E_q log p(x|z), reporting half the KL as a metric of its own, and refusing beta above 8."""
    name = "toy"
    metrics = (*objectives.BASE_METRICS, "half_kl")

    def problem(self, values, spell):
        return f"{spell('beta')} must be at most 8 for {spell('objective')} toy" if values.beta > 8 else None

    def describe(self, config):
        return f"toy: beta {config.beta:g} * KL - E_q log p(x|z), half the KL shown"

    def title(self, report):
        return f"the toy objective at beta {report['beta']:g}"


class ToyLoss(losses.BetaObjective):
    name = "toy"

    def batch_metrics(self, terms):
        return [*super().batch_metrics(terms), 0.5 * terms.kl_mean]


@pytest.fixture
def toy(monkeypatch):
    objectives.register(ToySpec())
    monkeypatch.setitem(losses.LOSSES, "toy", ToyLoss)
    yield
    objectives.OBJECTIVES.pop("toy")


def train(*argv):
    """The training CLI in this process (its signal handlers put back afterwards)."""
    handlers = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        return run_main(train_command.main, *argv)
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)


def test_a_registered_objective_trains_resumes_and_is_evaluated_with_its_own_metric(toy, tmp_path):
    np.save(tmp_path / "data.npy", factor_data_array(300))
    flags = ["--data", tmp_path / "data.npy", "--checkpoint-dir", tmp_path / "run", "--hidden-units", "8",
             "--objective", "toy", "--beta", "2"]
    first = train(*flags, "--epochs", "2")
    assert first.returncode == 0, first.stderr
    assert "toy: beta 2 * KL - E_q log p(x|z), half the KL shown" in first.stdout
    assert "half_kl" in next(line for line in first.stdout.splitlines() if line.lstrip().startswith("epoch"))
    resumed = train(*flags, "--epochs", "3", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    header, *rows = (tmp_path / "run" / "history.csv").read_text().splitlines()
    columns = header.split(",")
    assert columns[:5] == ["epoch", "loss", "kl", "log_likelihood", "half_kl"] and len(rows) == 3
    for row in rows:
        values = dict(zip(columns, map(float, row.split(","))))
        assert values["half_kl"] == pytest.approx(0.5 * values["kl"], rel=1e-5) and values["kl"] > 0
        assert values["loss"] == pytest.approx(2 * values["kl"] - values["log_likelihood"], rel=1e-5)
    assert json.loads((tmp_path / "run" / "config.json").read_text())["objective"] == "toy"
    evaluated = run_main(after_training_command.main, "--mode", "evaluate", "--checkpoint-dir", tmp_path / "run",
                         "--iwae-samples", "2", "--num-samples", "50")
    assert evaluated.returncode == 0, evaluated.stderr
    assert "the toy objective at beta 2" in " ".join(evaluated.stdout.split())  # the report wraps its lines
    assert json.loads((tmp_path / "run" / "evaluation.json").read_text())["objective"] == "toy"


def test_an_objectives_checks_hold_for_flags_and_for_config_json(toy, tmp_path):
    np.save(tmp_path / "data.npy", factor_data_array(300))
    flags = ["--data", tmp_path / "data.npy", "--hidden-units", "8", "--epochs", "1", "--objective", "toy"]
    refused = train(*flags, "--checkpoint-dir", tmp_path / "refused", "--beta", "9")
    assert refused.returncode == 2 and "--beta must be at most 8 for --objective toy" in refused.stderr
    assert not (tmp_path / "refused").exists()
    # Training itself is the test above's: a committed untrained run holds the config.json read here.
    committed_run(tmp_path / "run", tmp_path / "data.npy", flags=("--objective", "toy", "--beta", "3"))
    config = tmp_path / "run" / "config.json"
    config.write_text(config.read_text().replace('"beta": 3.0', '"beta": 9.0'))
    sampled = run_main(after_training_command.main, "--mode", "prior", "--checkpoint-dir", tmp_path / "run")
    assert sampled.returncode == 2
    assert "config.json: field beta must be at most 8 for field objective toy" in sampled.stderr


def test_a_hand_edited_iwae_config_with_a_kl_weight_is_refused(tmp_path):
    np.save(tmp_path / "data.npy", factor_data_array(300))
    committed_run(tmp_path / "run", tmp_path / "data.npy", flags=("--objective", "iwae"))
    config = tmp_path / "run" / "config.json"
    values = json.loads(config.read_text())
    config.write_text(json.dumps({**values, "beta": 4.0}))
    sampled = run_main(after_training_command.main, "--mode", "prior", "--checkpoint-dir", tmp_path / "run")
    assert sampled.returncode == 2 and "no KL weight: leave field beta at 1 (got 4)" in sampled.stderr


def test_the_defaults_each_objective_fills_are_its_own():
    assert objectives.OBJECTIVES["beta"].defaults() == {"gamma": 100.0, "mc_samples": 1}
    assert objectives.OBJECTIVES["tc"].defaults()["gamma"] == 1.0
    assert objectives.OBJECTIVES["iwae"].defaults()["mc_samples"] == objectives.IWAE_TRAINING_SAMPLES


def test_a_history_with_its_columns_reordered_or_renamed_is_damaged(tmp_path):
    from betavae.cli import UsageError
    np.save(tmp_path / "data.npy", factor_data_array(200))
    run = committed_run(tmp_path / "run", tmp_path / "data.npy", epochs=2)
    path = tmp_path / "run" / "history.csv"
    header, *rows = path.read_text().splitlines()
    assert [row["epoch"] for row in run.read_history()] == [1, 2]
    for other in (header.replace("loss,kl", "kl,loss"), header.replace("test_loss", "test"),
                  header.replace("log_likelihood,", "log_likelihood,half_kl,")):
        path.write_text("\n".join([other, *rows]) + "\n")
        with pytest.raises(UsageError, match="damaged"):
            run.read_history()
    widened = [",".join([*fields[:4], "0.5", *fields[4:]]) for fields in (row.split(",") for row in rows)]
    path.write_text("\n".join([header.replace("log_likelihood,", "log_likelihood,half_kl,"), *widened]) + "\n")
    assert [row["half_kl"] for row in run.read_history()] == [0.5, 0.5]


@pytest.mark.parametrize("flags", [[], ["--beta", "1", "--kl-warmup-epochs", "0", "--alpha", "1"],
                                   ["--capacity", "5", "--beta", "1", "--capacity-epochs", "100", "--gamma", "100"],
                                   ["--objective", "tc", "--beta", "3", "--kl-warmup-epochs", "2", "--alpha", "0",
                                    "--gamma", "4"],
                                   ["--objective", "iwae", "--capacity-epochs", "100", "--beta", "1"],
                                   ["--beta", "2", "--kl-warmup-epochs", "5"]])
def test_weights_left_at_their_defaults_or_read_by_the_objective_pass(flags):
    validate_flags(build_parser().parse_args(["--data", "x.npy", *flags]))


def test_a_resume_keeps_the_runs_settings_rather_than_refusing_the_flags_it_ignores():
    validate_flags(build_parser().parse_args(["--resume", "--gamma", "5", "--alpha", "2"]))


def test_a_config_json_that_recorded_an_unread_weight_still_loads(tmp_path):
    """Runs trained before the unread weights were refused recorded them; they still sample and resume."""
    np.save(tmp_path / "data.npy", factor_data_array(300))
    committed_run(tmp_path / "run", tmp_path / "data.npy", flags=("--capacity", "5"))
    config = tmp_path / "run" / "config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "beta": 4.0, "kl_warmup_epochs": 3,
                                  "alpha": 2.0}))
    sampled = run_main(after_training_command.main, "--mode", "prior", "--num-samples", "3", "--checkpoint-dir",
                       tmp_path / "run", "--output", tmp_path / "p.npy")
    assert sampled.returncode == 0 and sampled.stderr == "", sampled.stderr


def test_the_python_api_and_the_sweep_refuse_an_unread_weight_by_its_keyword(tmp_path):
    import betavae
    with pytest.raises(betavae.UsageError, match=r"^gamma does nothing with the beta objective; it is for the "
                                                 r"capacity and tc objectives$"):
        betavae.train(factor_data_array(30), checkpoint_dir=tmp_path / "new", gamma=5)
    np.save(tmp_path / "data.npy", factor_data_array(30))
    with pytest.raises(betavae.UsageError, match=r"^objective='capacity' has no KL weight to sweep: betas must be 1 "
                                                 r"\(got 4\)"):
        betavae.beta_sweep([1, 4], sweep_dir=tmp_path / "sweep", data=str(tmp_path / "data.npy"), capacity=5)
    assert os.listdir(tmp_path) == ["data.npy"]
