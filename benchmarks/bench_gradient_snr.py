"""The signal-to-noise ratio of the iwae objective's gradients, plain against DReG, as K grows (a benchmark,
not a test).

    python benchmarks/bench_gradient_snr.py                       # K = 1 8 32 64, R = 100, about 2 minutes
    python benchmarks/bench_gradient_snr.py --ks 1 8 --draws 50 --checkpoint-dir RUN

SNR as Rainforth et al. 2018 (eq. 4) define it: per parameter, |mean| / standard deviation of its gradient over
R independent noise draws on one fixed batch; summarised per network (encoder, decoder) as the median over
its parameters, and their mean. The model is a default run trained briefly (so the gradients are not those of
a random initialisation), on the shipped data unless a run folder is given; the loss is the library's
(IWAEObjective over batch_terms, compiled as training compiles it). The literature's expectation (Rainforth et
al. 2018; Tucker et al. 2019): plain IWAE's encoder SNR falls as K grows, DReG's does not. Step times are
interleaved (one step of each per draw, each first on every other draw) and their ratio is DReG's median over plain's.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from betavae.cli import UsageError  # noqa: E402  (needs the path above)
from betavae.data import loading  # noqa: E402
from betavae.run.folder import RunFolder  # noqa: E402

GRADIENTS = ("plain", "dreg")


def trained_run(folder, data, epochs, seed):
    """Train a default run of `epochs` epochs on `data` into `folder` (kept if it already holds them)."""
    newest = RunFolder(folder).newest_checkpoint()
    if newest is not None and newest[0] >= epochs:
        return
    result = subprocess.run([sys.executable, "beta_vae_main.py", "--data", data, "--epochs", str(epochs), "--seed",
                             str(seed), "--checkpoint-dir", folder, "--overwrite"], cwd=REPO, capture_output=True,
                            text=True)
    if result.returncode != 0:
        sys.exit(f"error: training failed: {result.stderr.strip()[-500:]}")


def gradient_function(model, objective, x):
    """A compiled function (as training compiles it: model.compilation) of a noise draw [K, rows, latent]
    giving the loss's gradients, the encoder's and the decoder's each flattened into one vector."""
    import tensorflow as tf
    from betavae.model.compilation import graph_function
    from betavae.model.vae import batch_terms
    encoder, decoder = model.encoder.trainable_variables, model.decoder.trainable_variables
    weights = tf.ones([x.shape[0]])

    def gradients(noise):
        with tf.GradientTape() as tape:
            loss = objective.batch_loss(batch_terms(model, x, weights, noise))
        grads = tape.gradient(loss, encoder + decoder)
        flat = [tf.reshape(grad, [-1]) for grad in grads]
        return tf.concat(flat[:len(encoder)], 0), tf.concat(flat[len(encoder):], 0)

    return graph_function(gradients)


def signal_to_noise(draws):
    """Per parameter |mean| / std of the gradient over the draws [R, parameters] (std with R - 1), over the
    parameters whose gradient varies: (median, mean)."""
    std = draws.std(axis=0, ddof=1)
    varies = std > 0
    ratio = np.abs(draws.mean(axis=0))[varies] / std[varies]
    return float(np.median(ratio)), float(np.mean(ratio))


def measure(model, x, k, draws, seed, dataset_size):
    """For each gradient: the encoder's and decoder's SNR (median, mean) and the median seconds per step, the
    two gradients' steps interleaved on the same noise draws."""
    import tensorflow as tf
    from betavae.model.objectives import IWAEObjective
    functions = {name: gradient_function(model, IWAEObjective(1.0, dataset_size, name), x) for name in GRADIENTS}
    shape = [k, x.shape[0], model.latent_dim]
    for function in functions.values():  # compile and warm up outside the timings
        for _ in range(3):
            function(tf.zeros(shape))
    grads = {name: ([], []) for name in GRADIENTS}
    seconds = {name: [] for name in GRADIENTS}
    for draw in range(draws):
        noise = tf.random.stateless_normal(shape, seed=[seed, draw], alg="philox")
        for name in GRADIENTS[::1 if draw % 2 == 0 else -1]:  # each goes first on every other draw
            function = functions[name]
            started = time.perf_counter()
            encoder, decoder = function(noise)
            encoder, decoder = encoder.numpy(), decoder.numpy()
            seconds[name].append(time.perf_counter() - started)
            grads[name][0].append(encoder)
            grads[name][1].append(decoder)
    return {name: {"encoder": signal_to_noise(np.array(grads[name][0])),
                   "decoder": signal_to_noise(np.array(grads[name][1])),
                   "seconds": float(np.median(seconds[name]))} for name in GRADIENTS}


def refuse(message):
    """A user's mistake: one line on stderr, exit status 2."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def main():
    """Train (or open) the run, measure each K and gradient, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ks", nargs="+", type=int, default=[1, 8, 32, 64], help="the K values (importance samples)")
    parser.add_argument("--draws", type=int, default=100, help="R: independent noise draws per K and gradient")
    parser.add_argument("--rows", type=int, default=100, help="rows of the fixed batch (seeded choice)")
    parser.add_argument("--epochs", type=int, default=25, help="epochs of the default run trained first")
    parser.add_argument("--data", default=os.path.join(REPO, "data", "gaussian_10d.npy"))
    parser.add_argument("--checkpoint-dir", default=None,
                        help="a trained run to measure (default: train one into --workdir)")
    parser.add_argument("--workdir", default=None, help="where the trained run goes (default: a temporary folder)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the training, the batch and the noise")
    args = parser.parse_args()
    if min(args.ks) < 1 or args.draws < 2 or args.rows < 1:
        refuse("--ks must be at least 1, --draws at least 2 and --rows at least 1")
    folder = args.checkpoint_dir
    if folder is None:
        folder = os.path.join(args.workdir or tempfile.mkdtemp(prefix="bench_gradient_snr_"), "run")
        trained_run(folder, args.data, args.epochs, args.seed)
    run = RunFolder(folder)
    try:
        model, config = run.restore_model()
        rows = loading.load_data(config.data, memory_map=True)  # the run's data as training read it
    except UsageError as error:
        refuse(str(error))
    import tensorflow as tf
    tf.keras.utils.set_random_seed(args.seed)
    chosen = np.sort(np.random.default_rng(args.seed).choice(len(rows), min(args.rows, len(rows)), replace=False))
    x = tf.constant(np.asarray(rows[chosen], np.float32))
    print(f"run {folder} (epoch {run.restored_epoch}), {len(chosen)} rows, R = {args.draws} draws")
    print("| K | gradient | encoder SNR median | (mean) | decoder SNR median | (mean) | ms per step "
          "| time ratio to plain |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for k in args.ks:
        found = measure(model, x, k, args.draws, args.seed, config.train_rows)
        for name in GRADIENTS:
            entry = found[name]
            ratio = entry["seconds"] / found["plain"]["seconds"]
            print(f"| {k} | {name} | {entry['encoder'][0]:.3f} | {entry['encoder'][1]:.3f} | {entry['decoder'][0]:.3f} "
                  f"| {entry['decoder'][1]:.3f} | {1000 * entry['seconds']:.2f} | {ratio:.2f} |", flush=True)


if __name__ == "__main__":
    main()
