"""Run.evaluate() returns an EvaluationReport: it prints as `--mode evaluate` prints the same run's report,
renders in a notebook, gives evaluation.json's top-level keys as attributes and as a mapping, and as_dict()
is evaluation.json's dict."""
import collections.abc
import copy
import html
import json
import os
import pickle

import pytest

import betavae
from betavae.commands import after_training as after_training_command
from betavae.scoring.report import EvaluationReport
from conftest import run_main

OPTIONS = {"iwae_samples": 3, "num_samples": 50, "seed": 1}


@pytest.fixture(scope="module")
def evaluated(good):
    """The shared small run, evaluated by the API, and the evaluate command's output for the same options."""
    path = str(good[0] / "run")
    report = betavae.load_run(path).evaluate(**OPTIONS)
    saved = (good[0] / "run" / "evaluation.json").read_text(encoding="utf-8")
    shown = run_main(after_training_command.main, "--mode", "evaluate", "--checkpoint-dir", path,
                     *[item for name, value in OPTIONS.items() for item in (f"--{name.replace('_', '-')}", value)])
    assert shown.returncode == 0, shown.stderr
    return path, report, json.loads(saved), shown.stdout


def test_printing_the_report_gives_the_commands_report_text(evaluated, capsys):
    path, report, _, stdout = evaluated
    text = str(report)
    # the command prints a line per stage, then the report, then where it wrote evaluation.json
    assert stdout.endswith(f"\n{text}\nwrote {os.path.join(path, 'evaluation.json')}\n")
    assert path in text.splitlines()[0] and len(text.splitlines()) > 5
    print(report)
    assert capsys.readouterr().out == text + "\n"


def test_the_report_renders_in_a_notebook(evaluated):
    report = evaluated[1]
    rendered = report._repr_html_()
    assert rendered.startswith("<pre>") and rendered.endswith("</pre>") and "<" not in rendered[5:-6]
    assert html.unescape(rendered[5:-6]) == str(report)

    class Printer:  # IPython's pretty printer, as far as _repr_pretty_ uses it
        def __init__(self):
            self.written = []

        def text(self, value):
            self.written.append(value)

    printer = Printer()
    report._repr_pretty_(printer, cycle=False)
    assert printer.written == [str(report)]
    assert repr(report).startswith("<EvaluationReport of ") and "\n" not in repr(report)


def test_attributes_the_mapping_and_as_dict_agree_with_evaluation_json(evaluated):
    _, report, saved, _ = evaluated
    assert isinstance(report, collections.abc.Mapping) and not isinstance(report, dict)
    assert report.as_dict() == saved == dict(report) and report == saved and list(report) == list(saved)
    for key, value in saved.items():
        assert getattr(report, key) == report[key] == value, key
    assert report.gap_decomposition == saved["gap_decomposition"] and report["kl_per_dim"] == saved["kl_per_dim"]
    assert "test_nll_iwae" in dir(report) and "test_nll_iwae" in report and len(report) == len(saved)
    copied = report.as_dict()
    copied["beta"] = -1.0
    copied["reference"].clear()
    assert report.beta == saved["beta"] and report.reference == saved["reference"]  # a copy, free to change
    for twin in (copy.deepcopy(report), pickle.loads(pickle.dumps(report))):
        assert twin == report and str(twin) == str(report) and twin.beta == report.beta


def test_an_unknown_attribute_names_the_reports_keys(evaluated):
    report = evaluated[1]
    with pytest.raises(AttributeError, match=r"has no attribute 'test_nll'; its keys: beta, objective, "):
        report.test_nll  # noqa: B018
    with pytest.raises(KeyError):
        report["test_nll"]  # noqa: B018
    assert not hasattr(report, "_ipython_canary_method_should_not_exist_")


def test_the_module_function_and_a_path_give_the_same_report(evaluated):
    path, report, saved, _ = evaluated
    again = betavae.evaluate(path, **OPTIONS)
    assert isinstance(again, EvaluationReport) and again == report and str(again) == str(report)
