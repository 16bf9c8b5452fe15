"""betavae: a beta-VAE for vector data, scored against the exact optimum of generated data."""
