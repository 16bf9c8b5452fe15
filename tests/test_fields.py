"""One specification per training field (betavae.fields): every hyper-parameter of RunConfig is a flag, every
flag's range check is its field's, and --resume and the sweep follow the table."""
import dataclasses

import numpy as np
import pytest

from betavae.cli import UsageError, flag_name
from betavae.commands.training_flags import build_parser
from betavae.training.flags import validate_flags
from betavae.config import RunConfig, config_from_dict
from betavae.fields import BY_NAME, FIELDS, FLAGS, NO_LEGACY, RESUME_OVERRIDES, SWEEP_SET_FLAGS
from betavae.commands.sweep import training_settings
from conftest import run_config_for

# What training records about the data and the code, rather than takes as a flag.
RECORDED_FACTS = {"schema_version", "data_sha256", "test_data_sha256", "data_dim", "train_rows", "test_rows",
                  "data_shift", "data_scale", "column_names", "compilation"}
# Flags that say where to write and how to run, not what the run is.
RUN_FLAGS = {"checkpoint_dir", "logdir", "resume", "overwrite", "verbose"}


@pytest.fixture
def config_json(tmp_path):
    np.save(tmp_path / "data.npy", np.random.default_rng(0).normal(size=(50, 3)).astype(np.float32))
    return run_config_for(tmp_path / "run", tmp_path / "data.npy").to_dict()


def parser_flags():
    return {action.dest: action for action in build_parser()._actions if action.option_strings}


def test_every_hyper_parameter_of_the_config_is_a_flag_and_every_other_flag_is_a_run_flag():
    config_fields = {item.name for item in dataclasses.fields(RunConfig)}
    flags = set(parser_flags()) - {"help", "version", "config"}  # --config: where settings come from
    assert config_fields - RECORDED_FACTS == flags - RUN_FLAGS
    assert not RECORDED_FACTS & flags and RECORDED_FACTS <= config_fields
    for name in flags:
        assert parser_flags()[name].option_strings == [flag_name(name)]


def flag_error(*argv):
    args = build_parser().parse_args(list(argv))
    with pytest.raises(UsageError) as error:
        validate_flags(args)
    return str(error.value)


def config_error(values):
    with pytest.raises(UsageError) as error:
        config_from_dict(values, "config.json")
    return str(error.value)


@pytest.mark.parametrize("name", [spec.name for spec in FLAGS if spec.check and not spec.choices])
def test_a_flag_and_config_json_refuse_an_out_of_range_value_with_the_same_phrase(name, config_json):
    flag_message = flag_error(flag_name(name), "-1")
    file_message = config_error({**config_json, name: -1})
    assert flag_message.startswith(f"{flag_name(name)} must ")
    assert file_message == f"config.json: field {name}{flag_message[len(flag_name(name)):]}"


def test_lr_minus_one_reads_alike_on_the_flag_and_in_config_json(config_json):
    assert flag_error("--lr", "-1") == "--lr must be a finite number > 0, got -1.0"
    assert config_error({**config_json, "lr": -1}) == "config.json: field lr must be a finite number > 0, got -1.0"


# What a choice needs of the other fields (an objective's own checks, betavae.objectives).
NEEDS = {("objective", "capacity"): {"capacity": 5.0}, ("objective", "iwae"): {"mc_samples": 8},
         ("iwae_gradient", "dreg"): {"objective": "iwae", "mc_samples": 8}}


@pytest.mark.parametrize("name", [spec.name for spec in FLAGS if spec.choices])
def test_the_flag_choices_are_exactly_what_config_json_accepts(name, config_json):
    assert tuple(parser_flags()[name].choices) == tuple(BY_NAME[name].choices)
    for choice in BY_NAME[name].choices:
        values = {**config_json, name: choice, **NEEDS.get((name, choice), {})}
        assert getattr(config_from_dict(values, "config.json"), name) == choice
    assert config_error({**config_json, name: "nope"}) == (f"config.json: field {name} must be one of "
                                                           f"{', '.join(BY_NAME[name].choices)}, got 'nope'")


def test_a_config_json_from_before_lr_schedule_loads_at_a_constant_rate(config_json):
    assert config_json["lr_schedule"] == "cosine"
    older = {name: value for name, value in config_json.items() if name != "lr_schedule"}
    assert config_from_dict(older, "config.json").lr_schedule == "constant"
    assert list(config_json) == [item.name for item in dataclasses.fields(RunConfig)]
    always = [name for name in config_json if BY_NAME[name].legacy is NO_LEGACY]  # fields every config.json has
    assert list(config_json).index("lr_schedule") > max(map(list(config_json).index, always))  # with the defaults


def test_resume_may_change_the_epochs_and_the_learning_rate_and_the_sweep_sets_its_own_flags():
    assert RESUME_OVERRIDES == ("epochs", "lr")
    assert set(SWEEP_SET_FLAGS) == {"beta", "seed", "epochs", "checkpoint_dir", "resume", "overwrite"}


@pytest.mark.parametrize("name", sorted(RUN_FLAGS | {spec.name for spec in FLAGS}))
def test_the_sweep_refuses_after_double_dash_exactly_the_flags_it_sets(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the checks look for a data file "1" (--data 1) or create a folder (--logdir 1)
    if name in ("data", "test_data"):
        (tmp_path / "1").write_text("1 2\n3 4\n")
    (tmp_path / "data").mkdir()  # the default --data, relative to the folder the sweep runs in
    np.save(tmp_path / "data" / "gaussian_10d.npy", np.zeros((4, 2)))
    spec = BY_NAME[name]
    value = next(iter(spec.choices)) if spec.choices else 1 if spec.default is None else spec.default  # valid
    argv = [spec.flag] if spec.kind is bool else [spec.flag, str(value)]
    if name in SWEEP_SET_FLAGS:
        with pytest.raises(UsageError, match=f"training flag {spec.flag} after --: the sweep sets it"):
            training_settings(argv)
    else:
        training_settings(argv)


def test_the_model_knows_every_choice_of_the_optimizer_and_the_schedule_and_refuses_others():
    from betavae.model.vae import LEARNING_RATE_SCHEDULES, OPTIMIZERS, make_optimizer, scheduled_learning_rate
    assert set(OPTIMIZERS) == set(BY_NAME["optimizer"].choices)
    assert set(LEARNING_RATE_SCHEDULES) == set(BY_NAME["lr_schedule"].choices)
    with pytest.raises(ValueError, match="^optimizer must be one of adam, sgd, got 'rmsprop'$"):
        make_optimizer("rmsprop", 1e-3)
    with pytest.raises(ValueError, match="^lr_schedule must be one of cosine, constant, got 'linear'$"):
        scheduled_learning_rate(0, 1e-3, 10, "linear")


def test_no_help_text_holds_an_unfilled_placeholder():
    """A help string joined from an f-string and a plain one keeps '{NAME}' literally in --help."""
    unfilled = [(spec.name, spec.help) for spec in FIELDS if spec.help and ("{" in spec.help or "}" in spec.help)]
    assert unfilled == []
