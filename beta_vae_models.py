"""The beta-VAE (Higgins et al. 2017; Kingma & Welling 2013): model, loss and training steps, free of any CLI.

Objective per sample, in nats:  beta * KL(q(z|x) || N(0, I)) - E_q[log p(x|z)],
summed over dimensions and averaged over the batch. beta = 1 is the plain VAE (the negative ELBO).

The model is defined in betavae/model/vae.py; this module is its name at the top of the repository.
"""
from betavae.model.vae import (BetaVAE, Trainer, beta_objective, capacity_objective, gaussian_kl,  # noqa: F401
                               gaussian_log_density, linear_ramp, loss_terms, make_optimizer,
                               scheduled_learning_rate, weighted_means)
