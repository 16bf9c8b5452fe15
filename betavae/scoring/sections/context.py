"""What every section of an evaluation reads: the opened run, its rows, the evaluation's options, and the
computations that several sections share (the model's per-row scores, the linear references, the truth's
log-densities), each done at the first section that asks and kept for the others. Importing this module
does not import TensorFlow; the model is restored at the first section that needs it.
"""
import numpy as np

from betavae.scoring.sections.base import HELD_OUT_ROWS
from betavae.scoring.truth import latents_of_test_rows, true_log_densities


class EvaluationContext:
    """One evaluation's inputs and shared results. `unavailable` collects, under a key's dotted path, why
    a value is null; sections add to it."""

    def __init__(self, run, *, iwae_samples, num_samples, seed, rows, rows_label, slow_metrics):
        self.run, self.folder = run, run.folder
        self.train, held_out = run.data()
        self.config = run.located()
        self.given_rows = rows is not None
        self.test = held_out if rows is None else np.asarray(rows, dtype=np.float32)
        self.rows_label = HELD_OUT_ROWS if rows is None else rows_label
        # Rows given may be training rows; so may held-out ones: a --test-data file that shares rows with the
        # training data, or data holding a row twice.
        self.trained_rows = run.training_rows_among(self.test)
        self.truth = run.truth()
        self.unavailable = dict(run.truth_unavailable)  # why a truth file beside the data is none for them
        self.iwae_samples, self.num_samples, self.seed = iwae_samples, num_samples, seed
        self.slow_metrics = slow_metrics
        self._kept = {}

    def once(self, name, compute):
        """compute() at the first call for `name`, its answer kept for every later call."""
        if name not in self._kept:
            self._kept[name] = compute()
        return self._kept[name]

    def model(self):
        """The trained model, restored once for the whole evaluation."""
        return self.run.model()

    def scores(self):
        """The model's own scores of the test rows (likelihood.model_scores): shared by the likelihood, rate,
        folding, reconstruction, truth and alignment sections."""
        from betavae.scoring.sections.likelihood import model_scores
        return self.once("scores", lambda: model_scores(self.model(), self.test, self.config.beta,
                                                        self.iwae_samples, self.seed, self.unavailable,
                                                        self.config.column_names))

    def reference(self):
        """The report's "reference" entry (references.reference_entry), computed once."""
        from betavae.scoring.sections.references import reference_entry
        return self.once("reference", lambda: reference_entry(self))

    def true_log_p(self):
        """log p(x) of each test row under the data's truth, or None without a truth."""
        return self.once("true_log_p", lambda: None if self.truth is None else true_log_densities(self.test,
                                                                                                 self.truth))

    def latents(self):
        """The true latents of the test rows, or None (other rows given, or data generated without them)."""
        return self.once("latents", lambda: None if self.given_rows else latents_of_test_rows(self.config,
                                                                                             self.unavailable))

    def model_log_p(self):
        """The model's log p(x) per test row: the prior grid's for a latent of 1 or 2, else IWAE's."""
        return self.scores()["log_p"]
