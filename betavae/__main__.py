"""`python -m betavae <command>`: the `betavae` command (betavae/commands/dispatch.py)."""
import sys

from betavae.commands.dispatch import console

if __name__ == "__main__":
    sys.exit(console())
