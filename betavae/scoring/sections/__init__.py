"""The evaluation report as sections, in the order the report prints them (each computes what it needs,
sharing the model's scores through the EvaluationContext): evaluate_run, format_report, the key table of
the documentation and the sweep's columns all come from this one list."""
from betavae.scoring.sections.factors import ALIGNMENTS, AlignmentSection, DisentanglementSection, TruthSection
from betavae.scoring.sections.gap import GapDecompositionSection
from betavae.scoring.sections.likelihood import FoldingSection, LikelihoodSection
from betavae.scoring.sections.rate import KL_PARTS, RateSection
from betavae.scoring.sections.references import ReferencesSection
from betavae.scoring.sections.run import RunSection
from betavae.scoring.sections.samples import PriorSamplesSection, ReconstructionSection

SECTIONS = (RunSection(), LikelihoodSection(), FoldingSection(), ReferencesSection(), GapDecompositionSection(),
            RateSection(), PriorSamplesSection(), ReconstructionSection(), AlignmentSection(), DisentanglementSection(),
            TruthSection())
UNAVAILABLE = {"unavailable": "for each value that is `null`, its dotted path and why"}


def report_keys():
    """Every top-level key of evaluation.json with its meaning, in the sections' order: {key: text}."""
    keys = {key: text for section in SECTIONS for key, text in section.keys.items()}
    return {**keys, **UNAVAILABLE}


def optional_keys():
    """The keys that only some reports hold (the objective's own weights, the grid's, the truth's)."""
    return {key for section in SECTIONS for key in section.optional}


def key_table():
    """The documentation's table of evaluation.json's keys (Markdown), made from the sections."""
    rows = [f"| `{key}` | {text} |" for key, text in report_keys().items()]
    return "\n".join(["| key | meaning |", "| --- | --- |", *rows])


def plot_labels():
    """The labels of the report entries that the sweep's plots draw key by key: {entry: {key: label}}."""
    return {"kl_decomposition": KL_PARTS, "alignment": ALIGNMENTS}
