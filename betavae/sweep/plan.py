"""What a sweep is made of, without TensorFlow: its runs (beta x seed), their folders, what each still
needs (training, evaluation, or nothing), and the table collected from their evaluation.json files."""
import csv
import io
import os
import types
from dataclasses import dataclass

import numpy as np

from betavae.fields import spelled
from betavae.files import atomic_write_text
from betavae.run.folder import LOGS, RunFolder, UsageError
from betavae.scoring.evaluate import load_report  # numpy only at import: no TensorFlow
from betavae.scoring.sections import SECTIONS
from betavae.scoring.sections.base import HELD_OUT_ROWS
from betavae.scoring.sections.rate import KL_PARTS
from betavae.scoring.sections.run import checkpoint_identity
from betavae.cli import SEED_MAX

TRAIN_LOG, EVALUATE_LOG = LOGS


@dataclass(frozen=True)
class SweepRun:
    """One model of the sweep: its position in --list, beta, seed and folder."""
    index: int
    beta: float
    seed: int
    folder: str

    @property
    def label(self):
        """How progress lines and errors name the run."""
        return f"beta {self.beta:g} seed {self.seed}"


def beta_name(beta):
    """The shortest text that reads back as exactly this beta ('4', '0.25', '1.0000000001e-09'), so two
    different betas never share a folder."""
    short = f"{beta:g}"
    return short if float(short) == beta else repr(beta)


def _items(text, name, expected):
    """The comma-separated items of text, stripped ([] for none); an empty item between commas, as in '1,,2'
    or '1,2,' (a typo for another number), is refused instead of dropped."""
    parts = [part.strip() for part in text.split(",")]
    if parts == [""]:
        return []
    if "" in parts:
        raise UsageError(f"{spelled(name)} {text!r}: an empty item between commas; expected {expected}")
    return parts


def parse_betas(text):
    """'0.25,0.5,1' -> [0.25, 0.5, 1.0]; each beta finite and >= 0; two spellings of one number refused. Errors
    name the setting as its reader wrote it (--betas, or the Python API's betas)."""
    expected = "comma-separated numbers such as 0.5,1,4"
    parts = _items(text, "betas", expected)
    try:
        betas = [float(part) for part in parts]
    except ValueError:
        raise UsageError(f"{spelled('betas')} {text!r}: expected {expected}") from None
    if not betas:
        raise UsageError(f"{spelled('betas')}: no beta given; expected {expected}")
    for position, beta in enumerate(betas):
        if not np.isfinite(beta) or beta < 0:
            raise UsageError(f"{spelled('betas')}: {parts[position]} is not a finite number >= 0")
        if beta in betas[:position]:
            raise UsageError(f"{spelled('betas')}: {parts[betas.index(beta)]} and {parts[position]} are the same beta "
                             f"(both would train into beta_{beta_name(beta)})")
    return sorted(betas)


def parse_seeds(text):
    """'0,1,2' -> [0, 1, 2]; distinct integers in TensorFlow's seed range (errors name --seeds or seeds)."""
    expected = "comma-separated integers such as 0,1,2"
    parts = _items(text, "seeds", expected)
    try:
        seeds = [int(part) for part in parts]
    except ValueError:
        raise UsageError(f"{spelled('seeds')} {text!r}: expected {expected}") from None
    if not seeds:
        raise UsageError(f"{spelled('seeds')}: no seed given; expected {expected}")
    for position, seed in enumerate(seeds):
        if not 0 <= seed <= SEED_MAX:
            raise UsageError(f"{spelled('seeds')}: {seed} is not an integer from 0 to {SEED_MAX}")
        if seed in seeds[:position]:
            raise UsageError(f"{spelled('seeds')}: {seed} is given twice")
    return seeds


def plan_runs(betas, seeds, sweep_dir):
    """Every (beta, seed) of the sweep in a fixed order (beta, then seed), indexed from 0 for --only."""
    pairs = [(beta, seed) for beta in betas for seed in seeds]
    return [SweepRun(index, beta, seed, os.path.join(sweep_dir, f"beta_{beta_name(beta)}_seed_{seed}"))
            for index, (beta, seed) in enumerate(pairs)]


def latest_checkpoint(folder):
    """The identity of the run's newest committed checkpoint (scoring.sections.run.checkpoint_identity: what an
    evaluation.json records as "checkpoint"), without loading TensorFlow; None when there is none."""
    return checkpoint_identity(RunFolder(folder))


def checkpoint_epoch(identity):
    """The epoch of a checkpoint identity; 0 for None."""
    return identity["epoch"] if identity else 0


def needs(run, epochs, iwae_samples):
    """What the run still needs: ('train', 'evaluate'), ('evaluate',) or () when its evaluation.json is the
    sweep's own (held-out rows, the run's seed, the same --iwae-samples) and scored its newest checkpoint at
    --epochs (a re-run then starts nothing)."""
    latest = latest_checkpoint(run.folder)
    if checkpoint_epoch(latest) < epochs:
        return ("train", "evaluate")
    report = load_report(RunFolder(run.folder))
    if is_current(report, run, latest) and report.get("iwae_samples") == iwae_samples:
        return ()
    return ("evaluate",)


def is_current(report, run, latest):
    """Whether an evaluation report is the sweep's evaluation of the run's checkpoint `latest`: not one a
    user made by hand on other rows or with another seed, nor one of an older checkpoint."""
    return (report is not None and report.get("checkpoint") == latest
            and report.get("rows") == HELD_OUT_ROWS and report.get("seed") == run.seed)


def training_settings(run, epochs, training):
    """The training settings of the run: the sweep's `training` settings with its beta, seed, epochs and folder;
    resume what is there, else start (a folder whose training died before its first checkpoint holds no run,
    and training starts in it afresh). A run whose every checkpoint is damaged has nothing to resume: it is
    trained afresh with overwrite, which keeps the damaged run until the new one's first checkpoint commits."""
    folder = RunFolder(run.folder)
    resume = folder.newest_checkpoint() is not None
    return types.SimpleNamespace(**{**vars(training), "beta": run.beta, "seed": run.seed, "epochs": epochs,
                                    "checkpoint_dir": run.folder, "resume": resume,
                                    "overwrite": not resume and folder.is_run()})


def sweep_row(report, run):
    """One sweep.csv row from a run's evaluation report, one number per column: beta and the run's seed,
    then each section's columns (betavae.scoring.sections: the model's rate, distortion, ELBO, gaps, the
    linear optimum's numbers, the KL of each latent unit kl_z1, ..., the parts of its KL, the alignment and
    disentanglement scores), then the run's folder ('' where a value does not exist, e.g. in older reports)."""
    row = {"beta": report["beta"], "seed": run.seed}
    for section in SECTIONS:
        row.update(section.columns(report))
    row["folder"] = os.path.basename(run.folder)
    return {name: "" if value is None else value for name, value in row.items()}


def table_columns(rows):
    """sweep.csv's header for these rows: the columns of the row with the most latent units (kl_z1, ...), in
    its order (every row has the same columns but for those)."""
    return list(max(rows, key=lambda row: sum(name.startswith("kl_z") for name in row), default={}))


def collect(runs):
    """(run, report) of every run whose evaluation is current (is_current), in plan order: a stale one, left
    by a training or evaluation that failed since, is never collected."""
    return [(run, report) for run in runs
            if is_current(report := load_report(RunFolder(run.folder)), run, latest_checkpoint(run.folder))]


def write_table(path, rows):
    """Write sweep.csv atomically: one row per run."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=table_columns(rows), restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, text.getvalue())


def format_table(rows):
    """The sweep as an aligned text table under 100 characters (nats per sample): the model's numbers, the
    parts of its KL (index-code MI, total correlation, dimension-wise KL) and the linear optimum's."""
    lines = [f"{'beta':>7} {'seed':>4} {'rate':>8} {'distortion':>10} {'nll_iwae':>9} {'units':>5} "
             f"{'MI':>6} {'TC':>6} {'dim-KL':>6} {'optimum rate':>12} {'distortion':>10} {'units':>5}"]
    for row in rows:
        optimum = (f"{row['optimum_rate']:12.4f} {row['optimum_distortion']:10.4f} {row['optimum_active_units']:5d}"
                   if row["optimum_rate"] != "" else f"{'(none)':>12}")

        def cell(name, width, digits=4, row=row):
            return f"{'-':>{width}}" if row[name] == "" else f"{row[name]:{width}.{digits}f}"

        lines.append(f"{row['beta']:7g} {row['seed']:4d} {cell('rate', 8)} {cell('distortion', 10)} "
                     f"{cell('test_nll_iwae', 9)} {row['active_units']:5d} "
                     + " ".join(cell(name, 6, 3) for name in KL_PARTS) + f" {optimum}")
    return "\n".join(lines)
