"""Keras layers of the beta-VAE: Gaussian MLPs mapping an input to the mean and log-scale of a diagonal Gaussian.

The encoder maps x -> (mean, log sigma) of q(z|x); the decoder maps z -> (mean, log s) of p(x|z).
"""
import tensorflow as tf

keras = tf.keras

# Bounds of every log standard deviation (latent units, or standardised data units): a scale below e^-7
# or above e^3 is never needed and would only let the loss run off to +-infinity.
LOG_SCALE_MIN = -7.0
LOG_SCALE_MAX = 3.0


def soft_clamp(values, low, high):
    """Smoothly squash values into (low, high): identity near the middle, tanh-saturated at the ends."""
    centre = 0.5 * (low + high)
    half_width = 0.5 * (high - low)
    return centre + half_width * tf.tanh((values - centre) / half_width)


class GaussianMLP(keras.layers.Layer):
    """Two hidden ReLU layers, then one linear head split into the mean and the (soft-clamped) log-scale."""

    def __init__(self, output_dim, hidden_units, **kwargs):
        super().__init__(**kwargs)
        self.output_dim = output_dim
        self.hidden_units = hidden_units
        # Attributes, not a list: tf.train.Checkpoint tracks a Keras 3 layer only through an attribute.
        self.hidden_1 = keras.layers.Dense(hidden_units, activation="relu", name="hidden_1")
        self.hidden_2 = keras.layers.Dense(hidden_units, activation="relu", name="hidden_2")
        # One head for both halves: a single matrix product is faster than two small ones.
        self.head = keras.layers.Dense(2 * output_dim, name="mean_and_log_scale")

    def call(self, inputs):
        mean, log_scale = tf.split(self.head(self.hidden_2(self.hidden_1(inputs))), 2, axis=-1)
        return mean, soft_clamp(log_scale, LOG_SCALE_MIN, LOG_SCALE_MAX)


def gaussian_encoder(latent_dim, hidden_units):
    """q(z|x): x (standardised) -> (mean, log sigma) of the latent, each [batch, latent_dim]."""
    return GaussianMLP(latent_dim, hidden_units, name="encoder")


def gaussian_decoder(data_dim, hidden_units):
    """p(x|z): z -> (mean, log s) of the standardised data, each [batch, data_dim]."""
    return GaussianMLP(data_dim, hidden_units, name="decoder")
