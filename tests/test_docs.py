"""The documentation: the CLI reference is the one its generator writes from the parsers, the docs' Python
example is the README's (which tests/test_readme_example.py runs), and README.md and docs/*.md speak of the
project alone: no issue numbers, no notes about a development machine, no names of development tools."""
import glob
import importlib.util
import os
import re

from conftest import REPO
from test_readme_example import readme_example

# An issue's number, a development tool's name, or a note about the machine the docs were written on.
NOT_FOR_USERS = re.compile(r"\bissues?\s+#?\d+|\bfarm-\w+|\bduplicates\b|\bissues\b|development machine"
                           r"|shared machine|nice 19|load average|under a load of", re.IGNORECASE)


def cli_reference_module():
    """docs/make_cli_reference.py, imported from its path (docs/ is not a package)."""
    spec = importlib.util.spec_from_file_location("make_cli_reference",
                                                  os.path.join(REPO, "docs", "make_cli_reference.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def test_the_cli_reference_is_current():
    module = cli_reference_module()
    assert read(module.PAGE) == module.reference(), f"docs/cli.md is stale: run {module.COMMAND}"


def test_the_cli_reference_holds_every_flag_of_every_command_with_its_default():
    module = cli_reference_module()
    page = module.reference()
    for command, _, parser in module.commands():
        section = page.split(f"## `{command}`\n", 1)[1].split("\n## ", 1)[0]
        for action in parser._actions:
            for flag in action.option_strings:
                if flag not in ("-h", "--help"):
                    assert f"| `{flag}` | {module.default_of(action)} |" in section, (command, flag)
    assert "| `--hidden-units` | `128` |" in page and "| `--mode` | (required) |" in page


def test_the_docs_python_example_is_the_readmes():
    page = read(os.path.join(REPO, "docs", "python-api.md"))
    assert re.findall(r"```python\n(.*?)```", page, re.DOTALL) == [readme_example()]


def user_pages():
    """README.md and every page of the documentation site."""
    return [os.path.join(REPO, "README.md")] + sorted(glob.glob(os.path.join(REPO, "docs", "*.md")))


def test_the_docs_speak_of_the_project_alone():
    pages = user_pages()
    found = [f"{os.path.relpath(path, REPO)}: {match.group()}" for path in pages
             for match in NOT_FOR_USERS.finditer(read(path))]
    assert len(pages) >= 10 and not found, found


def test_the_pattern_finds_what_users_should_not_read():
    for text in ("against issue 12's targets", "issue #18", "by `farm-bench -n 3`", "run `duplicates`",
                 "the issues tool", "on the 2-core development machine", "(nice 19)"):
        assert NOT_FOR_USERS.search(text), text
    assert not NOT_FOR_USERS.search("on a 2-core machine, an issue of taste, duplicate rows")
