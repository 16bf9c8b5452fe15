"""The evaluation report's sections: one list of evaluation.json's keys, documented in docs/evaluation.md and held
by every report; a new section reaches the report, its text and the sweep's table without other edits."""
import os
import shutil

import numpy as np
import pytest

from betavae.scoring import evaluate as scoring
from betavae.scoring import sections
from betavae.scoring.sections.base import Section
from betavae.sweep.plan import SweepRun, sweep_row, table_columns
from conftest import REPO, committed_run, factor_data_array


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """Reports of committed (untrained) runs: 4-D data without a truth at latent dims 2 and 3, and 10-D
    generated data with its truth (scored on 300 of its rows)."""
    folder = tmp_path_factory.mktemp("sections")
    np.save(folder / "data.npy", factor_data_array(200))
    shutil.copy(os.path.join(REPO, "data", "gaussian_10d.npy"), folder / "gaussian_10d.npy")
    shutil.copy(os.path.join(REPO, "data", "gaussian_10d.truth.json"), folder / "gaussian_10d.truth.json")
    made = {"latent 2": committed_run(folder / "two", folder / "data.npy"),
            "latent 3": committed_run(folder / "three", folder / "data.npy", flags=("--latent-dim", "3")),
            "truth": committed_run(folder / "truth", folder / "gaussian_10d.npy")}
    rows = {"truth": np.load(folder / "gaussian_10d.npy")[:300]}
    return {name: scoring.evaluate_run(run, iwae_samples=3, num_samples=200, rows=rows.get(name))
            for name, run in made.items()}


def test_the_evaluation_page_documents_exactly_the_sections_keys():
    with open(os.path.join(REPO, "docs", "evaluation.md"), encoding="utf-8") as handle:
        page = handle.read()
    assert sections.key_table() in page, "docs/evaluation.md's table of evaluation.json's keys is stale: paste " \
                                         "key_table()"


def test_every_report_holds_the_required_keys_and_no_undocumented_one(reports):
    documented, optional = set(sections.report_keys()), sections.optional_keys()
    for name, report in reports.items():
        assert set(report) <= documented, (name, set(report) - documented)
        assert documented - optional <= set(report), (name, documented - optional - set(report))
    assert "test_nll_quadrature" in reports["latent 2"] and "test_nll_quadrature" not in reports["latent 3"]
    assert "gap_to_truth" in reports["truth"] and "gap_to_truth" not in reports["latent 2"]
    assert reports["truth"]["gap_to_truth"] == pytest.approx(
        reports["truth"]["test_nll_quadrature"] - reports["truth"]["reference"]["true_nll"])


def test_each_key_is_written_by_one_section():
    keys = [key for section in sections.SECTIONS for key in section.keys]
    assert len(keys) == len(set(keys)) and "unavailable" not in keys


class CountedSection(Section):
    """A toy section: the number of rows with a positive first column."""
    name = "positives"
    detail = "counting"
    keys = {"positive_rows": "rows whose first column is positive"}

    def compute(self, context):
        return {"positive_rows": int(np.sum(context.test[:, 0] > 50.0))}

    def lines(self, report):
        return [f"positive rows {report['positive_rows']}"]

    def columns(self, report):
        return {"positive_rows": report["positive_rows"]}


def test_a_new_section_reaches_the_report_its_text_and_the_sweep_table(tmp_path, monkeypatch):
    np.save(tmp_path / "data.npy", factor_data_array(200, seed=9))
    run = committed_run(tmp_path / "run", tmp_path / "data.npy")
    extended = (*sections.SECTIONS, CountedSection())
    monkeypatch.setattr(scoring, "SECTIONS", extended)
    monkeypatch.setattr("betavae.sweep.plan.SECTIONS", extended)
    lines = []
    report = scoring.evaluate_run(run, iwae_samples=2, num_samples=50, progress=lines.append)
    held_out = run_rows_of(run)
    assert report["positive_rows"] == int(np.sum(held_out[:, 0] > 50.0)) > 0
    assert "  positive rows " in scoring.format_report(report, "run")
    assert any(line.startswith("positives: done in") for line in lines)
    row = sweep_row(report, SweepRun(0, report["beta"], 0, str(tmp_path / "run")))
    assert row["positive_rows"] == report["positive_rows"] and "positive_rows" in table_columns([row])


def run_rows_of(run):
    """The held-out rows of a run, as the evaluation reads them."""
    from betavae.run.opened import open_run
    return open_run(run).data()[1]


def test_the_linear_optimums_kl_per_unit_is_printed_descending_as_it_says():
    """The optimum's units are ordered on the training rows; scored on the test rows two may swap (7.2996
    before 7.3682 was printed as descending)."""
    from betavae.scoring.sections.rate import RateSection
    report = {"kl_per_dim": [0.5, 1.5, 0.0], "kl": 2.0, "active_units": 2, "active_units_kl": 2,
              "reference": {"collapse_beta": None,
                            "linear_beta_optimum": {"kl_per_dim": [7.2996, 7.3682, 0.25], "rate": 14.9178,
                                                    "active_units": 3}}}
    line = next(line for line in RateSection().lines(report) if "KL per unit (descending)" in line)
    assert "KL per unit (descending) 7.3682 7.2996 0.2500;" in line
