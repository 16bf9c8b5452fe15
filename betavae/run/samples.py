"""A trained model's prior samples and reconstructions, as --mode prior and --mode recon write them and the
Python API's Run.sample and Run.reconstruct return them. TensorFlow is imported by the call, not on import."""


def output_chunks(model, seed, mean_only=False, num_samples=None, rows=None):
    """What --mode prior (num_samples prior samples) or --mode recon (reconstructions of rows) outputs, as
    float32 chunks of rows: the one source of these outputs for the after-training CLI and the Python API's Run."""
    from betavae.model.inference import prior_chunks, reconstruct
    if rows is None:
        return prior_chunks(model, num_samples, seed, mean_only)
    return iter([reconstruct(model, rows, seed, mean_only)])
