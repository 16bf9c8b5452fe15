"""Keras layers of the beta-VAE: Gaussian MLPs mapping an input to the mean and log-scale of a diagonal Gaussian.

The encoder maps x -> (mean, log sigma) of q(z|x); the decoder maps z -> (mean, log s) of p(x|z).

The layers are defined in betavae/model/layers.py; this module is their name at the top of the repository.
"""
from betavae.model.layers import (LOG_SCALE_MAX, LOG_SCALE_MIN, GaussianMLP, gaussian_decoder,  # noqa: F401
                                  gaussian_encoder, soft_clamp)
