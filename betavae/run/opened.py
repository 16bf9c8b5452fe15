"""A trained run opened once for what comes after training: config.json read once, the data located and
loaded at first use, the truth of generated data read once, the model restored at first use, once.

Every mode of beta_vae_after_training.py, evaluate_run, plot_run, export_run and the API's Run hold one, so
that `--mode evaluate --plots` reads config.json, the data and the checkpoint once each. What needs
nothing but the folder (prior samples, the history plot, export) works without the data
(docs/python-api.md). Importing this module does not import TensorFlow.
"""
from betavae.cli import UsageError
from betavae.data import loading
from betavae.data.run_rows import count_training_rows, load_run_data
from betavae.run.folder import run_folder
from betavae.words import counted

_UNREAD = object()  # the truth before it is read (None is an answer: data of unknown origin)


class OpenRun:
    """One opened run: `folder` (its RunFolder) and `config` (its RunConfig as recorded); located(), data(),
    truth() and model() each do their work at the first call and keep the answer. data: a copy of the
    training data (checked against its SHA-256), if it moved. verbose: show TensorFlow's own log messages."""

    def __init__(self, folder, config, data=None, verbose=False):
        self.folder, self.config, self.copy, self.verbose = folder, config, data, verbose
        self._located = self._data = self._model = None
        self._truth, self.truth_unavailable = _UNREAD, {}

    def with_data(self, data):
        """This run with its data looked for at the copy `data` too; the model restored already is kept."""
        if data is None or data == self.copy:
            return self
        other = OpenRun(self.folder, self.config, data, self.verbose)
        other._model = self._model
        return other

    def located(self):
        """The config with data and test_data pointing at where those files are now (RunFolder.locate_data);
        a one-line UsageError saying how to point at a file that is nowhere."""
        if self._located is None:
            self._located = self.folder.locate_data(self.config, [self.copy])
        return self._located

    def data(self):
        """The run's (training rows, held-out test rows) as float32, loaded once; a data file changed since
        training, or not there, is a UsageError."""
        if self._data is None:
            self._data = load_run_data(self.located())
        return self._data

    def fitting(self, rows, label):
        """rows [n, columns], unless they have another number of columns than the model was trained on: a
        UsageError naming label (the file or argument they came from). The one check of rows given after
        training, for the command's --rows and the API's rows alike."""
        if rows.shape[1] != self.config.data_dim:
            raise UsageError(f"{label}: {counted(rows.shape[1], 'column')}, but the model in {self.folder.path} was "
                             f"trained on {counted(self.config.data_dim, 'column')}")
        return rows

    def training_rows_among(self, rows):
        """How many of rows are training rows of the run (run_rows.count_training_rows), or None when the
        run's data cannot be read (moved, and no copy given)."""
        try:
            train = self.data()[0]
        except UsageError:
            return None
        return count_training_rows(rows, train)

    def truth(self):
        """The truth recorded beside generated data (loading.load_truth: a truth.Truth), or None: read once.
        Why a truth file there is no truth for these data is kept in truth_unavailable (a report's entries)."""
        if self._truth is _UNREAD:
            try:
                path = self.located().data
            except UsageError:  # the data moved and no copy was given: the truth may still be where it was
                path = self.config.data
            config = self.config
            self._truth = loading.load_truth(path, config.data_dim, config.columns, data_sha256=config.data_sha256,
                                             unavailable=self.truth_unavailable)
        return self._truth

    def model(self):
        """The trained BetaVAE, rebuilt from the config and the newest readable checkpoint at the first call."""
        if self._model is None:
            self._model, _ = self.folder.restore_model(self.verbose, self.config)
        return self._model


def open_run(run, data=None, verbose=False):
    """The OpenRun of a run: an OpenRun itself (with the copy `data`, if given; verbose then stays its own),
    or a RunFolder or its path, whose config.json is read now (a UsageError when it holds no run)."""
    if isinstance(run, OpenRun):
        return run.with_data(data)
    folder = run_folder(run)
    return OpenRun(folder, folder.load_config(), data, verbose)
