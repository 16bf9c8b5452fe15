"""Settings from a file (--config FILE, betavae.train(config=...)): a TOML file's values are the flags' values,
checked by the same fields, under any flags given; a finished run's config.json seeds a new run; a bad file is
one line naming the file, the key and its line, with exit status 2. The sweep reads its options from a [sweep]
table and every run's training settings from the top level."""
import json
import os

import numpy as np
import pytest

import betavae
from betavae.commands import sweep as sweep_command
from betavae.commands import train as train_command
from betavae.commands.training_flags import build_parser, given_flags, with_settings_file
from betavae.training.settings_file import read_settings_file, training_values
from conftest import committed_run, factor_data_array, run_main


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "data.npy"
    np.save(path, factor_data_array(200))
    return path


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


def settings(*argv):
    """The training settings of a command line (flags over its --config file), as betavae train reads them,
    and the names given by either."""
    parser = build_parser()
    args = parser.parse_args(list(map(str, argv)))
    given = with_settings_file(args, given_flags(parser, list(map(str, argv))))
    return args, given


def test_the_files_value_is_used_where_no_flag_is_given_and_a_flag_wins(tmp_path):
    path = write(tmp_path / "run.toml", 'beta = 4\nlatent_dim = 3\nlr_schedule = "constant"\n')
    args, given = settings("--config", path)
    assert (args.beta, args.latent_dim, args.lr_schedule, args.epochs) == (4.0, 3, "constant", 200)
    assert type(args.beta) is float and given == {"beta", "latent_dim", "lr_schedule"}
    assert not hasattr(args, "config")  # where settings come from is no setting
    args, given = settings("--latent-dim", 5, "--config", path, "--beta", "0.5")
    assert (args.beta, args.latent_dim, args.lr_schedule) == (0.5, 5, "constant")


def test_keys_in_another_order_give_the_same_settings(tmp_path):
    one = write(tmp_path / "a.toml", 'beta = 2.5\nseed = 7\noptimizer = "sgd"\n')
    other = write(tmp_path / "b.toml", 'optimizer = "sgd"\nseed = 7\nbeta = 2.5\n')
    assert vars(settings("--config", one)[0]) == vars(settings("--config", other)[0])


@pytest.mark.parametrize("text, message", [
    ("beta = 1\nbogus = 3\n", "line 2: unknown setting 'bogus'; expected one of alpha, batch_size, beta,"),
    ("latnet_dim = 3\n", "line 1: unknown setting 'latnet_dim'; did you mean latent_dim?"),
    ("\n\nlatent-dim = 3\n", "line 3: latent-dim: write latent_dim"),
    ('beta = "4"\n', "line 1: beta = '4': expected a number"),
    ("epochs = 2.5\n", "line 1: epochs = 2.5: expected int"),
    ("epochs = true\n", "line 1: epochs = True: expected int"),
    ("streaming = 1\n", "line 1: streaming = 1: expected True or False"),
    ("beta = -1.0\n", "line 1: beta must be a finite number >= 0, got -1.0"),
    ("batch_size = -5\n", "line 1: batch_size must be at least 1, got -5"),
    ('optimizer = "lbfgs"\n', "line 1: optimizer = 'lbfgs': expected one of 'adam', 'sgd'"),
    ("beta = 1\nbeta = 2\n", "line 2, column 9: not valid TOML (Cannot overwrite a value)"),
    ("beta = \n", "line 1, column 8: not valid TOML (Invalid value)"),
    ("[training]\nbeta = 2\n", "unknown setting 'training'"),
    ("data_dim = 3\n", "line 1: data_dim: recorded by training in a run's config.json, not a setting"),
    ("resume = true\n", "line 1: resume: not read from a file; give --resume where the run is started"),
    ("sweep = 3\n", "line 1: sweep: expected a table [sweep]"),
    ("", "an empty file; expected settings such as beta = 4.0"),
    ("# nothing yet\n", "holds no settings"),
])
def test_a_bad_toml_file_is_one_line_naming_file_line_and_key_with_status_2(text, message, tmp_path):
    path = write(tmp_path / "run.toml", text)
    result = run_main(train_command.main, "--config", path, "--checkpoint-dir", tmp_path / "run")
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"error: {path}: {message}") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr and not os.path.exists(tmp_path / "run")


@pytest.mark.parametrize("name, make, message", [
    ("missing.toml", None, "no such file"),
    ("folder.toml", lambda path: path.mkdir(), "is a directory"),
    ("broken.json", lambda path: path.write_text('{"beta": 1,\n "seed": }\n'), "line 2, column 10: not valid JSON"),
    ("twice.json", lambda path: path.write_text('{"beta": 1, "beta": 2}\n'), "beta is given twice"),
    ("list.json", lambda path: path.write_text('[1, 2]\n'), "expected an object of settings, got list"),
    ("latin.toml", lambda path: path.write_bytes(b"data = '\xe9'\n"), "not UTF-8 text"),
])
def test_a_file_that_cannot_be_read_is_one_line_with_status_2(name, make, message, tmp_path):
    path = tmp_path / name
    if make:
        make(path)
    result = run_main(train_command.main, "--config", path)
    assert result.returncode == 2 and result.stderr.startswith(f"error: {path}: ") and message in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr


def test_the_api_takes_a_file_under_its_keywords_and_names_keywords_in_its_errors(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path / "run.toml", 'objective = "iwae"\nbeta = 2.0\n')
    with pytest.raises(betavae.UsageError, match=r"leave beta at 1 \(got 2\)"):  # the file's values, as keywords
        betavae.train(np.zeros((9, 2)), config=path)
    with pytest.raises(betavae.UsageError, match="resume: not read from a file; give resume=True where"):
        betavae.train(None, config=write(tmp_path / "bad.toml", "resume = true\n"))
    with pytest.raises(betavae.UsageError, match=r"leave beta at 1 \(got 3\)"):  # a keyword wins over the file
        betavae.train(np.zeros((9, 2)), config=path, beta=3)
    with pytest.raises(betavae.UsageError, match="config=3: expected a path"):
        betavae.train(np.zeros((9, 2)), config=3)
    assert not os.path.exists(tmp_path / "checkpoints")


def test_resume_weighs_a_files_settings_as_it_weighs_the_same_flags(data_file, tmp_path):
    run = committed_run(tmp_path / "run", data_file)  # beta 1, 2 epochs done
    path = write(tmp_path / "resume.toml", "beta = 3.0\nepochs = 2\nlatent_dim = 2\n")
    by_file = run_main(train_command.main, "--resume", "--checkpoint-dir", run.path, "--config", path)
    by_flags = run_main(train_command.main, "--resume", "--checkpoint-dir", run.path, "--beta", "3.0", "--epochs",
                        "2", "--latent-dim", "2")
    assert by_file.returncode == 0 and (by_file.stdout, by_file.stderr) == (by_flags.stdout, by_flags.stderr)
    assert "ignoring --beta 3.0 (the run has 1.0)" in by_file.stderr and "nothing to train" in by_file.stdout
    lower = write(tmp_path / "lower.toml", "epochs = 1\n")  # --resume refuses it from a file as from the flag
    by_file = run_main(train_command.main, "--resume", "--checkpoint-dir", run.path, "--config", lower)
    by_flags = run_main(train_command.main, "--resume", "--checkpoint-dir", run.path, "--epochs", "1")
    assert by_file.returncode == by_flags.returncode == 2 and by_file.stderr == by_flags.stderr


def test_a_runs_config_json_seeds_a_run_and_a_file_trains_what_the_same_flags_train(data_file, tmp_path):
    flags = ["--data", data_file, "--epochs", 1, "--hidden-units", 8, "--batch-size", 60, "--beta", 2.5,
             "--lr-schedule", "constant", "--seed", 3]
    assert run_main(train_command.main, *flags, "--checkpoint-dir", tmp_path / "flags").returncode == 0
    expected = (tmp_path / "flags" / "config.json").read_text()
    # the keys in another order, one of them (seed) overridden by its flag
    toml = write(tmp_path / "run.toml", f'seed = 9\nlr_schedule = "constant"\nbeta = 2.5\nbatch_size = 60\n'
                                        f'hidden_units = 8\nepochs = 1\ndata = "{data_file}"\n')
    by_file = run_main(train_command.main, "--config", toml, "--seed", 3, "--checkpoint-dir", tmp_path / "file")
    assert by_file.returncode == 0, by_file.stderr
    assert (tmp_path / "file" / "config.json").read_text() == expected
    # a finished run's config.json: its facts (data_dim, data_sha256, ...) and the gamma the beta objective
    # filled in are no settings
    seeded = run_main(train_command.main, "--config", tmp_path / "flags" / "config.json", "--checkpoint-dir",
                      tmp_path / "seeded")
    assert seeded.returncode == 0, seeded.stderr
    assert (tmp_path / "seeded" / "config.json").read_text() == expected
    run = betavae.train(None, config=toml, seed=3, checkpoint_dir=tmp_path / "api", quiet=True)
    assert (tmp_path / "api" / "config.json").read_text() == expected and run.config.seed == 3


def test_a_config_json_written_by_hand_with_a_recorded_fact_or_an_action_is_refused_or_ignored(tmp_path):
    recorded = {"schema_version": 1, "data_dim": 3, "beta": 2.0, "gamma": 100.0, "mc_samples": 1}
    values = training_values(read_settings_file(write(tmp_path / "config.json", json.dumps(recorded))))
    assert values == {"beta": 2.0}  # the facts ignored, the beta objective's filled-in gamma and mc_samples too
    values = training_values(read_settings_file(write(tmp_path / "tc.json", '{"objective": "tc", "gamma": 3.0}')))
    assert values == {"objective": "tc", "gamma": 3.0}  # a gamma the objective did not fill in was chosen
    with pytest.raises(betavae.UsageError, match=r"line 1: overwrite: not read from a file"):
        training_values(read_settings_file(write(tmp_path / "o.json", '{"overwrite": true}')))


SWEEP_TOML = """latent_dim = 1
hidden_units = 8

[sweep]
betas = "0.5,2"
seeds = "0,1"
epochs = 3
sweep_dir = "{sweep_dir}"
"""


def sweep_listing(*argv):
    result = run_main(sweep_command.main, *argv)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_the_sweep_reads_its_options_from_a_sweep_table_under_its_flags(data_file, tmp_path):
    path = write(tmp_path / "sweep.toml", SWEEP_TOML.format(sweep_dir=tmp_path / "s"))
    listing = sweep_listing("--config", path, "--list", "--", "--data", data_file)
    assert len(listing) == 4 and "beta 0.5" in listing[0] and "seed 1" in listing[1]
    assert str(tmp_path / "s") in listing[0]
    listing = sweep_listing("--config", path, "--seeds", "5", "--list", "--", "--data", data_file)
    assert len(listing) == 2 and "seed 5" in listing[0]
    arrays = write(tmp_path / "arrays.toml", SWEEP_TOML.format(sweep_dir=tmp_path / "s")
                   .replace('"0.5,2"', "[0.5, 2, 8]").replace('"0,1"', "[3]"))
    listing = sweep_listing("--config", arrays, "--list", "--", "--data", data_file)
    assert len(listing) == 3 and "beta 8 " in listing[2] and "seed 3 " in listing[2]
    assert not os.path.exists(tmp_path / "s")  # --list records and trains nothing


def test_the_sweeps_file_gives_every_runs_training_settings_under_the_flags_after_double_dash(data_file, tmp_path):
    parser = sweep_command.build_parser()
    path = write(tmp_path / "sweep.toml", SWEEP_TOML.format(sweep_dir=tmp_path / "s"))
    args = parser.parse_args(["--config", path, "--epochs", "7"])
    from_file = sweep_command.with_settings_file(parser, args, ["--config", path, "--epochs", "7"])
    assert (args.betas, args.seeds, args.epochs) == ("0.5,2", "0,1", 7) and not hasattr(args, "config")
    training = sweep_command.training_settings(["--hidden-units", "16"], from_file)
    assert (training.latent_dim, training.hidden_units, training.beta, training.epochs) == (1, 16, 1.0, 200)
    # a run's config.json: its beta, seed and epochs are that run's, set by the sweep for each of its runs
    run = committed_run(tmp_path / "run", data_file, flags=["--beta", "4", "--seed", "2", "--latent-dim", "1"])
    args = parser.parse_args(["--config", run.file("config.json")])
    training = sweep_command.training_settings([], sweep_command.with_settings_file(parser, args, []))
    assert (training.latent_dim, training.hidden_units, training.beta, training.seed) == (1, 8, 1.0, 0)


@pytest.mark.parametrize("text, argv, message", [
    ("beta = 2\n", [], "line 1: beta: the sweep sets it for each run (set betas, seeds, epochs and sweep_dir"),
    ("[sweep]\nlist = true\n", [], "line 2: list: not read from a file; give --list where the sweep is started"),
    ("[sweep]\njobs = 0.5\n", [], "line 2: jobs = 0.5: expected int"),
    ("[sweep]\nengine = 'slurm'\n", [], "line 2: engine = 'slurm': expected one of 'local', 'ray'"),
    ("seed = 1\n[sweep]\nsede = 1\n", [], "line 1: seed: the sweep sets it"),
    ("[sweep]\nsede = 1\n", [], "line 2: unknown setting 'sede'; did you mean seeds?"),
    ("[sweep]\nbetas = [1, true]\n", [], "line 2: --betas '1,True': expected comma-separated numbers"),
    ("[sweep]\nseeds = [0, 1.5]\n", [], "line 2: --seeds '0,1.5': expected comma-separated integers"),
    ("beta = 1\n[sweep]\nbeta = 2\n", [], "line 1: beta: the sweep sets it"),
    ("latent_dim = 2\n", ["--", "--config", "x.toml"], "training flag --config after --: give the file before --"),
])
def test_a_bad_sweep_file_is_one_line_with_status_2(text, argv, message, tmp_path):
    path = write(tmp_path / "sweep.toml", text)
    result = run_main(sweep_command.main, "--config", path, "--sweep-dir", tmp_path / "s", *argv)
    assert result.returncode == 2 and message in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert not os.path.exists(tmp_path / "s")


def test_a_sweep_folder_resumed_with_a_file_that_changed_a_setting_is_refused_as_the_flag_would_be(tmp_path,
                                                                                                 monkeypatch):
    from betavae.sweep.recorded import check_training_unchanged
    monkeypatch.chdir(tmp_path)
    parser = sweep_command.build_parser()

    def training(text):
        path = write(tmp_path / "sweep.toml", text)
        args = parser.parse_args(["--config", path])
        return sweep_command.training_settings([], sweep_command.with_settings_file(parser, args, []))

    check_training_unchanged("s", training("latent_dim = 3\n"), ["--config", "sweep.toml"])
    check_training_unchanged("s", training("latent_dim = 3\n"), ["--config", "sweep.toml"])  # the same meaning
    check_training_unchanged("s", sweep_command.training_settings(["--latent-dim", "3"]), ["--latent-dim", "3"])
    with pytest.raises(betavae.UsageError, match="they differ in --latent-dim"):
        check_training_unchanged("s", training("latent_dim = 4\n"), ["--config", "sweep.toml"])
