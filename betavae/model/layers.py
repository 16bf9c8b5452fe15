"""Keras layers of the beta-VAE: MLPs mapping an input to the raw parameters of a distribution.

The encoder maps x -> the head of q(z|x)'s parameters, which the posterior family splits (for the diagonal
Gaussian: mean and log sigma); the decoder maps z -> (mean, log s) of p(x|z).
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


class MLP(keras.layers.Layer):
    """Two hidden ReLU layers, then one linear head of head_units outputs (one matrix product for every
    parameter: faster than one small head each)."""

    def __init__(self, head_units, hidden_units, head_name="mean_and_log_scale", **kwargs):
        super().__init__(**kwargs)
        self.hidden_units = hidden_units
        # Attributes, not a list: tf.train.Checkpoint tracks a Keras 3 layer only through an attribute.
        self.hidden_1 = keras.layers.Dense(hidden_units, activation="relu", name="hidden_1")
        self.hidden_2 = keras.layers.Dense(hidden_units, activation="relu", name="hidden_2")
        self.head = keras.layers.Dense(head_units, name=head_name)

    def call(self, inputs):
        return self.head(self.hidden_2(self.hidden_1(inputs)))


def mean_and_log_scale(head):
    """A head's two halves: the mean and the soft-clamped log-scale, [..., dim] each."""
    mean, log_scale = tf.split(head, 2, axis=-1)
    return mean, soft_clamp(log_scale, LOG_SCALE_MIN, LOG_SCALE_MAX)


class GaussianMLP(MLP):
    """An MLP whose head is split into the mean and the (soft-clamped) log-scale."""

    def __init__(self, output_dim, hidden_units, **kwargs):
        super().__init__(2 * output_dim, hidden_units, **kwargs)
        self.output_dim = output_dim

    def call(self, inputs):
        return mean_and_log_scale(super().call(inputs))


def posterior_encoder(head_units, hidden_units):
    """q(z|x): x (standardised) -> the head of the posterior family's raw parameters, [batch, head_units]
    (the family splits it: Posterior.split_head)."""
    return MLP(head_units, hidden_units, name="encoder")


def gaussian_decoder(data_dim, hidden_units):
    """p(x|z): z -> (mean, log s) of the standardised data, each [batch, data_dim]."""
    return GaussianMLP(data_dim, hidden_units, name="decoder")
