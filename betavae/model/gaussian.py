"""Diagonal Gaussians in TensorFlow, shared by the model (vae.py), the beta-TCVAE terms (tc.py) and inference:
log(2 pi), the closed-form KL from the prior N(0, I), the log-density. It imports nothing of the model, so vae.py
and tc.py both import it without a cycle (vae.py imports objectives.py, which imports tc.py).
"""
import math

import tensorflow as tf

LOG_2PI = math.log(2.0 * math.pi)


def gaussian_kl(mean, log_scale):
    """KL(N(mean, diag exp(log_scale)^2) || N(0, I)) per row, summed over the last axis (closed form,
    Kingma & Welling 2013, appendix B)."""
    return 0.5 * tf.reduce_sum(tf.square(mean) + tf.exp(2.0 * log_scale) - 1.0 - 2.0 * log_scale, axis=-1)


def gaussian_log_density(x, mean, log_scale):
    """log N(x; mean, diag exp(log_scale)^2), summed over the last axis."""
    standardized = (x - mean) * tf.exp(-log_scale)
    return -0.5 * tf.reduce_sum(tf.square(standardized) + 2.0 * log_scale + LOG_2PI, axis=-1)
