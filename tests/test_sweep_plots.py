"""The sweep's plots as figures: series that meet stay visible (side by side at each beta, distinct markers,
open ones around filled ones), the KL axis keeps to the data, and the beta < 1 shading appears only when the
sweep has a beta there."""
import numpy as np
import pytest

from betavae.plots import sweep as sweep_plots
from betavae.scoring.sections import plot_labels

SHADING = "beta < 1: no finite optimum"


def report(beta, seed=0):
    """A report whose series coincide: alignment to the optimum = to the truth; MI = the KL; TC = dim-wise
    KL = 0; the second unit's KL 0 from beta 4 on."""
    kl = [2.0 / (1 + beta), 0.0 if beta >= 4 else 0.5 / (1 + beta)]
    return {"beta": beta, "kl": sum(kl), "kl_per_dim": kl, "test_beta_objective": 12.0 + beta, "active_units": 2,
            "latent_dim": 2, "reference": {"collapse_beta": 7.0, "linear_beta_optimum": None},
            "alignment": {"mean_to_optimum": 0.9, "mean_to_truth": 0.9},
            "kl_decomposition": {"index_code_mi": sum(kl), "total_correlation": 0.0, "dimension_wise_kl": 0.0,
                                 "n_rows": 500}}


def curve(low, high):
    """The optimum's curve, at the e^-7 scale floor (about 7 nats in a unit) below beta 1."""
    return [{"beta": beta, "rate": 1.0, "distortion": 9.0, "active_units": 2,
             "kl_per_dim": [7.0, 2.5] if beta < 1 else [max(0.0, 2 - beta / 4), max(0.0, 1 - beta / 2.5)]}
            for beta in np.geomspace(low, high, 30)]


def series(axis):
    """The data line (x, y, marker, face colour) of each errorbar series of an axis, in drawing order."""
    lines = [container.lines[0] for container in axis.containers]
    return [(np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float), line.get_marker(),
             line.get_markerfacecolor()) for line in lines]


def assert_apart(drawn_series):
    """Every two series differ in marker and stand apart at every beta above 0 they share."""
    for index, (x, _, marker, _) in enumerate(drawn_series):
        for other_x, _, other_marker, _ in drawn_series[index + 1:]:
            assert marker != other_marker
            assert not set(np.round(x[x > 0], 9)) & set(np.round(other_x[other_x > 0], 9))



def test_alignment_to_the_optimum_and_to_the_truth_are_both_visible_when_equal(monkeypatch, tmp_path):
    figure = drawn_alignment(monkeypatch, tmp_path)
    axis = figure.axes[0]
    drawn_series = series(axis)
    assert len(drawn_series) == 2 and np.allclose(drawn_series[0][1], drawn_series[1][1])  # equal scores
    assert_apart(drawn_series)
    assert drawn_series[1][3] == "none"  # the second open, so the first shows through where they meet
    assert "true factors" in axis.get_legend().get_title().get_text()


def drawn_alignment(monkeypatch, tmp_path):
    figures = []
    monkeypatch.setattr(sweep_plots, "save_figure", lambda figure, path: figures.append(figure))
    reports = [report(beta, seed) for beta in (0.0, 1.0, 2.0, 4.0) for seed in (0, 1)]
    sweep_plots.plot_alignment(reports, 12.0, 7.0, 2, str(tmp_path / "alignment.png"), plot_labels()["alignment"])
    return figures[0]


def drawn_kl(monkeypatch, tmp_path, betas, optimum):
    figures = []
    monkeypatch.setattr(sweep_plots, "save_figure", lambda figure, path: figures.append(figure))
    reports = [report(beta, seed) for beta in betas for seed in (0, 1)]
    sweep_plots.plot_kl(reports, optimum, 12.0, 7.0, 2, [6.98, 2.5], str(tmp_path / "kl_per_dim.png"),
                        plot_labels()["kl_decomposition"])
    return figures[0]


def test_the_kl_plot_shows_every_series_and_keeps_to_the_datas_range(monkeypatch, tmp_path):
    figure = drawn_kl(monkeypatch, tmp_path, (0.5, 1.0, 2.0, 4.0, 8.0), curve(0.3, 12))
    units, parts = figure.axes
    assert_apart(series(units))
    drawn_parts = series(parts)
    assert len(drawn_parts) == 4 and np.allclose(drawn_parts[0][1], drawn_parts[1][1])  # the sum = MI
    assert np.allclose(drawn_parts[2][1], drawn_parts[3][1])  # TC = dimension-wise KL
    assert_apart(drawn_parts)
    assert drawn_parts[0][3] == "none"  # the sum open around MI
    curves = [line for line in units.get_lines() if line.get_marker() == "None" and len(line.get_xdata()) > 2]
    assert curves and all(min(line.get_xdata()) >= 1 for line in curves)  # the floor curve is left out
    assert units.get_ylim()[1] < 2.0  # the models' 1.33 nats and the optimum's 2 at beta 1, not the floor's 7
    assert "below: no finite optimum" in units.get_title()


def test_a_curve_without_beta_below_one_is_drawn_whole_and_untitled(monkeypatch, tmp_path):
    figure = drawn_kl(monkeypatch, tmp_path, (1.0, 2.0, 4.0), curve(1.0, 12))
    units = figure.axes[0]
    assert [len(line.get_xdata()) for line in units.get_lines() if line.get_marker() == "None"
            and len(line.get_xdata()) > 2] == [30, 30]
    assert "no finite optimum" not in units.get_title()


def shaded(figure):
    """The labels of the shaded beta regions of every axis of a figure."""
    return [patch.get_label() for axis in figure.axes for patch in axis.patches if patch.get_label()]


@pytest.mark.parametrize("betas, below_one", [((1.0, 2.0, 4.0), False), ((0.5, 1.0, 4.0), True),
                                              ((0.0, 2.0, 4.0), True)])
def test_the_beta_below_one_shading_appears_only_when_a_swept_beta_is_there(monkeypatch, tmp_path, betas,
                                                                            below_one):
    figures = {}
    monkeypatch.setattr(sweep_plots, "save_figure", lambda figure, path: figures.update({path: figure}))
    reports = [report(beta, seed) for beta in betas for seed in (0, 1)]
    sweep_plots.plot_sweep(reports, curve(0.3, 12), str(tmp_path), plot_labels(), seeds=2)
    assert len(figures) == 4
    for path, figure in figures.items():
        with_shading = [axis for axis in figure.axes
                        if any(patch.get_label().startswith(SHADING) for patch in axis.patches)]
        if path.endswith("rate_distortion.png"):
            assert not with_shading  # no beta axis
            continue
        assert len(with_shading) == (len(figure.axes) if below_one else 0), path
        for axis in with_shading:
            span = next(patch for patch in axis.patches if patch.get_label().startswith(SHADING))
            left, right = span.get_x(), span.get_x() + span.get_width()
            assert left <= min(betas) < right == 1.0  # from the axis's left edge, beta 0 included
