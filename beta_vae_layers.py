"""Keras layers of the beta-VAE: MLPs mapping an input to the raw parameters of a distribution.

The encoder maps x -> the head of q(z|x)'s parameters, which the posterior family splits (for the diagonal
Gaussian: mean and log sigma); the decoder maps z -> (mean, log s) of p(x|z).

The layers are defined in betavae/model/layers.py; this module is their name at the top of the repository.
"""
from betavae.model.layers import (LOG_SCALE_MAX, LOG_SCALE_MIN, MLP, GaussianMLP, gaussian_decoder,  # noqa: F401
                                  mean_and_log_scale, posterior_encoder, soft_clamp)
