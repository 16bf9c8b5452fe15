"""Write docs/cli.md, the CLI reference, from the argparse parsers the commands build, so that every flag's
default and help on the page are the ones --help shows (tests/test_docs.py fails when the page is stale).

    python docs/make_cli_reference.py
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # the checkout, when run as a script from anywhere

from betavae.commands import after_training, generate, sweep, train  # noqa: E402
from betavae.commands.training_flags import build_parser as build_training_parser  # noqa: E402

PAGE = os.path.join(HERE, "cli.md")
COMMAND = "python docs/make_cli_reference.py"


def commands():
    """(command line, what it does, parser) of each CLI, in the order a user meets them."""
    generate_parser = generate.build_parser()
    subcommands = next(action for action in generate_parser._actions
                       if isinstance(action, argparse._SubParsersAction))
    generate_help = next(action.help for action in subcommands._choices_actions if action.dest == "generate")
    parsers = [("python beta_vae_main.py", build_training_parser(train.__doc__.splitlines()[0])),
               ("python beta_vae_after_training.py", after_training.build_parser()),
               ("python beta_vae_sweep.py", sweep.build_parser())]
    return [(command, parser.description, parser) for command, parser in parsers] + [
        ("python data_processing.py generate", generate_help, subcommands.choices["generate"])]


def cell(text):
    """Text made safe for one line or table cell of Markdown: shown as written, never as markup."""
    parts = " ".join(str(text).split()).split("`")
    for index in range(0, len(parts), 2):  # outside `code spans`, which show their text as written
        parts[index] = parts[index].replace("<", "&lt;").replace(">", "&gt;")  # not HTML tags
        for char in "\\*_[]":
            parts[index] = parts[index].replace(char, "\\" + char)
    return "`".join(parts).replace("|", "\\|")  # a table's column separator, even in a code span


def default_of(action):
    """What a flag is when it is not given, as the table shows it."""
    if action.required:
        return "(required)"
    if isinstance(action, argparse._StoreTrueAction):
        return "off"
    return "none" if action.default is None else f"`{action.default}`"


def flag_rows(parser):
    """One table row per flag of the parser (--help left out), with its choices, default and help."""
    formatter = parser._get_formatter()
    rows = ["| flag | default | meaning |", "| --- | --- | --- |"]
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction) or not action.option_strings:
            continue
        meaning = formatter._expand_help(action) if action.help else ""
        meaning = meaning.removesuffix(f" (default: {action.default})")
        if action.choices:
            meaning += f" (one of: {', '.join(f'`{choice}`' for choice in action.choices)})"
        rows.append(f"| `{', '.join(action.option_strings)}` | {default_of(action)} | {cell(meaning)} |")
    return rows


def reference():
    """The text of docs/cli.md."""
    lines = ["# CLI reference", "",
             f"Every command's flags, with their defaults, as `--help` shows them. This page is generated from the "
             f"commands' parsers: after changing a flag, regenerate it with `{COMMAND}` (a test fails while it is "
             "stale). What the flags do in detail: [training](training.md), [after training](after-training.md), "
             "[sweeps](sweeps.md), [data](data.md)."]
    for command, description, parser in commands():
        lines += ["", f"## `{command}`", "", cell(description), ""] + flag_rows(parser)
        if parser.epilog:
            lines += ["", "```text", parser.epilog.strip("\n"), "```"]
    return "\n".join(lines) + "\n"


def main():
    """Write the reference to docs/cli.md."""
    with open(PAGE, "w", encoding="utf-8") as handle:
        handle.write(reference())
    print(f"wrote {PAGE}")


if __name__ == "__main__":
    main()
