"""The sweep: its plan (folders, seeds, refused flags, what a run still needs), its plots, and end to end
on tiny data with the local and the Ray engine."""
import csv
import hashlib
import json
import os
import sys

import numpy as np
import pytest

from betavae.commands import sweep as sweep_command
from betavae.sweep import engines
from betavae.run.folder import UsageError
from betavae.sweep.plan import (SweepRun, beta_name, format_table, needs, parse_betas, parse_seeds, plan_runs,
                                 sweep_row, table_columns, write_table)
from betavae.sweep.progress import EpochRecorder, latest_epoch, progress_line
from betavae.sweep.recorded import check_training_unchanged
from betavae.plots.sweep import beta_ticks, over_seeds, plain_number, plot_sweep
from betavae.scoring.sections import plot_labels
from betavae.scoring.evaluate import REPORT_KEYS
from betavae.commands.training_flags import build_parser
from conftest import factor_data_array, run_script

TINY = ["--epochs", "2", "--iwae-samples", "10"]


def tiny_training(data):
    return ["--", "--data", str(data), "--batch-size", "100", "--hidden-units", "8"]


def test_betas_that_differ_get_different_folders_and_one_number_twice_is_refused():
    assert beta_name(4.0) == "4" and beta_name(0.25) == "0.25" and beta_name(0.0) == "0"
    close = parse_betas("1e-9,1.0000000001e-9")
    assert len({beta_name(beta) for beta in close}) == 2 and all(float(beta_name(b)) == b for b in close)
    with pytest.raises(UsageError, match="1 and 1.0 are the same beta"):
        parse_betas("1,1.0")
    for bad in ("1,x", "-1", "nan", ""):
        with pytest.raises(UsageError):
            parse_betas(bad)
    assert parse_betas(" 2 , 0.5 ") == [0.5, 2.0]


@pytest.mark.parametrize("parse", [parse_betas, parse_seeds])
@pytest.mark.parametrize("text", ["1,,2", "1,2,", ",1", "1, ,2"])
def test_an_empty_item_between_commas_is_refused_not_dropped(parse, text):
    """'1,,2' is likely a typo for 1,1.5,2: sweeping 1 and 2 alone would train something else."""
    with pytest.raises(UsageError, match=f"'{text}': an empty item between commas; expected comma-separated"):
        parse(text)


def test_seeds_and_the_plan_cover_every_beta_with_every_seed(tmp_path):
    assert parse_seeds("2,0,1") == [2, 0, 1]
    for bad in ("0,0", "-1", "1.5", str(2**32)):
        with pytest.raises(UsageError):
            parse_seeds(bad)
    runs = plan_runs([0.0, 2.0], [0, 7], str(tmp_path))
    assert [(run.index, run.beta, run.seed) for run in runs] == [(0, 0.0, 0), (1, 0.0, 7), (2, 2.0, 0), (3, 2.0, 7)]
    assert len({run.folder for run in runs}) == 4


@pytest.mark.parametrize("flags", [["--beta", "2"], ["--seed=3"], ["--check", "x"], ["--epochs", "5"],
                                   ["--resume"], ["--data", "x.npy", "--overwrite"]])
def test_training_flags_the_sweep_sets_itself_are_refused(flags):
    with pytest.raises(UsageError, match="the sweep sets it"):
        sweep_command.training_settings(flags)


def test_other_training_flags_pass(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.save("x.npy", np.zeros((4, 2)))  # the data file must exist
    sweep_command.training_settings(["--data", "x.npy", "--hidden-units", "8", "--latent-dim", "3"])


def unchanged(sweep_dir, flags, record=True):
    """check_training_unchanged for flags as the training parser reads them."""
    check_training_unchanged(sweep_dir, build_parser().parse_args(flags), flags, record)


def test_a_sweep_folder_keeps_the_training_flags_of_its_runs(tmp_path):
    unchanged(str(tmp_path / "listed"), ["--hidden-units", "8"], record=False)
    assert not os.path.exists(tmp_path / "listed")  # --list records nothing
    unchanged(str(tmp_path / "sweep"), ["--hidden-units", "8"])
    unchanged(str(tmp_path / "sweep"), ["--hidden-units", "8"])
    for other in ([], ["--hidden-units", "16"], ["--hidden-units", "8", "--data", "x.npy"]):
        with pytest.raises(UsageError, match="trained with the training flags --hidden-units 8"):
            unchanged(str(tmp_path / "sweep"), other)


def write_checkpoint(prefix, value):
    """A small real checkpoint (one variable holding value) at prefix; returns its index file's SHA-256."""
    import tensorflow as tf
    tf.train.Checkpoint(v=tf.Variable(float(value))).write(str(prefix))
    with open(f"{prefix}.index", "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def fake_run(folder, checkpoint, evaluated=None, iwae_samples=10):
    """A run folder holding only what `needs` reads: the newest committed checkpoint (a stand-in variable
    whose value is its epoch) and evaluation.json naming the checkpoint it scored."""
    os.makedirs(folder, exist_ok=True)
    digests = {name: write_checkpoint(folder / name, int(name.split("-")[1])) for name in {checkpoint, evaluated}
               if name}
    if evaluated:
        identity = {"file": evaluated, "epoch": int(evaluated.split("-")[1]), "index_sha256": digests[evaluated]}
        with open(os.path.join(folder, "evaluation.json"), "w", encoding="utf-8") as handle:
            json.dump({**{key: None for key in REPORT_KEYS}, "reference": {}, "checkpoint": identity,
                       "iwae_samples": iwae_samples, "rows": "held-out test rows", "seed": 0}, handle)
    return SweepRun(0, 1.0, 0, str(folder))


def test_a_run_is_reused_only_when_its_evaluation_scored_its_newest_checkpoint(tmp_path):
    assert needs(SweepRun(0, 1.0, 0, str(tmp_path / "new")), 3, 10) == ("train", "evaluate")
    assert needs(fake_run(tmp_path / "a", "ckpt-2"), 3, 10) == ("train", "evaluate")
    assert needs(fake_run(tmp_path / "b", "ckpt-3"), 3, 10) == ("evaluate",)
    assert needs(fake_run(tmp_path / "c", "ckpt-3", evaluated="ckpt-2"), 3, 10) == ("evaluate",)
    assert needs(fake_run(tmp_path / "d", "ckpt-3", evaluated="ckpt-3", iwae_samples=50), 3, 10) == ("evaluate",)
    assert needs(fake_run(tmp_path / "e", "ckpt-3", evaluated="ckpt-3"), 3, 10) == ()
    other_rows = json.loads((tmp_path / "e" / "evaluation.json").read_text()) | {"rows": "rows of x.npy"}
    (tmp_path / "e" / "evaluation.json").write_text(json.dumps(other_rows))  # made by hand on other rows
    assert needs(SweepRun(0, 1.0, 0, str(tmp_path / "e")), 3, 10) == ("evaluate",)
    write_checkpoint(tmp_path / "e" / "ckpt-3", -3.0)  # other tensors, saved again under the same name
    assert needs(SweepRun(0, 1.0, 0, str(tmp_path / "e")), 3, 10) == ("evaluate",)


def test_progress_reads_the_newest_epoch_of_the_current_training_only(tmp_path):
    row = lambda epoch, loss: {"epoch": epoch, "loss": loss, "test_loss": loss + 0.25, "kl": 9.0}  # noqa: E731
    earlier = EpochRecorder(str(tmp_path), 2)
    earlier(row(1, 2.0))
    earlier(row(2, 1.0))
    assert latest_epoch(str(tmp_path))["epoch"] == 2
    recorder = EpochRecorder(str(tmp_path), 9)  # a new training of the run: the earlier one's epochs are gone
    assert latest_epoch(str(tmp_path)) is None
    recorder(row(3, 1.0))
    recorder(row(4, 0.5))
    with open(tmp_path / "progress.jsonl", "a", encoding="utf-8") as handle:
        handle.write('{"epoch": 5, "epo')  # the worker is still writing this line
    assert latest_epoch(str(tmp_path)) == {"epoch": 4, "epochs": 9, "loss": 0.5, "test_loss": 0.75}
    assert progress_line(latest_epoch(str(tmp_path))) == "epoch 4/9  loss 0.5000  test loss 0.7500"
    assert latest_epoch(str(tmp_path), since=os.path.getmtime(tmp_path / "progress.jsonl") + 1) is None


def test_ticks_are_plain_decimals_and_seeds_give_mean_and_range():
    assert beta_ticks(0.3, 30) == [0.5, 1, 2, 5, 10, 20]
    assert beta_ticks(1e-4, 1e4) == [10.0 ** e for e in range(-4, 5)]
    assert [plain_number(value) for value in (0.05, 2.0, 1e-5)] == ["0.05", "2", "0.00001"]
    keys, means, spread = over_seeds([1, 1, 4, 4, 4], [1.0, 3.0, 5.0, None, 7.0])
    assert keys.tolist() == [1, 4] and means.tolist() == [2.0, 6.0] and spread.tolist() == [[1, 1], [1, 1]]


def fabricated_report(beta, seed, alignment):
    rng = np.random.default_rng(seed)
    kl = sorted(rng.uniform(0, 3 / (1 + beta), 2), reverse=True)
    optimum = None if beta == 0 else {"objective": 10.0, "rate": 1.0, "distortion": 9.0, "kl_per_dim": kl,
                                      "active_units": 1}
    return {"beta": beta, "kl": float(sum(kl)), "kl_per_dim": kl, "test_beta_objective": 12.0 + beta,
            "active_units": int(seed % 3), "latent_dim": 2,
            "reference": {"collapse_beta": 7.0, "linear_beta_optimum": optimum}, "alignment": alignment}


def test_sweep_plots_show_beta_0_seeds_and_alignment_with_nulls(tmp_path):
    reports = [fabricated_report(beta, seed, {"mean_to_optimum": None if beta == 0 else 0.9 - 0.1 * seed,
                                              "mean_to_truth": 0.5 + 0.1 * seed})
               for beta in (0.0, 0.5, 4.0) for seed in (0, 1)]
    curve = [{"beta": beta, "rate": 2 / beta, "distortion": beta, "active_units": int(beta < 7),
              "kl_per_dim": [max(0.0, 3 - beta / 2), 0.0]} for beta in np.geomspace(0.3, 10, 12)]
    paths = plot_sweep(reports, curve, str(tmp_path), plot_labels(), seeds=2, collapse_points=[6.98, 2.7])
    assert sorted(os.path.basename(path) for path in paths) == ["active_units.png", "alignment.png",
                                                                "kl_per_dim.png", "rate_distortion.png"]
    assert all(os.path.getsize(path) > 10_000 for path in paths)
    without = plot_sweep([dict(report, alignment=None) for report in reports], [], str(tmp_path / "none"),
                         plot_labels())
    assert "alignment.png" not in [os.path.basename(path) for path in without]


def full_report(beta, seed):
    """A fabricated report with every number a sweep row reads, the KL parts among them."""
    report = fabricated_report(beta, seed, {"mean_to_optimum": 0.9, "mean_to_truth": 0.8, "latent_correlation": 0.7})
    rate = report["kl"]
    information = min(rate, np.log(500)) * 0.8
    return {**report, "objective": "beta", "test_elbo": -12.0, "test_nll_iwae": 11.5, "gap_to_fa": 0.25,
            "gap_to_linear_optimum": None if beta == 0 else 2.0 + beta,
            "kl_decomposition": {"index_code_mi": information, "total_correlation": 0.05 * rate / (1 + seed),
                                 "dimension_wise_kl": rate - information - 0.05 * rate / (1 + seed), "n_rows": 500}}


def test_the_sweep_table_holds_one_number_per_column_and_a_kl_column_per_latent_unit(tmp_path):
    reports = [full_report(0.0, 0), full_report(2.0, 1), fabricated_report(4.0, 2, None)]  # the last: an old report
    reports[-1].update(test_nll_iwae=11.0)
    runs = [SweepRun(index, report["beta"], seed, str(tmp_path / f"run{index}"))
            for index, (report, seed) in enumerate(zip(reports, (0, 1, 2)))]
    write_table(tmp_path / "sweep.csv", [sweep_row(report, run) for report, run in zip(reports, runs)])
    rows = read_table(tmp_path / "sweep.csv")
    header = list(rows[0])
    assert header[header.index("active_units") + 1:][:2] == ["kl_z1", "kl_z2"] and "kl_per_dim" not in header
    for name in ("objective", "elbo", "gap_to_fa", "gap_to_linear_optimum", "latent_correlation", "index_code_mi",
                 "total_correlation", "dimension_wise_kl"):
        assert name in header
    for row, report in zip(rows, reports):
        assert [float(row["kl_z1"]), float(row["kl_z2"])] == pytest.approx(report["kl_per_dim"])
        for name, value in row.items():
            if name not in ("objective", "folder") and value != "":
                float(value)  # every other cell is one number
    assert rows[0]["objective"] == "beta" and rows[0]["gap_to_linear_optimum"] == ""
    assert float(rows[1]["index_code_mi"]) + float(rows[1]["total_correlation"]) + float(
        rows[1]["dimension_wise_kl"]) == pytest.approx(reports[1]["kl"])
    assert rows[2]["index_code_mi"] == rows[2]["elbo"] == rows[2]["objective"] == ""  # older report: empty cells
    text = format_table([sweep_row(report, run) for report, run in zip(reports, runs)])
    assert all(len(line) < 100 for line in text.splitlines()) and text.splitlines()[0].split()[6:9] == [
        "MI", "TC", "dim-KL"]
    assert text.splitlines()[3].split()[6:9] == ["-", "-", "-"]


def test_the_kl_plot_shows_the_parts_of_the_kl_beside_the_kl_per_dimension(tmp_path):
    reports = [full_report(beta, seed) for beta in (0.5, 1.0, 2.0, 4.0, 8.0) for seed in (0, 1, 2)]
    curve = [{"beta": beta, "rate": 2 / beta, "distortion": beta, "active_units": int(beta < 7),
              "kl_per_dim": [max(0.0, 3 - beta / 2), 0.0]} for beta in np.geomspace(0.3, 12, 12)]
    paths = plot_sweep(reports, curve, str(tmp_path), plot_labels(), seeds=3)
    from matplotlib import image
    with_parts = image.imread(os.path.join(tmp_path, "kl_per_dim.png"))
    without = plot_sweep([{**report, "kl_decomposition": None} for report in reports], curve, str(tmp_path / "no"),
                         plot_labels())
    assert len(paths) == len(without) == 4
    assert with_parts.shape[1] > 1.5 * image.imread(os.path.join(tmp_path, "no", "kl_per_dim.png")).shape[1]


def test_bad_sweep_flags_give_one_line_and_status_2(tmp_path):
    for flags in (["--betas", "1,1.0"], ["--seeds", "0,0"], ["--address", "auto"], ["--only", "99"],
                  ["--", "--beta", "3"], ["--", "--lr", "x"], ["--list", "--only", "0"]):
        result = run_script("beta_vae_sweep.py", "--sweep-dir", tmp_path, *flags, timeout=60)
        assert result.returncode == 2, (flags, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("error: "), flags


def test_help_documents_the_training_flags_after_the_separator(capsys):
    with pytest.raises(SystemExit):
        sweep_command.main(["--help"])
    text = capsys.readouterr().out
    assert "Flags after `--` go to beta_vae_main.py" in text and "--only INDEX" in text
    assert "(default: None)" not in text


def test_the_ray_engine_names_its_install_command_when_ray_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # makes `import ray` fail as if it were not installed
    with pytest.raises(UsageError, match=r"pip install -r requirements-ray.txt"):
        engines.run_ray([], None, 1)


def test_failed_runs_are_named_and_their_logs_kept(tmp_path, capsys):
    (tmp_path / "damaged.npy").write_bytes(b"not an array")  # found by the sweep, refused by training
    flags = ["--betas", "1", "--seeds", "0,1", "--sweep-dir", str(tmp_path), *TINY, "--",
             "--data", str(tmp_path / "damaged.npy")]
    assert sweep_command.main(flags) == 2
    out, err = capsys.readouterr()
    assert out.count("FAILED: beta_vae_main.py failed (exit 2)") == 2
    assert err.strip().splitlines() == ["error: 2 of 2 runs failed (index 0, 1); the FAILED lines above and their "
                                        "logs say why"]
    with open(tmp_path / "beta_1_seed_1" / "train.log", encoding="utf-8") as handle:
        assert "damaged.npy" in handle.read().splitlines()[-1]


def read_table(path):
    with open(path, encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.slow
def test_list_only_then_collect_and_a_rerun_that_starts_nothing(tmp_path, monkeypatch):
    np.save(tmp_path / "small.npy", factor_data_array(rows=300))
    flags = ["--betas", "0,2", "--sweep-dir", str(tmp_path / "sweep"), *TINY, *tiny_training(tmp_path / "small.npy")]
    listing = run_script("beta_vae_sweep.py", "--list", *flags, timeout=60)
    assert listing.returncode == 0, listing.stderr
    assert [line.split()[:5] for line in listing.stdout.splitlines()] == \
        [["0", "beta", "0", "seed", "0"], ["1", "beta", "2", "seed", "0"]]
    only = run_script("beta_vae_sweep.py", "--only", "1", *flags)
    assert only.returncode == 0, only.stderr
    assert sorted(os.listdir(tmp_path / "sweep")) == ["beta_2_seed_0", "training_flags.json"]
    assert {"train.log", "evaluate.log", "evaluation.json"} <= set(os.listdir(tmp_path / "sweep" / "beta_2_seed_0"))
    listing = run_script("beta_vae_sweep.py", "--list", *flags, timeout=60).stdout.splitlines()
    assert "to train" in listing[0] and "done" in listing[1]
    assert sweep_command.main(flags) == 0
    rows = read_table(tmp_path / "sweep" / "sweep.csv")
    assert [(float(row["beta"]), int(row["seed"])) for row in rows] == [(0.0, 0), (2.0, 0)]
    assert rows[0]["optimum_objective"] == "" and float(rows[1]["optimum_objective"]) > 0
    for row in rows:
        assert float(row["rate"]) >= 0 and np.isfinite(float(row["distortion"]))
    # a model of two epochs is far above the best linear-Gaussian model's objective at its beta
    assert float(rows[1]["optimum_objective"]) <= 2.0 * float(rows[1]["rate"]) + float(rows[1]["distortion"])
    assert sorted(os.listdir(tmp_path / "sweep" / "plots")) == ["active_units.png", "alignment.png", "kl_per_dim.png",
                                                                "rate_distortion.png"]

    def no_work(*_):
        raise AssertionError("a re-run with nothing new started a worker")

    monkeypatch.setattr(engines, "run_local", no_work)
    assert sweep_command.main(flags) == 0
    assert read_table(tmp_path / "sweep" / "sweep.csv") == rows
    other = run_script("beta_vae_sweep.py", *flags, "--latent-dim", "1", timeout=60)  # other training flags
    assert other.returncode == 2 and "trained with the training flags" in other.stderr, other.stderr


def test_alignment_axis_has_no_offset_when_every_score_is_near_one(tmp_path, monkeypatch):
    from betavae.plots import sweep as sweep_plots
    figures = []
    monkeypatch.setattr(sweep_plots, "save_figure", lambda figure, path: figures.append(figure))
    reports = [fabricated_report(beta, 0, {"mean_to_optimum": 0.99995 + 0.00001 * beta, "mean_to_truth": 1.0})
               for beta in (1.0, 2.0, 4.0)]
    sweep_plots.plot_alignment(reports, 10.0, 7.0, 1, str(tmp_path / "alignment.png"), plot_labels()["alignment"])
    axis = figures[0].axes[0]
    figures[0].canvas.draw()
    assert axis.yaxis.get_offset_text().get_text() == "" and axis.get_ylim() == (0.0, 1.05)


def test_a_sweep_row_has_the_columns_of_the_table_in_their_order():
    report = fabricated_report(2.0, 0, {"mean_to_optimum": 0.9, "mean_to_truth": 0.8})
    report.update(test_nll_iwae=9.0, disentanglement={"mig": 0.5, "exact": {"mig_continuous": 0.6}})
    row = sweep_row(report, SweepRun(0, 2.0, 0, "sweep/beta_2_seed_0"))
    assert list(row) == table_columns([row]) and row["mig"] == 0.5 and row["mig_exact_continuous"] == 0.6
    # the order docs/sweeps.md documents, one kl_z column per latent unit of the report
    units = [f"kl_z{j + 1}" for j in range(len(report["kl_per_dim"]))]
    assert table_columns([row]) == [
        "beta", "seed", "objective", "rate", "distortion", "elbo", "test_nll_iwae", "gap_to_fa",
        "gap_to_linear_optimum", "optimum_objective", "optimum_rate", "optimum_distortion", "optimum_active_units",
        "active_units", *units, "index_code_mi", "total_correlation", "dimension_wise_kl", "latent_correlation",
        "alignment_mean_to_optimum", "alignment_mean_to_truth", "mig", "sap", "modularity", "dci_disentanglement",
        "dci_completeness", "dci_informativeness", "factor_vae", "mig_exact_continuous", "mig_exact_discretised",
        "folder"]
    short = dict(sweep_row({**report, "kl_per_dim": report["kl_per_dim"][:1]}, SweepRun(1, 2.0, 1, "b")))
    assert table_columns([short, row]) == table_columns([row])  # the header is the widest row's


def test_a_workers_step_says_an_os_error_in_one_line_and_a_bug_with_its_traceback(tmp_path, capsys):
    import errno
    from betavae.sweep.worker import call_logged, last_error

    def full_disk():
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "run" / "ckpt-3.index"))

    def bug():
        raise ZeroDivisionError("a bug")

    log = tmp_path / "train.log"
    with capsys.disabled():  # the worker sends the process's own stdout and stderr to the log
        statuses = call_logged("training", full_disk, log), call_logged("training", bug, tmp_path / "bug.log")
    assert statuses == (2, 1)
    assert last_error(log).startswith("error: ") and "No space left on device" in last_error(log)
    assert "Traceback" not in log.read_text() and "Traceback" in (tmp_path / "bug.log").read_text()
