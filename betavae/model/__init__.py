"""The model core: Gaussian MLP layers, the beta-VAE with its loss terms and trainer, and inference."""
