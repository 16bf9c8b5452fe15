"""Counts in messages take the noun in the number they take: "wrote 1 plot", "2 plots", never "1 plots"; and no
message of the package writes a count straight before a plural noun."""
import os
import re

import pytest

from betavae.commands import after_training as after_training_command
from betavae.words import counted, listed
from conftest import REPO, run_main

# Nouns the package counts in its messages; a count right before one of them must go through counted().
PLURALS = ("plots", "rows", "columns", "samples", "epochs", "runs", "draws", "units", "cores", "entries",
           "eigenvalues", "factors", "dimensions", "resamples", "batches", "reconstructions", "bytes", "steps", "CPUs")


def test_counted_takes_the_number_of_its_count():
    assert [counted(n, "plot") for n in (0, 1, 2)] == ["0 plots", "1 plot", "2 plots"]
    assert counted(1, "entry", "entries") == "1 entry" and counted(3, "entry", "entries") == "3 entries"
    assert counted(12345, "row", spec=",") == "12,345 rows" and counted(1, "row", spec=",") == "1 row"


def test_a_list_is_shown_short_with_how_many_more():
    assert listed(("a", "b"), 3) == "a, b" and listed(("a", "b", "c"), 3) == "a, b, c"
    assert listed(["a", "b", "c", "d", "e"], 3) == "a, b, c and 2 more"


def test_no_message_puts_a_bare_count_before_a_plural():
    # plots/ draws figure titles, whose counts are those of a sweep (more than one seed by their own test).
    pattern = re.compile(r"\{(?!counted\(|what\})[^{}]*\}\s+(?:(?:prior|test|training|data|generated|importance|z) )?"
                         r"(?:" + "|".join(PLURALS) + r")\b")  # {what}: the rows' kind (test, training), no count
    found = []
    for folder, _, names in os.walk(os.path.join(REPO, "betavae")):
        if os.path.basename(folder) == "plots":
            continue
        for name in (name for name in names if name.endswith(".py")):
            with open(os.path.join(folder, name), encoding="utf-8") as handle:
                found += [f"{name}:{number}: {line.strip()}" for number, line in enumerate(handle, 1)
                          if 'f"' in line and pattern.search(line)]
    assert not found, "\n".join(found)


@pytest.fixture(scope="module")
def run_folder(good):
    return good[0] / "run"


def test_one_prior_sample_is_one(run_folder, tmp_path):
    result = run_main(after_training_command.main, "--mode", "prior", "--checkpoint-dir", run_folder,
                      "--num-samples", 1, "--output", tmp_path / "one.npy")
    assert result.returncode == 0 and result.stdout.startswith(f"wrote 1 prior sample to {tmp_path / 'one.npy'}")
