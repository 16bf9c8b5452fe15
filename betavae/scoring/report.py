"""The evaluation report as the Python API returns it: a read-only mapping of evaluation.json's keys that
prints as `--mode evaluate` prints it, renders in a notebook, and gives its top-level entries as attributes.

Plain Python at import (format_report's module is imported when the report is printed).
"""
import collections.abc
import copy
import html


class EvaluationReport(collections.abc.Mapping):
    """One evaluation of a run: report["test_nll_iwae"] or report.test_nll_iwae (evaluation.json's top-level
    keys; nested entries are plain dicts and lists), str(report) the report text of `--mode evaluate` for the
    same run, as_dict() the content of evaluation.json. A Mapping, so code that read the dict this API returned
    before (report["kl_per_dim"], report == json.load(...), dict(report)) reads it alike."""

    def __init__(self, values, checkpoint_dir):
        """values: the report dict (evaluate_run's); checkpoint_dir: the run's folder as the report's first
        line names it."""
        self._values = values
        self._checkpoint_dir = checkpoint_dir

    def __getitem__(self, key):
        return self._values[key]

    def __iter__(self):
        return iter(self._values)

    def __len__(self):
        return len(self._values)

    def __getattr__(self, name):
        """A top-level entry of the report as an attribute; an AttributeError naming the keys otherwise."""
        values = self.__dict__.get("_values")  # None while copy or pickle rebuild the object
        if values is None or name not in values:
            raise AttributeError(f"{type(self).__name__!r} has no attribute {name!r}; its keys: "
                                 f"{', '.join(values or ())}")
        return values[name]

    def __dir__(self):
        return sorted(set(super().__dir__()) | {key for key in self._values if key.isidentifier()})

    def as_dict(self):
        """The report as evaluation.json holds it: a new dict (a deep copy), free to change."""
        return copy.deepcopy(self._values)

    def __str__(self):
        """The report text that `--mode evaluate` prints for this run (scoring.evaluate.format_report)."""
        from betavae.scoring.evaluate import format_report
        return format_report(self._values, self._checkpoint_dir)

    def __repr__(self):
        return (f"<EvaluationReport of {self._checkpoint_dir}: {len(self)} keys; print() it for the report, "
                "as_dict() for evaluation.json>")

    def _repr_html_(self):
        """A notebook's rendering: the report text, preformatted."""
        return f"<pre>{html.escape(str(self))}</pre>"

    def _repr_pretty_(self, printer, cycle):
        """IPython's rendering in a terminal: the report text."""
        printer.text(repr(self) if cycle else str(self))
