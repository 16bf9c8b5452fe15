"""Each run plot draws tiny runs (1-D and 3-D latents, D = 1 and D = 20) into a readable PNG."""
import subprocess
import sys

import numpy as np
import pytest
from matplotlib import image

from betavae.plots import run as plots
from conftest import REPO


def history(epochs):
    """History rows whose first epoch is far off, as in a real run."""
    decay = 10 * np.exp(-np.arange(epochs))
    return [{"epoch": epoch + 1, "loss": 13 + decay[epoch], "test_loss": 13.1 + decay[epoch], "kl": 2 - 0.1 * epoch,
             "log_likelihood": -11 - decay[epoch]} for epoch in range(epochs)]


def assert_png(path):
    pixels = image.imread(path)
    assert pixels.ndim == 3 and min(pixels.shape[:2]) > 100
    assert pixels[..., :3].std() > 0.05  # something was drawn


@pytest.mark.parametrize("epochs, best", [(0, None), (1, None), (30, 12.9)])
def test_history_plot(tmp_path, epochs, best):
    plots.plot_history(history(epochs), tmp_path / "history.png", best)
    assert_png(tmp_path / "history.png")


def test_history_y_range_is_not_squashed_by_the_first_epoch():
    low, high = plots._robust_limits([23.0, 14.0, 13.5, 13.2] * 1 + [13.1] * 20, skip=1, extra=[12.9])
    assert low < 12.9 < 14.0 < high < 16


@pytest.mark.parametrize("dim", [1, 20])
def test_pairs_plot(tmp_path, dim):
    rng = np.random.default_rng(dim)
    data = rng.standard_normal((300, dim)) @ rng.standard_normal((dim, dim))
    plots.plot_pairs(data, rng.standard_normal((200, dim)), tmp_path / "pairs.png")
    assert_png(tmp_path / "pairs.png")


@pytest.mark.parametrize("dim", [2, 3, 7, 12, 20])
def test_informative_pairs_show_every_dimension_up_to_twelve(dim):
    rng = np.random.default_rng(dim)
    data = rng.standard_normal((400, dim))
    data[:, -1] += 3 * data[:, 0]  # the most correlated pair comes first
    pairs = plots.informative_pairs(data)
    assert pairs[0] == (0, dim - 1)
    assert len(pairs) == min(-(-dim // 2), plots.PAIR_PANELS)
    if dim <= 2 * plots.PAIR_PANELS:
        assert {i for pair in pairs for i in pair} == set(range(dim))


@pytest.mark.parametrize("latent_dim", [1, 3])
def test_latent_plot(tmp_path, latent_dim):
    means = np.random.default_rng(latent_dim).standard_normal((500, latent_dim)) * np.linspace(1, 0.1, latent_dim)
    plots.plot_latent(means, tmp_path / "latent.png")
    assert_png(tmp_path / "latent.png")


@pytest.mark.parametrize("dim", [1, 20])
def test_covariances_plot_with_difference_panel(tmp_path, dim):
    rng = np.random.default_rng(dim)
    data = np.cov(rng.standard_normal((100, dim)), rowvar=False).reshape(dim, dim)
    matrices = {"test data": data, "prior samples": data + 0.01, "truth": np.eye(dim)}
    plots.plot_covariances(matrices, tmp_path / "covariances.png")
    assert_png(tmp_path / "covariances.png")


def drawn_figure(monkeypatch, draw):
    """The figure a plot function draws, caught before it is saved."""
    figures = []
    monkeypatch.setattr(plots, "save_figure", lambda figure, path: figures.append(figure))
    draw()
    return figures[0]


def test_pairs_and_covariances_are_labelled_with_the_column_names(monkeypatch, tmp_path):
    rng = np.random.default_rng(3)
    data, samples, names = rng.normal(size=(100, 3)), rng.normal(size=(100, 3)), ("height", "b b", "c,d")
    figure = drawn_figure(monkeypatch, lambda: plots.plot_pairs(data, samples, tmp_path / "p.png", names))
    labels = {axis.get_xlabel() for axis in figure.axes} | {axis.get_ylabel() for axis in figure.axes}
    assert set(names) <= labels and not any(label.startswith("x") for label in labels)
    figure = drawn_figure(monkeypatch, lambda: plots.plot_covariances({"test data": np.eye(3)}, tmp_path / "c.png",
                                                                      names=names))
    assert [tick.get_text() for tick in figure.axes[0].get_xticklabels()] == list(names)
    figure = drawn_figure(monkeypatch, lambda: plots.plot_covariances({"test data": np.eye(2)}, tmp_path / "c.png"))
    assert [tick.get_text() for tick in figure.axes[0].get_yticklabels()] == ["x1", "x2"]


def test_writing_plots_leaves_the_callers_matplotlib_as_it_was(tmp_path):
    """A notebook's inline figures survive the suite's plots: no backend is chosen and pyplot holds no figure of
    ours (in a process of its own, whose backend is chosen before the plots module loads)."""
    probe = ("import matplotlib; matplotlib.use('svg'); import matplotlib.pyplot as plt; import numpy as np, sys\n"
             "from betavae.plots.run import plot_pairs\n"
             "rng = np.random.default_rng(0)\n"
             "plot_pairs(rng.normal(size=(50, 3)), rng.normal(size=(40, 3)), sys.argv[1])\n"
             "print(matplotlib.get_backend(), plt.get_fignums())")
    result = subprocess.run([sys.executable, "-c", probe, str(tmp_path / "pairs.png")], capture_output=True,
                            text=True, timeout=120, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["svg", "[]"] and (tmp_path / "pairs.png").stat().st_size > 0


@pytest.mark.parametrize("dim", [1, 3])
def test_pairs_show_as_many_prior_samples_as_test_rows_mixed_and_translucent(monkeypatch, tmp_path, dim):
    """600 test rows against 10,000 prior samples: 600 of each, in one shuffled order, neither opaque."""
    rng = np.random.default_rng(4)
    data, samples = rng.normal(size=(600, dim)), rng.normal(size=(10_000, dim))
    figure = drawn_figure(monkeypatch, lambda: plots.plot_pairs(data, samples, tmp_path / "pairs.png"))
    if dim == 1:
        counts = [sum(patch.get_height() for patch in container) for container in figure.axes[0].containers]
        assert len(counts) == 2 and all(0 < patch.get_alpha() < 1 for c in figure.axes[0].containers for patch in c)
        assert {text.get_text() for text in figure.axes[0].get_legend().get_texts()} == {"test data",
                                                                                         "prior samples"}
        return
    scatter = figure.axes[0].collections[0]
    colours = [tuple(colour) for colour in scatter.get_facecolors()]
    assert len(scatter.get_offsets()) == 1200 and colours.count(colours[0]) == 600 and len(set(colours)) == 2
    assert colours[:100].count(colours[0]) not in (0, 100)  # the sources interleave in the draw order
    assert 0 < scatter.get_alpha() < 1
    assert [text.get_text() for text in figure.legends[0].get_texts()] == ["test data (600)",
                                                                           "prior samples (600)"]


def test_a_full_disk_while_saving_a_plot_names_the_plot(tmp_path, monkeypatch):
    import errno
    from matplotlib.figure import Figure
    from betavae.cli import UsageError

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    figure = Figure()
    monkeypatch.setattr(figure, "savefig", full)
    with pytest.raises(UsageError, match=f"^{tmp_path / 'history.png'}: cannot write the plot .No space left"):
        plots.save_figure(figure, str(tmp_path / "history.png"))
    assert list(tmp_path.iterdir()) == []
