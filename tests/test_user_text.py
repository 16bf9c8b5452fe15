"""What the package says to its users speaks of the project alone: no numbers of the project's issues in
messages, docstrings or comments of the code users run (the benchmarks too)."""
import glob
import os
import re

from conftest import REPO

ISSUE_NUMBER = re.compile(r"\bissues? #?\d+", re.IGNORECASE)


def test_no_issue_numbers_in_the_package_the_scripts_or_the_benchmarks():
    files = glob.glob(os.path.join(REPO, "betavae", "**", "*.py"), recursive=True) + glob.glob(
        os.path.join(REPO, "*.py")) + glob.glob(os.path.join(REPO, "benchmarks", "*.py"))
    found = [f"{os.path.relpath(path, REPO)}: {match.group()}" for path in files
             for match in ISSUE_NUMBER.finditer(open(path, encoding="utf-8").read())]
    assert len(files) > 40 and not found, found


def test_the_pattern_finds_an_issue_number():
    assert ISSUE_NUMBER.search("on issue 18's periodic data") and not ISSUE_NUMBER.search("an issue of taste")
