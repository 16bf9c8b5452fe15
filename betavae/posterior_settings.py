"""What the posterior families (betavae.model.distributions) ask of the other settings, in plain Python so that
the flags, config.json and the Python API are checked before TensorFlow loads: the latent dimensions a family
needs, the families an objective cannot use, and the fields that size one family only.
"""
# The built-in families with no per-dimension density: q(z|x) does not factorise over the latent dimensions.
UNFACTORISED = ("mixture", "flow")
# The families whose training draws are weighted (stratified by component).
WEIGHTED_DRAWS = ("mixture",)
# The fields that size one family and no other: field -> that family.
SIZES = {"components": "mixture", "flow_steps": "flow"}
# The latent dimensions a family needs at least: a coupling step keeps one part of z and moves another.
MIN_LATENT_DIM = {"flow": 2}


def problem(values, spell):
    """What makes `values` (flags or a config: attributes named like the fields) unfit for their posterior
    family, as one sentence naming fields by spell(field), or None."""
    least = MIN_LATENT_DIM.get(values.posterior, 1)
    if values.latent_dim < least:
        return (f"{spell('posterior')} {values.posterior} needs {spell('latent_dim')} {least} or more (got "
                f"{values.latent_dim}): each coupling step keeps one part of z and moves the other")
    return None


def unused(values, defaults, spell):
    """The one sentence refusing the first of SIZES that `values` set away from `defaults` (a setting left at
    its default is not given) although their posterior family never reads it, or None. For the settings of a
    new run only: a config.json that recorded such a value still loads."""
    name = next((name for name, family in SIZES.items()
                 if family != values.posterior and getattr(values, name) != defaults[name]), None)
    if name is None:
        return None
    return f"{spell(name)} does nothing with the {values.posterior} posterior; it is for the {SIZES[name]} posterior"
