"""The beta-VAE (Higgins et al. 2017; Kingma & Welling 2013): model, loss and training steps, free of any CLI.

Objective per sample, in nats:  beta * KL(q(z|x) || N(0, I)) - E_q[log p(x|z)],
summed over dimensions and averaged over the batch. beta = 1 is the plain VAE (the negative ELBO).

The model is defined in betavae/model/vae.py, its objectives in betavae/model/objectives.py and the Gaussian
distributions in betavae/model/distributions.py; this module is their name at the top of the repository.
"""
from betavae.model.distributions import gaussian_kl, gaussian_log_density  # noqa: F401
from betavae.model.objectives import (BetaObjective, CapacityObjective, Objective, beta_objective,  # noqa: F401
                                      capacity_objective, objective_for)
from betavae.model.vae import (BetaVAE, EpochMetrics, Trainer, linear_ramp, loss_terms, make_optimizer,  # noqa: F401
                               scheduled_learning_rate, weighted_means)
