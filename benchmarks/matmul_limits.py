"""This machine's arithmetic limits for the reference model, measured now: what its float32 matrix products
alone cost in numpy. The benchmarks divide their throughput by these, so a figure means the same on a
shared, noisy machine as on a quiet one.
"""
import subprocess
import sys
import time

import numpy as np

HIDDEN, LATENT = 128, 2


def encoder_shapes(data_dim):
    """(inputs, outputs) of the encoder's dense layers: data_dim-128-128-(2+2)."""
    return [(data_dim, HIDDEN), (HIDDEN, HIDDEN), (HIDDEN, 2 * LATENT)]


def decoder_shapes(data_dim):
    """(inputs, outputs) of the decoder's dense layers: 2-128-128-(data_dim+data_dim)."""
    return [(LATENT, HIDDEN), (HIDDEN, HIDDEN), (HIDDEN, 2 * data_dim)]


def best_seconds(function, rounds=5, calls=20):
    """Seconds per call of `function`, the best of a few rounds after a warm-up: the machine is shared, and
    the fastest round is the one least disturbed by other work."""
    for _ in range(3):
        function()
    best = np.inf
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(calls):
            function()
        best = min(best, (time.perf_counter() - started) / calls)
    return best


def _operands(shapes, rows):
    rng = np.random.default_rng(0)
    return [tuple(rng.standard_normal(shape, dtype=np.float32)
                  for shape in ((rows, n_in), (n_in, n_out), (rows, n_out))) for n_in, n_out in shapes]


def training_limit(data_dim, batch):
    """Samples/s if a training step cost only its 18 float32 matrix products (for each layer X@W, dY@W.T and
    X.T@dY at the batch size): the arithmetic floor of one step on this machine now."""
    operands = _operands(encoder_shapes(data_dim) + decoder_shapes(data_dim), batch)

    def step():
        for x, w, dy in operands:
            x @ w, dy @ w.T, x.T @ dy

    return batch / best_seconds(step)


def forward_limit(shapes, rows):
    """Samples/s if a forward pass cost only its matrix products X@W through the given layers, `rows` at a
    time: the arithmetic floor of sampling (decoder) or reconstruction (encoder and decoder)."""
    operands = _operands(shapes, rows)

    def forward():
        for x, w, _ in operands:
            x @ w

    return rows / best_seconds(forward, calls=5)


def interleaved_fractions(limit, measure, rounds):
    """(limit, rate) pairs of `rounds` alternating measurements, the limit first in each round: a machine whose
    speed drifts moves both figures of a pair alike, so each pair's fraction rate / limit stays meaningful."""
    return [(limit(), measure()) for _ in range(rounds)]


def fraction_figures(name, pairs):
    """`name samples_per_s=... limit_samples_per_s=... fraction=...` (medians over the rounds) and each round's
    fraction. A fraction above 1 means the limit was not one (the numpy products were slowed more than the
    measured code, e.g. by other load on the machine): the figure says `broken`, not a speed."""
    limits, rates = (np.array(column) for column in zip(*pairs))
    fractions = rates / limits
    verdict = "broken_over_1" if fractions.max() > 1 else "ok"
    return (f"{name}_samples_per_s={np.median(rates):.0f} {name}_limit_samples_per_s={np.median(limits):.0f} "
            f"{name}_fraction={np.median(fractions):.3f} {name}_round_fractions="
            + ",".join(f"{value:.3f}" for value in fractions) + f" {name}_measurement={verdict}")


def import_seconds():
    """Wall time of a fresh Python process that only imports TensorFlow: the start-up every CLI run pays."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import tensorflow"], check=True, capture_output=True)
    return time.perf_counter() - started
