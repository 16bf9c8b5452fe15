"""A section of the evaluation report: the keys of evaluation.json it writes (each with its meaning), how
it computes them from an EvaluationContext, the report lines it prints, and the sweep.csv columns it
contributes. evaluate_run, format_report, the key table of docs/evaluation.md and the sweep's table all loop over the
sections, so a key is named in one place.
"""

# The report's `rows` of the run's own held-out test rows; rows given after training are labelled otherwise
# ("rows of FILE", "given rows"), and what is written of them goes elsewhere (evaluation_rows.json).
HELD_OUT_ROWS = "held-out test rows"


class Section:
    """One part of the report. Subclasses set `name`, `keys` (evaluation.json's top-level keys this section
    writes, each with its meaning: {key: text}), `optional` (keys written only for some runs), and
    `detail` (what its progress lines say it computes; empty for sections too quick to announce)."""

    name = None
    keys = {}
    optional = ()
    detail = ""

    def stage(self, context):
        """(label, detail) of the progress lines around this section's computation, or None for none."""
        return (self.name, self.detail) if self.detail else None

    def compute(self, context):
        """The section's entries ({key: value}) for the report of `context` (an EvaluationContext)."""
        raise NotImplementedError

    def lines(self, report):
        """The report's lines for this section (without indentation), read from the whole report."""
        return []

    def columns(self, report):
        """This section's sweep.csv columns for a report ({column: number or None}); none by default."""
        return {}


def nats(value):
    """Nats per sample: four decimals; n/a for a missing value."""
    return "n/a" if value is None else f"{value:.4f}"


def number(value, fmt=".4g"):
    """A value in the given format; n/a for a missing (null) one."""
    return "n/a" if value is None else format(value, fmt)


def percent(value):
    """A fraction as a percentage with two decimals; n/a for a missing one."""
    return "n/a" if value is None else f"{100 * value:.2f}%"


def numbers(values, fmt):
    """Values in the given format, separated by spaces; n/a for each missing one."""
    return " ".join("n/a" if value is None else format(value, fmt) for value in values)


def difference(value, reference):
    """value - reference, or None when either is missing."""
    return None if value is None or reference is None else value - reference
