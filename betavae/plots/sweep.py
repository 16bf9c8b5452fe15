"""PNG plots of a beta sweep: the trained models (mean over seeds, bars spanning the seeds) against the best
linear-Gaussian model, on a beta axis that shows beta 0 and reaches the beta of total collapse."""
import math
import os

import numpy as np
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullLocator

from betavae.plots.run import save_figure, subplots

MARKERS = ("o", "s", "^", "v", "D", "P", "X")  # one per series of a panel, so that series meeting stay apart
NUDGE = 0.05  # log-beta step between series drawn at the same betas (about 5%: side by side, still at their beta)


def over_seeds(betas, values):
    """Group values by beta: (betas, means, [mean - min, max - mean]) for error bars spanning the seeds;
    None values (a score a run could not have) are left out."""
    groups = {}
    for beta, value in zip(betas, values):
        if value is not None:
            groups.setdefault(beta, []).append(value)
    keys = sorted(groups)
    means = np.array([np.mean(groups[beta]) for beta in keys])
    spread = np.array([[mean - min(groups[beta]), max(groups[beta]) - mean] for beta, mean in zip(keys, means)])
    # clipped at 0: the mean of equal values can round past them, and error bars refuse negative lengths
    return np.array(keys), means, np.maximum(spread.T.reshape(2, len(keys)), 0.0)


def plain_number(value):
    """A tick label in plain decimals: 0.05, 2, 20 (never 5x10^-2)."""
    return np.format_float_positional(value, trim="-")


def beta_ticks(low, high):
    """Ticks at 1, 2 and 5 times powers of ten between low and high (only powers of ten on a wide axis)."""
    exponents = range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
    for mantissas in ((1, 2, 5), (1,)):
        ticks = [m * 10.0 ** e for e in exponents for m in mantissas if low <= m * 10.0 ** e <= high]
        if len(ticks) <= 9:
            break
    return ticks


def nudge(index, count):
    """The factor by which series `index` of `count` drawn at the same betas moves along the log beta axis, so
    that equal values stand side by side rather than on top of each other (beta 0 stays put: there the series'
    markers tell them apart)."""
    return math.exp(NUDGE * (index - (count - 1) / 2))


def beta_axis(axis, betas, high, collapse):
    """A log beta axis up to `high` with plain labels; symmetric-log with a linear stretch near 0 when the
    sweep has beta 0, so that it is shown too. The region where total collapse is optimal is shaded, and so
    is beta < 1, where the objective has no finite optimum (the optimum's curve sits at the scale floor),
    when the sweep has a beta there."""
    positive = [beta for beta in betas if beta > 0] or [high / 10]
    low = min(positive) / 1.5
    ticks = beta_ticks(low, high)
    if 0 in betas:
        axis.set_xscale("symlog", linthresh=min(positive), linscale=0.5)
        axis.set_xlim(-min(positive) * 0.3, high)
        ticks = [0.0] + [tick for tick in ticks if tick >= min(positive)]
    else:
        axis.set_xscale("log")
        axis.set_xlim(low, high)
    axis.xaxis.set_major_locator(FixedLocator(ticks))
    axis.xaxis.set_major_formatter(FuncFormatter(lambda value, _: plain_number(value)))
    axis.xaxis.set_minor_locator(NullLocator())
    if any(beta < 1 for beta in betas):
        axis.axvspan(axis.get_xlim()[0], 1.0, color="C1", alpha=0.07, lw=0,
                     label="beta < 1: no finite optimum (curve at the e^-7 scale floor)")
    if collapse is not None and collapse < high:
        axis.axvspan(collapse, high, color="grey", alpha=0.12, lw=0,
                     label=f"total collapse optimal (beta >= {collapse:.3g})")
    axis.set_xlabel("beta")


def model_points(axis, betas, values, colour, label, seeds, marker="o", hollow=False, shift=1.0):
    """The trained models' mean over seeds with bars spanning the seeds, drawn at beta times `shift` (nudge);
    hollow: open, larger markers, which show a filled one drawn at the same place."""
    keys, means, spread = over_seeds(betas, values)
    if len(keys):
        suffix = f" (mean, bars: range over {seeds} seeds)" if seeds > 1 else ""
        style = {"markerfacecolor": "none", "markersize": 9, "markeredgewidth": 1.4} if hollow else {}
        axis.errorbar(keys * shift, means, yerr=spread if seeds > 1 else None, fmt=marker, color=colour,
                      capsize=3, zorder=3, label=label + suffix, **style)


def plot_sweep(reports, curve, folder, labels, seeds=1, collapse_points=()):
    """The sweep's plots from its evaluation reports (one per run) and the optimum `curve` over beta:
    rate against distortion, active units and KL per latent dimension (dotted at collapse_points, the betas
    where the optimum's units collapse, largest first; None: not in range; with the parts of the KL when
    the reports hold them) against beta, and alignment against beta when the reports hold it. labels: the
    report sections' labels of their entries ({entry: {key: label}}, scoring.sections.plot_labels). Returns
    the paths written."""
    betas = [report["beta"] for report in reports]
    collapse = reports[0]["reference"].get("collapse_beta")
    high = max(betas + [collapse or 0]) * 1.5 or 1.0
    paths = [plot_rate_distortion(reports, curve, seeds, os.path.join(folder, "rate_distortion.png"))]

    figure, axis = subplots(figsize=(6, 3.8))
    if curve:
        axis.step([p["beta"] for p in curve], [p["active_units"] for p in curve], where="post", color="grey",
                  label="linear optimum")
    model_points(axis, betas, [r["active_units"] for r in reports], "C3", "trained models", seeds)
    beta_axis(axis, betas, high, collapse)
    axis.yaxis.set_major_locator(MaxNLocator(integer=True))
    axis.set_ylabel("active latent units (count)")
    axis.legend(fontsize=8)
    paths.append(saved(figure, os.path.join(folder, "active_units.png")))

    paths.append(plot_kl(reports, curve, high, collapse, seeds, collapse_points,
                         os.path.join(folder, "kl_per_dim.png"), labels["kl_decomposition"]))

    if any(report.get("alignment") for report in reports):
        paths.append(plot_alignment(reports, high, collapse, seeds, os.path.join(folder, "alignment.png"),
                                    labels["alignment"]))
    if any(report.get("disentanglement") for report in reports):
        paths.append(plot_disentanglement(reports, high, collapse, seeds, os.path.join(folder,
                                                                                       "disentanglement.png")))
    return paths


def plot_disentanglement(reports, high, collapse, seeds, path):
    """The disentanglement metrics of the reports against beta (mean over seeds, bars spanning them), with
    the exact MIG references of a linear-Gaussian truth; a metric no report holds is left out."""
    labels = {"mig": "MIG (20-bin estimate)", "sap": "SAP", "modularity": "modularity",
              "dci_disentanglement": "DCI disentanglement", "dci_completeness": "DCI completeness",
              "dci_informativeness": "DCI informativeness", "factor_vae": "FactorVAE score"}
    present = {name: label for name, label in labels.items()
               if any((report.get("disentanglement") or {}).get(name) is not None for report in reports)}
    figure, axis = subplots(figsize=(6.5, 4.2))
    metric_points(axis, reports, "disentanglement", present, seeds)
    exact = [dict(report, exact=(report.get("disentanglement") or {}).get("exact")) for report in reports]
    if any(report["exact"] for report in exact):
        betas = [report["beta"] for report in reports]
        for key, style, label in (("mig_continuous", "--", "exact MIG (continuous MI)"),
                                  ("mig_discretised", ":", "exact MIG at the estimator's bins")):
            values = [(report["exact"] or {}).get(key) for report in exact]
            keys, means, _ = over_seeds(betas, values)
            axis.plot(keys, means, style, color="C0", linewidth=1, label=label)
    beta_axis(axis, [report["beta"] for report in reports], high, collapse)
    axis.set_ylim(0.0, 1.05)
    axis.ticklabel_format(axis="y", useOffset=False)
    estimate_labels(axis, reports, "disentanglement", "score (1 = disentangled)",
                    "disentanglement of E_q[z] vs the true factors")
    return saved(figure, path)


def estimate_labels(axis, reports, section, ylabel, title):
    """Label an axis of estimates from the reports' `section`: its title says over how many test rows
    (the most any report used), and the legend goes below the plot."""
    rows = sorted({(report.get(section) or {}).get("n_rows") for report in reports} - {None})
    axis.set_ylabel(ylabel)
    axis.set_title(f"{title}, estimated over {rows[-1]} test rows", fontsize=9)
    axis.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2)


def plot_kl(reports, curve, high, collapse, seeds, collapse_points, path, parts_labels):
    """KL per latent dimension against beta (models and optimum, dotted where the optimum drops each);
    beside it, when the reports hold the KL decomposition, the parts of the models' KL (metric_points) with
    the KL itself."""
    parts = any(report.get("kl_decomposition") for report in reports)
    figure, axes = subplots(1, 2 if parts else 1, figsize=(12, 4.4) if parts else (6.5, 4.2), squeeze=False)
    axis, betas = axes[0, 0], [report["beta"] for report in reports]
    dims = len(reports[0]["kl_per_dim"])
    finite = [point for point in curve if point["beta"] >= 1]  # below 1 the curve sits at the scale floor
    for dim in range(dims):
        if finite:
            axis.plot([p["beta"] for p in finite], [sorted(p["kl_per_dim"], reverse=True)[dim] for p in finite],
                      color=f"C{dim}", alpha=0.6, label=f"optimum, dim {dim + 1}")
        model_points(axis, betas, [sorted(r["kl_per_dim"], reverse=True)[dim] for r in reports], f"C{dim}",
                     f"model, dim {dim + 1}", seeds, MARKERS[dim % len(MARKERS)], shift=nudge(dim, dims))
    for dim, threshold in enumerate(collapse_points):
        if threshold is not None:
            axis.axvline(threshold, color=f"C{dim}", linestyle=":", linewidth=1)
    beta_axis(axis, betas, high, collapse)
    axis.set_ylim(*data_range([kl for row in reports + finite for kl in row["kl_per_dim"]]))
    axis.set_ylabel("KL of the latent dimension (nats/sample)")
    clipped = "\nthe optimum drawn from beta 1 on (below: no finite optimum)" if len(finite) < len(curve) else ""
    axis.set_title("latent dimensions by size, side by side at each beta;\ndotted: where the optimum drops each"
                   + clipped, fontsize=9)
    axis.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13))  # below: it hides no point
    if parts:
        axis = axes[0, 1]
        count = 1 + len(parts_labels)
        model_points(axis, betas, [report["kl"] for report in reports], "grey", "KL (the sum)", seeds, hollow=True,
                     shift=nudge(0, count))
        metric_points(axis, reports, "kl_decomposition", parts_labels, seeds, first=1, count=count)
        beta_axis(axis, betas, high, collapse)
        estimate_labels(axis, reports, "kl_decomposition", "part of the KL (nats/sample)",
                        "the models' KL = MI + TC + dimension-wise KL,\nside by side at each beta")
    return saved(figure, path)


def data_range(values):
    """A y-range over the values shown (with 0, where a KL starts), padded by 8% each way: the data's range,
    whatever a curve left out of the plot would reach."""
    values = [value for value in values if value is not None and np.isfinite(value)]
    low, high = min(0.0, *values), max(0.0, *values)
    pad = 0.08 * (high - low) or 0.5
    return low - pad, high + pad


def metric_points(axis, reports, section, names, seeds, first=0, count=None):
    """Each of the metrics `names` (a dict of name -> label, or names as their own labels) in the reports'
    `section` (e.g. "kl_decomposition") against beta, one colour and marker each, side by side at each beta
    (as series first, first + 1, ... of `count` on the axis; default: these alone): mean over seeds, bars
    spanning them; a report without the section or a null value is left out."""
    labels = names if isinstance(names, dict) else {name: name for name in names}
    betas = [report["beta"] for report in reports]
    count = len(labels) if count is None else count
    for index, (name, label) in enumerate(labels.items()):
        values = [(report.get(section) or {}).get(name) for report in reports]
        model_points(axis, betas, values, f"C{index}", label, seeds, MARKERS[(first + index) % len(MARKERS)],
                     shift=nudge(first + index, count))


def plot_rate_distortion(reports, curve, seeds, path):
    """Distortion against rate: the optimum's curve and each beta's models (mean, bars over seeds)."""
    betas = [report["beta"] for report in reports]
    rates = [report["kl"] for report in reports]
    distortions = [report["test_beta_objective"] - report["beta"] * report["kl"] for report in reports]
    figure, axis = subplots(figsize=(5.8, 4.2))
    if curve:
        axis.plot([p["rate"] for p in curve], [p["distortion"] for p in curve], color="grey", label="linear optimum")
    keys, mean_rates, rate_spread = over_seeds(betas, rates)
    _, mean_distortions, distortion_spread = over_seeds(betas, distortions)
    suffix = f" (mean, bars: range over {seeds} seeds)" if seeds > 1 else ""
    axis.errorbar(mean_rates, mean_distortions, xerr=rate_spread, yerr=distortion_spread, fmt="o", color="C3",
                  capsize=3, zorder=3, label="trained models" + suffix)
    for index, (beta, rate, distortion) in enumerate(zip(keys, mean_rates, mean_distortions)):
        # Alternating above and below the point, so that the labels of neighbouring betas do not overlap.
        axis.annotate(f"beta {plain_number(beta)}", (rate, distortion), textcoords="offset points",
                      xytext=(5, 5 if index % 2 else -11), fontsize=8)
    axis.set_xlabel("rate: KL (nats/sample)")
    axis.set_ylabel("distortion: -E_q log p(x|z) (nats/sample)")
    axis.legend(fontsize=8)
    return saved(figure, path)


def plot_alignment(reports, high, collapse, seeds, path, alignment_labels):
    """The reports' alignment scores (mean over latent dimensions) against beta; a null score is left out."""
    betas = [report["beta"] for report in reports]
    figure, axis = subplots(figsize=(6, 3.8))
    series = list(alignment_labels.items())
    for index, (colour, marker, (key, label)) in enumerate(zip(("C0", "C2"), ("o", "s"), series)):
        values = [(report.get("alignment") or {}).get(key) for report in reports]
        model_points(axis, betas, values, colour, label, seeds, marker, hollow=index > 0,
                     shift=nudge(index, len(series)))
    beta_axis(axis, betas, high, collapse)
    # |cosine| lies in [0, 1]; a fixed range keeps matplotlib from an offset axis (ticks -0.0005..0, "+1")
    # when every score is near 1.
    axis.set_ylim(0.0, 1.05)
    axis.ticklabel_format(axis="y", useOffset=False)
    axis.set_ylabel("alignment: |cosine| (mean over active units)")
    axis.legend(fontsize=8, title="side by side at each beta; at equal heights where the\nlinear optimum's "
                "latent space is the true factors' own", title_fontsize=7)
    return saved(figure, path)


def saved(figure, path):
    """Write the figure as PNG and close it (plots.run.save_figure); returns the path for the caller's list."""
    save_figure(figure, path)
    return path
