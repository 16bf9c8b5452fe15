"""How a sweep's driver learns a training's progress: the worker appends one JSON line per epoch to the
run's progress file (EpochRecorder, the training session's on_epoch), and the driver reads the newest
(latest_epoch). Records, not printed text, so the console's layout is free to change."""
import json
import os

from betavae.run.folder import PROGRESS_FILE


class EpochRecorder:
    """on_epoch for training.session.train: appends {epoch, epochs, loss, test_loss} to the run's progress
    file, which it starts afresh, so that the file holds the current training's epochs only."""

    def __init__(self, folder, epochs):
        self.path, self.epochs = os.path.join(folder, PROGRESS_FILE), epochs
        with open(self.path, "w", encoding="utf-8"):
            pass

    def __call__(self, row):
        record = {"epoch": int(row["epoch"]), "epochs": self.epochs, "loss": float(row["loss"]),
                  "test_loss": float(row["test_loss"])}
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")


def latest_epoch(folder, since=0.0):
    """The newest epoch record of the run's current training (a dict), or None: none yet, a file last written
    before `since` (a queued run's, from an earlier sweep), or a last line still being written."""
    path = os.path.join(folder, PROGRESS_FILE)
    try:
        if os.path.getmtime(path) < since:
            return None
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        try:
            return json.loads(line)
        except ValueError:  # a line cut short while the worker writes it: the one before is the newest whole
            continue
    return None


def progress_line(record):
    """How the driver shows an epoch record: 'epoch 4/9  loss 1.2346  test loss 1.3000'."""
    return f"epoch {record['epoch']}/{record['epochs']}  loss {record['loss']:.4f}  test loss {record['test_loss']:.4f}"
