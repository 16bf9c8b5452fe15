"""PNG plots of a training run: curves, data against prior samples, the latent space, covariance matrices."""
import os

import matplotlib

matplotlib.use("Agg")  # files only: works without a display
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
import numpy as np  # noqa: E402

CURVES = (("loss", "loss (train)"), ("test_loss", "loss (test)"), ("kl", "KL"), ("log_likelihood", "E_q log p(x|z)"))


def plot_history(history, path):
    """Training curves from history.csv rows: loss and test loss, KL, expected log-likelihood."""
    epochs = [row["epoch"] for row in history]
    figure, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for key, label in CURVES[:2]:
        axes[0].plot(epochs, [row[key] for row in history], label=label)
    axes[0].legend()
    for axis, (key, label) in zip(axes[1:], CURVES[2:]):
        axis.plot(epochs, [row[key] for row in history])
        axis.set_title(label)
    axes[0].set_title("beta-objective (nats/sample)")
    for axis in axes:
        axis.set_xlabel("epoch")
    _save(figure, path)


def plot_pairs(data, samples, path, max_pairs=4, max_points=3000):
    """Scatter of a few dimension pairs, data against prior samples."""
    dim = data.shape[1]
    pairs = [(i, i + 1) for i in range(0, dim - 1, 2)][:max_pairs] or [(0, 0)]
    figure, axes = plt.subplots(1, len(pairs), figsize=(3.6 * len(pairs), 3.6), squeeze=False)
    for axis, (i, j) in zip(axes[0], pairs):
        axis.scatter(data[:max_points, i], data[:max_points, j], s=2, alpha=0.4, label="test data")
        axis.scatter(samples[:max_points, i], samples[:max_points, j], s=2, alpha=0.4, label="prior samples")
        axis.set_xlabel(f"x{i + 1}")
        axis.set_ylabel(f"x{j + 1}")
    axes[0][0].legend(markerscale=5)
    _save(figure, path)


def plot_latent(code_means, path, max_points=5000):
    """Encoder means of the test rows over the N(0, I) prior's 1, 2 and 3 sigma contours."""
    figure, axis = plt.subplots(figsize=(4.6, 4.6))
    means = code_means[:max_points]
    second = means[:, 1] if means.shape[1] > 1 else np.zeros(len(means))
    axis.scatter(means[:, 0], second, s=2, alpha=0.4)
    angles = np.linspace(0, 2 * np.pi, 200)
    for radius in (1, 2, 3):
        axis.plot(radius * np.cos(angles), radius * np.sin(angles), color="grey", linewidth=0.8)
    axis.set_aspect("equal")
    axis.set_xlabel("E_q[z1]")
    axis.set_ylabel("E_q[z2]" if means.shape[1] > 1 else "(one latent dimension)")
    axis.set_title("latent means of test rows over N(0, I)")
    _save(figure, path)


def plot_covariances(matrices, path):
    """Covariance matrices side by side on one colour scale, e.g. {'data': ..., 'prior samples': ...}."""
    limit = max(np.abs(matrix).max() for matrix in matrices.values())
    figure, axes = plt.subplots(1, len(matrices), figsize=(3.8 * len(matrices), 3.6), squeeze=False)
    for axis, (title, matrix) in zip(axes[0], matrices.items()):
        image = axis.imshow(matrix, cmap="RdBu_r", vmin=-limit, vmax=limit)
        axis.set_title(title)
    figure.colorbar(image, ax=axes[0].tolist(), shrink=0.8)
    _save(figure, path)


def _save(figure, path):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    figure.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(figure)

