"""The rate: the KL of each latent unit, the active units, the KL's parts (index-code MI, total correlation,
dimension-wise KL), beside the linear optimum's."""
from betavae.scoring.kl_decomposition import kl_decomposition
from betavae.scoring.sections.base import Section, nats, numbers
from betavae.scoring.truth import LINEAR_LABEL
from betavae.words import counted

# The KL's parts as the report, sweep.csv and the sweep's plots name them.
KL_PARTS = {"index_code_mi": "index-code MI I_q(x; z)", "total_correlation": "total correlation TC(z)",
            "dimension_wise_kl": "dimension-wise KL"}


def kl_column(dim):
    """The sweep.csv column of the KL of latent unit `dim` (from 0): kl_z1, kl_z2, ..."""
    return f"kl_z{dim + 1}"


class RateSection(Section):
    name = "KL parts"
    detail = "index-code MI, total correlation and dimension-wise KL over the rows' posteriors"
    keys = {
        "kl": "the rate: the mean KL(q(z\\|x) \\|\\| N(0, I)), in closed form (by Monte Carlo for a posterior "
              "family without one)",
        "kl_per_dim": "the rate of each latent dimension, in the model's own order",
        "active_units": "latent units with Cov_x(E_q[z_j]) > 0.01",
        "active_units_kl": "latent units with KL > 0.01",
        "kl_decomposition": "the mean KL split into `index_code_mi`, `total_correlation` and `dimension_wise_kl` "
                            "(see below), with `kl_monte_carlo` (their sum), `kl_analytic` (`kl` recomputed from "
                            "the same encoder outputs), `standard_errors`, `n_rows`, `samples_per_row`, "
                            "`index_code_mi_max` (log N) and `estimator`",
    }

    def compute(self, context):
        scores = context.scores()
        entries = {key: scores["report"][key] for key in ("kl", "kl_per_dim", "active_units", "active_units_kl")}
        family = context.model().posterior_family
        gaussians = family.diagonal_gaussians(scores["code_params"])
        if gaussians is None:
            context.unavailable["kl_decomposition"] = (f"the split of the KL over rows is for diagonal-Gaussian "
                                                       f"posteriors, not {family.name}")
        entries["kl_decomposition"] = None if gaussians is None else kl_decomposition(*gaussians, context.seed)
        return entries

    def lines(self, report):
        order = sorted(range(len(report["kl_per_dim"])), key=lambda j: -(report["kl_per_dim"][j] or 0.0))
        collapse = report["reference"]["collapse_beta"]
        optimum = report["reference"].get("linear_beta_optimum") or {}
        lines = ["KL per latent dim, sorted by KL (descending): "
                 + ", ".join(f"z{j + 1} {nats(report['kl_per_dim'][j])}" for j in order)
                 + f"; total {nats(report['kl'])}",
                 f"active units {report['active_units']} (Cov_x E_q[z] > 0.01; by KL > 0.01: "
                 f"{report['active_units_kl']})" + ("" if collapse is None else f"; for the {LINEAR_LABEL} total "
                                                                                f"collapse is optimal from beta "
                                                                                f"{collapse:.3f}")]
        parts = report.get("kl_decomposition")
        if parts:
            lines.append(f"KL parts, estimate over {counted(parts['n_rows'], 'row')} (nats/sample): MI "
                         f"{nats(parts['index_code_mi'])} + TC {nats(parts['total_correlation'])} + dim-wise "
                         f"{nats(parts['dimension_wise_kl'])}")
        if optimum:
            # its units are ordered on the training rows; on the rows scored two of them may swap
            descending = sorted(optimum["kl_per_dim"], reverse=True)
            lines.append(f"{LINEAR_LABEL}: KL per unit (descending) {numbers(descending, '.4f')}; "
                         f"total {nats(optimum['rate'])}; active units {optimum['active_units']}")
        return lines

    def columns(self, report):
        parts = report.get("kl_decomposition") or {}
        return {"active_units": report["active_units"],
                **{kl_column(j): value for j, value in enumerate(report["kl_per_dim"])},
                **{name: parts.get(name) for name in KL_PARTS}}
