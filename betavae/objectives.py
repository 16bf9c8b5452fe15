"""What each training objective means, beside its TensorFlow loss (betavae.model.objectives.LOSSES, under the
same name): its defaults, the checks between its fields (on flags and on config.json alike), how the
training header and the evaluation describe it, and its named epoch metrics, from which the history's
columns, the epoch table and the TensorBoard tags follow. Adding an objective is one class here
(registered) and its loss.

Plain Python: the flags, the header and the report read it before TensorFlow loads.
"""
from betavae.posterior_settings import UNFACTORISED, WEIGHTED_DRAWS
from betavae.words import counted

IWAE_TRAINING_SAMPLES = 8  # the K of --objective iwae unless --mc-samples gives it (Burda et al. 2016 use 5 and 50)
# The gradient estimators of the iwae objective: the bound's own reparameterised gradient, or the doubly
# reparameterised one (Tucker et al. 2019), whose encoder gradient does not fade as K grows.
IWAE_GRADIENTS = ("plain", "dreg")
BASE_METRICS = ("loss", "kl", "log_likelihood")  # every objective's first epoch metrics, in this order
EPOCH_LABELS = {"loss": "loss", "kl": "kl", "log_likelihood": "ll",  # the epoch table's column names
                "mi": "mi", "tc": "tc", "dimension_wise_kl": "dim_kl"}
# The settings that weigh or schedule a term of some objectives and not of others.
WEIGHTS = ("beta", "kl_warmup_epochs", "capacity_epochs", "gamma", "alpha")


class ObjectiveSpec:
    """One objective's meaning. `name`: its --objective choice; `metrics`: its named epoch metrics, the
    loss (the objective itself, to be minimised), the KL and E_q log p(x|z) first, then its own terms."""

    name = None
    metrics = BASE_METRICS
    uses = WEIGHTS  # those of WEIGHTS it reads (an objective that says nothing refuses none)

    def defaults(self):
        """The values this objective gives the fields that settings leave unset (None): {field: value}."""
        return {"gamma": 100.0, "mc_samples": 1}

    def problem(self, values, spell):
        """What makes `values` (flags or a config: attributes named like the fields) unfit for this objective,
        as one sentence that names fields by spell(field) (a flag, or a config.json field), or None. Here: a
        gradient estimator of the iwae objective given to another."""
        if values.iwae_gradient != "plain":
            return (f"{spell('iwae_gradient')} {values.iwae_gradient} is for {spell('objective')} iwae only (got "
                    f"{spell('objective')} {values.objective})")
        return None

    def unused(self, values, defaults, spell):
        """The one sentence refusing the first of WEIGHTS that `values` set away from `defaults` (a setting left at
        its default is not given) although this objective never reads it, or None. Applied to the settings
        of a new run only: a config.json recorded such a value when training took it silently, and its run
        still loads."""
        name = next((name for name in WEIGHTS if name not in self.uses and getattr(values, name) != defaults[name]),
                    None)
        if name is None:
            return None
        owners = [objective.name for objective in OBJECTIVES.values() if name in objective.uses]
        return (f"{spell(name)} does nothing with the {self.name} objective; it is for the "
                f"{', '.join(owners[:-1]) + ' and ' if len(owners) > 1 else ''}{owners[-1]} objective"
                f"{'s' if len(owners) > 1 else ''}")

    def describe(self, config):
        """The objective as the training header prints it, with its weights."""
        raise NotImplementedError

    def title(self, report):
        """The objective as the evaluation's first line names it, from the report's entries."""
        raise NotImplementedError

    def weights(self, config):
        """The objective's own weights that the evaluation report records beside beta: {key: value}."""
        return {}

    def columns(self, config):
        """What the epoch table's columns of this objective's own metrics mean: lines for the training header,
        under its columns line (none when it has no metrics of its own)."""
        return []

    def schedule(self, config):
        """The history columns whose value the run changes over its epochs, for the epoch table: beta under a
        KL warm-up."""
        return ["beta"] if config.kl_warmup_epochs else []


class BetaSpec(ObjectiveSpec):
    name = "beta"
    uses = ("beta", "kl_warmup_epochs")

    def describe(self, config):
        return f"beta {config.beta:g} * KL - E_q log p(x|z)" + warm_up(config)

    def title(self, report):
        return f"beta {report['beta']:g}"


class CapacitySpec(ObjectiveSpec):
    name = "capacity"
    uses = ("capacity_epochs", "gamma")

    def problem(self, values, spell):
        if values.capacity is None:
            return f"{spell('objective')} capacity needs {spell('capacity')} C, the capacity in nats that C rises to"
        return super().problem(values, spell)

    def describe(self, config):
        return (f"gamma {config.gamma:g} * |KL - C| - E_q log p(x|z); C 0 -> {config.capacity:g} nats over "
                f"{counted(config.capacity_epochs, 'epoch')}")

    def title(self, report):
        return (f"capacity objective gamma |KL - C| - E_q log p(x|z) with gamma {report['gamma']:g} and C rising "
                f"to {report['capacity']:g} nats")

    def weights(self, config):
        return {"capacity": config.capacity, "gamma": config.gamma}

    def schedule(self, config):
        """C rises over the run (the objective does not use beta)."""
        return ["capacity"]


class TCSpec(ObjectiveSpec):
    name = "tc"
    uses = ("beta", "kl_warmup_epochs", "gamma", "alpha")
    metrics = (*BASE_METRICS, "mi", "tc", "dimension_wise_kl")  # the terms the loss weighs

    def defaults(self):
        return {**super().defaults(), "gamma": 1.0}

    def problem(self, values, spell):
        if values.capacity is not None:
            return f"{spell('capacity')} is for the capacity objective, not {spell('objective')} tc"
        if values.posterior in UNFACTORISED:
            return (f"{spell('objective')} tc needs a posterior that factorises over the latent dimensions; "
                    f"{spell('posterior')} {values.posterior} does not")
        return super().problem(values, spell)

    def describe(self, config):
        return (f"beta-TCVAE: alpha {config.alpha:g} * MI + beta {config.beta:g} * TC + gamma {config.gamma:g} * "
                "dim-wise KL - E_q log p(x|z)" + warm_up(config))

    def title(self, report):
        return (f"beta-TCVAE objective alpha MI + beta TC + gamma dim-wise KL - E_q log p(x|z) with alpha "
                f"{report['alpha']:g}, beta {report['beta']:g}, gamma {report['gamma']:g}")

    def weights(self, config):
        return {"alpha": config.alpha, "gamma": config.gamma}

    def columns(self, config):
        """The loss as the sum of the table's columns, with the run's weights (beta as at its end under a
        warm-up), and what mi, tc and dim_kl are: batch estimates, not the model's true values."""
        beta = f"beta {config.beta:g}" + (" after the warm-up" if config.kl_warmup_epochs else "")
        return [f"loss = alpha {config.alpha:g} * mi + {beta} * tc + gamma {config.gamma:g} * dim_kl - ll",
                "mi + tc + dim_kl = log q(z|x) - log p(z) at the drawn z (kl is its expectation), split by",
                "estimates of q(z) from each batch: biased, they depend on the batch size"]


class IWAESpec(ObjectiveSpec):
    name = "iwae"
    uses = ()

    def defaults(self):
        return {**super().defaults(), "mc_samples": IWAE_TRAINING_SAMPLES}

    def problem(self, values, spell):
        """The iwae objective is a bound on log p(x): no KL weight, no schedule of one, and more than one draw."""
        if values.beta != 1.0:
            return (f"{spell('objective')} iwae is a bound on log p(x) with no KL weight: leave {spell('beta')} at 1 "
                    f"(got {values.beta:g})")
        if values.capacity is not None or values.kl_warmup_epochs:
            scheduled = spell("capacity" if values.capacity is not None else "kl_warmup_epochs")
            return f"{scheduled} schedules a KL weight that {spell('objective')} iwae does not have"
        if values.iwae_gradient == "dreg" and values.posterior in WEIGHTED_DRAWS:
            return (f"{spell('iwae_gradient')} dreg is not defined for {spell('posterior')} {values.posterior} (its "
                    f"draws are stratified by component); use {spell('iwae_gradient')} plain")
        if values.mc_samples == 1:
            return (f"{spell('objective')} iwae with {spell('mc_samples')} 1 is the ELBO estimated by one draw: give "
                    f"K >= 2 (default {IWAE_TRAINING_SAMPLES}) or use {spell('objective')} beta")
        return None

    def describe(self, config):
        gradient = "; DReG gradients (Tucker et al. 2019)" if config.iwae_gradient == "dreg" else ""
        return f"-IWAE: -log (1/K) sum_k p(x, z_k) / q(z_k|x), K = {config.mc_samples}" + gradient

    def title(self, report):
        return f"importance-weighted bound (IWAE) with K={report['training_samples']}"

    def weights(self, config):
        return {"training_samples": config.mc_samples}


def warm_up(config):
    """The header's note on a KL warm-up, if the run has one."""
    return (f"; KL warm-up: beta 0 -> {config.beta:g} over {counted(config.kl_warmup_epochs, 'epoch')}"
            if config.kl_warmup_epochs else "")


OBJECTIVES = {objective.name: objective for objective in
              (BetaSpec(), CapacitySpec(), TCSpec(), IWAESpec())}


def register(objective):
    """Add an objective (an ObjectiveSpec instance) to the choices of --objective and of config.json; its loss
    goes into betavae.model.objectives.LOSSES under the same name. Returns it."""
    OBJECTIVES[objective.name] = objective
    return objective


def epoch_label(metric):
    """A metric's column name in the epoch table: short, at most 8 characters."""
    return EPOCH_LABELS.get(metric, metric[:8])


def objective_of(values):
    """The ObjectiveSpec that a run's settings or config train: capacity whenever a capacity is set (--capacity
    selects it, and runs saved before the objective field were beta or capacity runs by this rule alone),
    else the one named by `objective`."""
    return OBJECTIVES["capacity" if values.capacity is not None else values.objective]
