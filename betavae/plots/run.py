"""PNG plots of a training run: curves, data against prior samples, the latent space, covariance matrices."""
import math
import os

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from betavae.cli import os_errors
from betavae.config import default_names
from betavae.files import atomic_file


PAIR_PANELS = 6  # scatter panels of plot_pairs: up to 12 dimensions all appear, in pairs
POINTS = 3000  # points per scatter, per source (at most; plot_pairs shows as many of each source)
ANNOTATED_DIM = 5  # covariance matrices up to this size show their values in the cells


def subplots(*grid, figsize, layout=None, **options):
    """A figure and its axes as pyplot.subplots makes them, but outside pyplot: no backend is chosen and no
    figure is registered, so writing plots to files leaves a notebook's own figures and display as they were."""
    figure = Figure(figsize=figsize, layout=layout)
    return figure, figure.subplots(*grid, **options)


def _robust_limits(values, skip, extra=()):
    """A y-range for training curves that the first, far-off epochs do not squash: the first `skip` values
    are left out (they may run off the plot); `extra` (a reference line) is always inside."""
    values = np.asarray(values, dtype=float)
    kept = np.concatenate([values[skip:] if len(values) > skip else values, np.asarray(extra, dtype=float)])
    low, high = kept.min(), kept.max()
    pad = 0.08 * (high - low) or 0.05 * abs(high) or 0.05
    return low - pad, high + pad


def plot_history(history, path, best=None, best_label="best achievable"):
    """Training curves from history.csv rows: train and test objective (with `best`, the best achievable
    test value, as a dashed line), the KL and the expected log-likelihood, all in nats per sample."""
    epochs = [row["epoch"] for row in history]
    skip = max(1, len(history) // 20) if len(history) > 3 else 0
    figure, axes = subplots(1, 3, figsize=(13, 3.6), layout="constrained")
    panels = ((axes[0], (("loss", "train"), ("test_loss", "test")), "training objective"),
              (axes[1], (("kl", "train"),), r"rate: KL$(q(z|x)\,\|\,p(z))$, training rows"),
              (axes[2], (("log_likelihood", "train"),), r"$E_q \log p(x|z)$, training rows"))
    for axis, curves, title in panels:
        for key, label in curves:
            axis.plot(epochs, [row[key] for row in history], label=label)
        extra = [best] if best is not None and axis is axes[0] else []
        if extra:
            axis.axhline(best, color="black", linestyle="--", linewidth=1, label=f"{best_label} {best:.4f}")
        values = [row[key] for row in history for key, _ in curves]
        if values:  # a run stopped before its first epoch has no history yet
            axis.set_ylim(*_robust_limits(values, skip * len(curves), extra))
        axis.set(xlabel="epoch", ylabel="nats/sample", title=title)
        if len(curves) > 1 or extra:
            axis.legend(fontsize=8)
    if skip:
        figure.text(0.5, -0.06, f"y-ranges leave out the first {skip} epoch(s), which may run off the plot",
                    ha="center", fontsize=8, color="grey")
    save_figure(figure, path)


def data_correlation(data):
    """The correlation matrix of data's columns, computed in float64 (float32 sums of values near its largest
    overflow), with 0 between a column that does not vary and any other (undefined there: numpy's corrcoef
    would warn and give nan)."""
    centred = np.asarray(data, dtype=np.float64)
    centred = centred - centred.mean(axis=0)
    scale = np.sqrt(np.mean(centred * centred, axis=0))
    standard = np.divide(centred, scale, out=np.zeros_like(centred), where=scale > 0)
    correlation = standard.T @ standard / len(standard)
    np.fill_diagonal(correlation, 1.0)
    return correlation


def informative_pairs(data, max_pairs=PAIR_PANELS):
    """Disjoint pairs of the D >= 2 dimensions, most correlated first (greedily), so that every dimension
    appears once when there are at most 2 * max_pairs of them; otherwise the max_pairs most correlated."""
    dim = data.shape[1]
    correlation = np.abs(data_correlation(data))
    ranked = sorted(((correlation[i, j], i, j) for i in range(dim) for j in range(i + 1, dim)), reverse=True)
    pairs, used = [], set()
    for _, i, j in ranked:
        if i not in used and j not in used:
            pairs.append((i, j))
            used.update((i, j))
    left = [i for i in range(dim) if i not in used]
    if left:
        partner = max((j for j in range(dim) if j != left[0]), key=lambda j: correlation[left[0], j])
        pairs.append(tuple(sorted((left[0], partner))))
    return pairs[:max_pairs]


def plot_pairs(data, samples, path, names=None):
    """Test data against prior samples: a scatter per dimension pair (informative_pairs) of as many of each
    (the first rows of each, up to POINTS), translucent and in one random draw order, so that neither source
    hides the other; a histogram of each for 1-D data. names: the columns' names (default x1..xD), which
    label the axes."""
    dim = data.shape[1]
    names = names or default_names(dim)
    shown = min(len(data), len(samples), POINTS)
    data, samples = data[:shown], samples[:shown]
    if dim == 1:
        figure, axis = subplots(figsize=(4.6, 3.6), layout="constrained")
        bins = np.histogram_bin_edges(np.concatenate([data[:, 0], samples[:, 0]]), bins=50)
        axis.hist(data[:, 0], bins=bins, density=True, alpha=0.5, label="test data")
        axis.hist(samples[:, 0], bins=bins, density=True, alpha=0.5, label="prior samples")
        axis.set(xlabel=names[0], ylabel="density", title="test data and prior samples")
        axis.legend(fontsize=8)
        save_figure(figure, path)
        return
    pairs = informative_pairs(data)
    columns = min(3, len(pairs))
    rows = -(-len(pairs) // columns)
    figure, axes = subplots(rows, columns, figsize=(3.4 * columns, 3.3 * rows), squeeze=False,
                                layout="constrained")
    points = np.concatenate([data, samples])
    colours = np.array(["C0"] * len(data) + ["C1"] * len(samples))
    order = np.random.default_rng(0).permutation(len(points))
    correlation = data_correlation(data)
    for axis, (i, j) in zip(axes.flat, pairs):
        # fewer points drawn larger, so that a small test set is as easy to see as a full one
        axis.scatter(points[order, i], points[order, j], s=2 * math.sqrt(POINTS / shown), alpha=0.35,
                     c=colours[order], linewidths=0)
        axis.set(xlabel=names[i], ylabel=names[j])
        axis.set_title(f"{names[i]}, {names[j]}: data correlation {correlation[i, j]:+.2f}", fontsize=9)
    for axis in axes.flat[len(pairs):]:
        axis.set_visible(False)
    shown = (f"all {dim} dimensions, paired by correlation" if len(pairs) * 2 >= dim else
             f"the {len(pairs)} most correlated disjoint pairs of {dim} dimensions")
    handles = [Line2D([], [], marker="o", linestyle="", color=c) for c in ("C0", "C1")]
    figure.legend(handles, [f"test data ({len(data)})", f"prior samples ({len(samples)})"], loc="upper right",
                  fontsize=8, ncol=2)
    figure.suptitle(f"test data and prior samples: {shown}", x=0.02, ha="left", fontsize=10)
    save_figure(figure, path)


def plot_latent(code_means, path):
    """Encoder means E_q[z] of the test rows against the N(0, I) prior: a histogram against the N(0, 1)
    density for a 1-D latent; else over the prior's labelled 1, 2, 3 sigma circles, for the (up to three)
    dimensions whose means vary most."""
    means = code_means[:5 * POINTS]
    latent_dim = means.shape[1]
    if latent_dim == 1:
        figure, axis = subplots(figsize=(4.6, 3.6), layout="constrained")
        axis.hist(means[:, 0], bins=60, density=True, alpha=0.6, label="E_q[z1] of test rows")
        grid = np.linspace(-4, 4, 200)
        axis.plot(grid, np.exp(-grid ** 2 / 2) / np.sqrt(2 * np.pi), color="black", label="prior N(0, 1)")
        axis.set(xlabel="E_q[z1]", ylabel="density", title="latent means of the test rows")
        axis.legend(fontsize=8)
        save_figure(figure, path)
        return
    variances = means.var(axis=0)
    dims = np.sort(np.argsort(-variances, kind="stable")[:3])
    pairs = [(dims[0], dims[1])] if latent_dim == 2 else [(dims[a], dims[b]) for a, b in ((0, 1), (0, 2), (1, 2))]
    figure, axes = subplots(1, len(pairs), figsize=(4.2 * len(pairs), 4.3), squeeze=False,
                                layout="constrained")
    angles = np.linspace(0, 2 * np.pi, 200)
    for axis, (i, j) in zip(axes[0], pairs):
        axis.scatter(means[:, i], means[:, j], s=2, alpha=0.3, linewidths=0)
        for radius in (1, 2, 3):
            axis.plot(radius * np.cos(angles), radius * np.sin(angles), color="grey", linewidth=0.8)
            axis.annotate(f"{radius}\u03c3", (radius * 0.71, radius * 0.71), fontsize=8, color="dimgrey",
                          bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.7, "pad": 0.5})
        axis.set_aspect("equal")
        axis.set(xlim=(-3.6, 3.6), ylim=(-3.6, 3.6), xlabel=f"E_q[z{i + 1}]", ylabel=f"E_q[z{j + 1}]")
        axis.set_title(f"variance of the means: z{i + 1} {variances[i]:.2f}, z{j + 1} {variances[j]:.2f}",
                       fontsize=9)
    chosen = "" if latent_dim <= 3 else f" (the 3 of {latent_dim} dimensions whose means vary most)"
    figure.suptitle(f"latent means of the test rows over the N(0, I) prior{chosen}", fontsize=10, y=1.04)
    save_figure(figure, path)


def _dimension_ticks(axis, names):
    """The columns' names as tick labels on both axes of a matrix image, thinned to at most 10 per axis."""
    ticks = np.arange(0, len(names), max(1, -(-len(names) // 10)))
    axis.set_xticks(ticks, [names[t] for t in ticks], fontsize=7, rotation=90)
    axis.set_yticks(ticks, [names[t] for t in ticks], fontsize=7)


def plot_covariances(matrices, path, model="prior samples", reference="test data", names=None):
    """Covariance matrices side by side on one symmetric colour scale (e.g. test data, prior samples,
    truth), then `model` minus `reference` on its own symmetric scale; values in squared data units.
    names: the columns' names (default x1..xD), the ticks of both axes."""
    matrices = {title: np.asarray(matrix, dtype=float) for title, matrix in matrices.items()}
    panels = list(matrices.items())
    if model in matrices and reference in matrices:
        panels.append((f"{model} - {reference}", matrices[model] - matrices[reference]))
    figure, axes = subplots(1, len(panels), figsize=(3.6 * len(panels) + 1.2, 3.5), squeeze=False,
                                layout="constrained")
    shared = max(np.abs(matrix).max() for matrix in matrices.values()) or 1.0
    for index, (axis, (title, matrix)) in enumerate(zip(axes[0], panels)):
        difference = index >= len(matrices)
        limit = (np.abs(matrix).max() or 1.0) if difference else shared
        image = axis.imshow(matrix, cmap="PuOr_r" if difference else "RdBu_r", vmin=-limit, vmax=limit)
        axis.set_title(title, fontsize=9)
        _dimension_ticks(axis, names or default_names(len(matrix)))
        if len(matrix) <= ANNOTATED_DIM:  # few cells: the numbers say more than the colours
            for (row, column), value in np.ndenumerate(matrix):
                axis.text(column, row, f"{value:.3g}", ha="center", va="center", fontsize=8,
                          bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.75, "pad": 1})
        if difference or index == len(matrices) - 1:
            targets = [axis] if difference else axes[0][:len(matrices)].tolist()
            label = "difference" if difference else "covariance"
            figure.colorbar(image, ax=targets, shrink=0.8, label=f"{label} (data units squared)")
    save_figure(figure, path)


def save_figure(figure, path):
    """Write the figure as a PNG in one step (files.atomic_file, so a kill never leaves a half-written plot)."""
    with os_errors(path, "cannot write the plot"):  # a full disk names the plot, as every write does
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with atomic_file(path) as handle:
            figure.savefig(handle, format="png", dpi=110, bbox_inches="tight")
