"""Figures drawn from the tidy tables (results.csv and probe.csv), never by retraining.

Each function takes DataFrames and a path and writes one PNG; the figure's footer records the
provenance string it is given (commit and settings). Figures are drawn on their own Agg canvas
under a seaborn theme that lasts for that figure only, so importing this module or drawing a
figure leaves the caller's matplotlib backend and rcParams as they were.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

import matplotlib
import matplotlib.colors
import matplotlib.ticker
import numpy as np
import pandas as pd
import seaborn as sns
from cycler import cycler
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from sigdenoise.atomic import replacing
from sigdenoise.models.activations import ACTIVATIONS
from sigdenoise.study.drawing import Job, draw
from sigdenoise.study.tables import ROW_ORDER, grid_table

PANEL_ORDER = [*ACTIVATIONS, "svd"]


def theme(style: str = "whitegrid") -> AbstractContextManager:
    """seaborn's theme (`sns.set_theme(style=style, context="paper")`: the paper context, the axes
    style, the deep palette) as rcParams that hold inside the `with` block only."""
    rc = {**sns.plotting_context("paper"), **sns.axes_style(style, rc={"font.family": "sans-serif"}),
          "axes.prop_cycle": cycler("color", sns.color_palette("deep")),
          # Titles at a fixed height above their axes: placing them "auto" measures every tick
          # label of every panel at each draw (40 % of a probe figure's time), only to clear
          # x tick labels on top, which no figure here has.
          "axes.titley": 1.0}  # fmt: skip
    return matplotlib.rc_context(rc)


def new_figure(**kw) -> Figure:
    """A figure on its own Agg canvas (no pyplot, no backend switch); kw as for Figure."""
    fig = Figure(**kw)
    FigureCanvasAgg(fig)
    return fig


def save_png(fig: Figure, path: Path, **kw) -> None:
    """Write `fig` as a PNG atomically; kw as for savefig."""
    with replacing(Path(path)) as tmp:
        fig.savefig(tmp, format="png", **kw)


def _save(fig: Figure, path: Path, footer: str) -> None:
    # fig.tight_layout() leaves a placeholder layout engine behind, and savefig then draws the
    # whole figure once more (without rendering) before the real draw: a third of its time.
    fig.set_layout_engine(None)
    if footer:
        fig.text(0.005, 0.003, footer, fontsize=6, color="0.45", ha="left", va="bottom")
    save_png(fig, path, dpi=110)


def panel_colour(name: str, i: int):
    """A model's colour in every figure: tab10 without its grey (index 7, the noisy copies'), by
    the study's order (activations, then SVD); any other model (a variant) by its position i."""
    colors = [c for k, c in enumerate(sns.color_palette("tab10", 10)) if k != 7]
    return colors[PANEL_ORDER.index(name)] if name in PANEL_ORDER else colors[i % len(colors)]


def _panels(probe: pd.DataFrame, latent: int, noise: float) -> dict[str, pd.DataFrame]:
    """Probe curves of one (latent, noise) cell by panel name: every model probe.csv holds there,
    the study's plain autoencoders first (activation order), then SVD, then each variant
    ('gelu (denoising)'), in the order the table lists them."""
    cell = probe[np.isclose(probe["noise"], noise) & (probe["model"] != "noisy")]
    cell = cell[cell["latent"] == latent]
    variant = cell["variant"].fillna("") if "variant" in cell else pd.Series("", index=cell.index)
    plain = variant.isin(["", "plain"])
    out = {}
    for name in PANEL_ORDER:
        sel = cell[plain & ((cell["model"] == "svd") if name == "svd" else (cell["activation"] == name))]
        if len(sel):
            out[name] = sel
    rest = cell[~plain]
    for (act, var), sel in rest.groupby([rest["activation"].fillna(""), variant[~plain]], sort=False):
        out[f"{act} ({var})"] = sel
    return out


def _curves(df: pd.DataFrame, n_t: int) -> np.ndarray:
    """The probe curves of one model (copies, n_t): its rows by copy, each copy's samples in t
    order; (0, n_t) when it has none. Each copy must have n_t samples."""
    df = df.sort_values(["copy", "t"], kind="stable")
    copies = df["copy"].nunique()
    if len(df) != copies * n_t:
        raise ValueError(f"probe rows: {len(df)} values for {copies} copies of {n_t} samples")
    return df["value"].to_numpy(dtype=float).reshape(copies, n_t)


def _probe_panel(ax, t: np.ndarray, noisy: np.ndarray, recon: np.ndarray, color, mean: bool) -> None:
    """One panel: the noisy copies (copies, T) and their reconstructions (or the means of both),
    and sin(t). Each set of copies is one LineCollection: one artist to draw, not ten."""
    if mean:
        for curves, kw in ((noisy, {"color": "0.6", "lw": 0.8}), (recon, {"color": color, "lw": 1.6})):
            if len(curves):
                ax.plot(t, curves.mean(axis=0), **kw)
    else:
        for curves, kw in ((noisy, {"colors": "0.75", "linewidths": 0.5, "zorder": 1}),
                           (recon, {"colors": [color], "linewidths": 0.8, "alpha": 0.8, "zorder": 2})):  # fmt: skip
            ax.add_collection(LineCollection(np.stack(np.broadcast_arrays(t, curves), axis=-1), **kw), autolim=True)
    ax.plot(t, np.sin(t), color="black", lw=1.4, zorder=3)


def _panel_layout(fig: Figure, nrow: int, ncol: int, top: float) -> None:
    """Place a grid of panels with fixed margins in inches, as tight_layout would for these panels
    (tick labels of shared axes on the outer panels only, a title above each), without its
    measuring pass over every tick label (a third of a probe figure's time). top: the inches
    above the first row's titles (the figure's title, the legend's row)."""
    w, h = fig.get_size_inches()
    left, right, bottom, wgap, hgap, title = 0.75, 0.1, 0.6, 0.2, 0.35, 0.26
    pw = (w - left - right - wgap * (ncol - 1)) / ncol
    ph = (h - top - title - bottom - hgap * (nrow - 1)) / nrow
    fig.subplots_adjust(left=left / w, right=1 - right / w, bottom=bottom / h, top=1 - (top + title) / h,
                        wspace=wgap / pw, hspace=hgap / ph)  # fmt: skip


def probe_figure(probe: pd.DataFrame, latent: int, noise: float, path: Path, footer: str = "",
                 mean: bool = False) -> list[str]:  # fmt: skip
    """The study's layout: one panel per model of the cell (each activation, SVD, each variant).
    Each panel shows the 10 noisy copies (grey), their reconstructions (colour) and sin(t)
    (black); with mean=True, the mean of the reconstructions instead of each one. Returns the
    panels' names, in order."""
    with theme("whitegrid"):
        fig, panels = _probe_fig(probe, latent, noise, mean)
        _save(fig, path, footer)
    return panels


def _probe_fig(probe: pd.DataFrame, latent: int, noise: float, mean: bool = False) -> tuple[Figure, list[str]]:
    """probe_figure's figure, not saved (drawn under the caller's theme), and its panels' names."""
    panels = _panels(probe, latent, noise)
    t = np.sort(probe["t"].unique())
    noisy = _curves(probe[(probe["model"] == "noisy") & np.isclose(probe["noise"], noise)], len(t))
    ncol = max(1, min(4, len(panels)))
    nrow = max(1, int(np.ceil(len(panels) / ncol)))
    legend = mean and bool(panels)
    height = 2.4 * nrow + (0.8 if mean else 0.5)  # the mean's legend takes a row under the title
    fig = new_figure(figsize=(3.2 * ncol, height))
    axes = fig.subplots(nrow, ncol, sharex=True, sharey=True, squeeze=False)
    for i, (ax, (name, df)) in enumerate(zip(axes.flat, panels.items())):
        _probe_panel(ax, t, noisy, _curves(df, len(t)), panel_colour(name, i), mean)
        ax.set_title("SVD" if name == "svd" else name)
    for ax in axes[-1]:
        ax.set_xlabel("t")
    for ax in axes[:, 0]:
        ax.set_ylabel("value")
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    what = "mean of 10 reconstructions" if mean else "10 noisy copies (grey), reconstructions (colour), sin(t) (black)"
    fig.suptitle(f"Probe, latent {latent}, noise {noise:g}: {what}", fontsize=10 if ncol > 2 else 8, y=1 - 0.06 / height,
                 va="top")  # fmt: skip
    if legend:  # one legend for every panel: the reconstruction's colour is each panel's own
        h = [Line2D([], [], color="0.6", lw=0.8), Line2D([], [], color="0.35", lw=1.6), Line2D([], [], color="black", lw=1.4)]
        # A row of its own between the title and the panels: in a corner it covered a panel's title.
        fig.legend(h, ["mean of noisy", "mean reconstruction (the panel's colour)", "sin(t)"], loc="upper center",
                   bbox_to_anchor=(0.5, 1 - 0.32 / height), ncol=3, fontsize=7, frameon=False)  # fmt: skip
    _panel_layout(fig, nrow, ncol, 0.58 if legend else 0.3)
    return fig, list(panels)


def noisy_probe_figure(probe: pd.DataFrame, path: Path, footer: str = "") -> None:
    """The noisy probe at each noise level (the study's figures 8 and 13)."""
    with theme("whitegrid"):
        noisy = probe[probe["model"] == "noisy"]
        levels = sorted(noisy["noise"].unique())
        fig = new_figure(figsize=(max(6.5, 5.0 * len(levels)), 3.4))
        axes = fig.subplots(1, len(levels), squeeze=False, sharex=True)
        for ax, level in zip(axes.flat, levels):
            cell = noisy[np.isclose(noisy["noise"], level)]
            for i, (_, c) in enumerate(cell.groupby("copy")):
                ax.plot(c["t"], c["value"], lw=0.6, alpha=0.8, label="noisy copies" if i == 0 else None)
            t = np.sort(cell["t"].unique())
            ax.plot(t, np.sin(t), color="black", lw=1.5, label="sin(t)")
            ax.set_title(f"10 noisy copies of sin(t), noise {level:g}")
            ax.set_xlabel("t")
            ax.legend(fontsize=7, loc="upper right", frameon=True, framealpha=0.9)
        axes.flat[0].set_ylabel("value")
        fig.tight_layout()
        _save(fig, path, footer)


def _heatmap(fig: Figure, ax, vals: np.ndarray, rows: list[str], cols: list[str], annot: np.ndarray, norm,
             label: str) -> None:  # fmt: skip
    """seaborn's heatmap of vals (rows, cols) as it draws ours (no spines, a cell's text dark on a
    light cell and white on a dark one, a colour bar without outline, row labels horizontal),
    in plain matplotlib: sns.heatmap draws the whole figure once more only to see whether its tick
    labels overlap, which ours never do (a third of the figure's time)."""
    data = np.ma.masked_invalid(vals)
    limits = {} if norm is not None else {"vmin": float(data.min()), "vmax": float(data.max())}
    mesh = ax.pcolormesh(data, cmap="viridis_r", norm=norm, **limits)
    ax.set(xlim=(0, vals.shape[1]), ylim=(0, vals.shape[0]))
    ax.invert_yaxis()
    ax.spines[:].set_visible(False)
    fig.colorbar(mesh, ax=ax, label=label).outline.set_linewidth(0)
    ax.set_xticks(np.arange(len(cols)) + 0.5, cols)
    ax.set_yticks(np.arange(len(rows)) + 0.5, rows, rotation="horizontal", va="center")
    mesh.update_scalarmappable()
    masked = np.ma.getmaskarray(data)
    for (i, j), color in zip(np.ndindex(vals.shape), mesh.get_facecolors()):
        if not masked[i, j]:
            ink = ".15" if sns.utils.relative_luminance(color) > 0.408 else "w"
            ax.text(j + 0.5, i + 0.5, annot[i, j], color=ink, ha="center", va="center")


def mse_heatmap(results: pd.DataFrame, path: Path, footer: str = "", eval_set: str = "test") -> None:
    """Test MSE over the grid: rows denoisers, columns (latent, noise); log colour scale."""
    with theme("white"):
        table = grid_table(results, eval_set, "mse")
        table.columns = [f"latent {k}\nnoise {l:g}" for k, l in table.columns]
        n_seeds = results["seed"].nunique() if "seed" in results else 1
        fig = new_figure(figsize=(max(4.5, 1.5 + 1.3 * table.shape[1]), 0.9 + 0.38 * table.shape[0]))
        ax = fig.subplots()
        vals = table.to_numpy(dtype=float)
        positive = vals[np.isfinite(vals) & (vals > 0)]
        norm = matplotlib.colors.LogNorm(positive.min(), positive.max()) if positive.size and positive.min() < positive.max() else None
        # Three significant digits everywhere, trailing zeros kept ("0.370", "1.00", "0.000101"),
        # not a mix of "0.37", "0.371" and "1".
        annot = table.map(lambda v: "" if pd.isna(v) else f"{v:#.3g}")
        _heatmap(fig, ax, vals, list(table.index), list(table.columns), annot.to_numpy(), norm, f"{eval_set} MSE")
        over = f"mean over {n_seeds} seeds" if n_seeds > 1 else "one seed"
        if n_seeds > 1 and "variant" in results:  # the report trains its variants on the first seed only
            ae = results[(results["model"] == "ae") & ~results["variant"].fillna("").isin(["", "plain"])]
            if len(ae) and ae["seed"].nunique() == 1:
                over += ", variant rows one seed"
        ax.set_title(f"{eval_set.capitalize()} MSE ({over}; lower is better)", fontsize=10)
        fig.tight_layout()
        _save(fig, path, footer)


def training_curves(losses: pd.DataFrame, path: Path, footer: str = "") -> list[str]:
    """Training loss per epoch of every member (log scale): the plateau evidence. One colour per
    model, the probe panels' (its seeds share it, one line each), latent 1 dashed; the legend
    beside the axes. Returns the models in the legend's order."""
    with theme("whitegrid"):
        long = losses.melt(id_vars="epoch", var_name="member", value_name="loss")
        long["seed"] = long["member"].str.extract(r"-seed(\d+)", expand=False).fillna("0")
        long["latent"] = "latent " + long["member"].str.extract(r"-latent(\d+)", expand=False).fillna("?")
        long["model"] = long["member"].str.replace(r"-(seed|latent)\d+", "", regex=True).str.removeprefix("ae-")
        models = sorted(dict.fromkeys(long["model"]), key=lambda m: (PANEL_ORDER.index(m) if m in PANEL_ORDER else len(PANEL_ORDER), m))
        palette = {m: panel_colour(m, i) for i, m in enumerate(models)}  # gelu the same pink as in the probe panels
        styles = sorted(long["latent"].unique(), reverse=True)  # latent 5 solid, latent 1 dashed
        fig = new_figure(figsize=(8.5, 4.2))
        ax = fig.subplots()
        one = long["epoch"].nunique() == 1  # one point a line: drawn as a marker, else nothing shows
        sns.lineplot(long, x="epoch", y="loss", hue="model", hue_order=models, style="latent", style_order=styles,
                     units="seed", estimator=None, palette=palette, ax=ax, lw=1, marker="o" if one else None)  # fmt: skip
        ax.set_yscale("log")
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        if one:  # its epoch as a whole number on the axis, not ±0.045 around it
            e = long["epoch"].iloc[0]
            ax.set_xlim(e - 0.5, e + 0.5)
            ax.set_xticks([e])
        legend = ax.legend(fontsize=6, ncol=1 + len(models) // 16, loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0)
        seeds = long["seed"].nunique()
        ax.set_title("Training MSE per epoch (reconstruction of clean signals)"
                     + (f"; {seeds} seeds, one line each" if seeds > 1 else ""), fontsize=10)  # fmt: skip
        fig.text(0.01, 0.035, "A low training loss is not good denoising: a model that reconstructs clean signals "
                 "well may still denoise poorly (in the study's grid relu and tanh did); the test MSE ranks "
                 "the denoisers.", fontsize=6.5, color="0.3", ha="left", va="bottom", wrap=True)  # fmt: skip
        # Margins of the y axis's and the legend's measured widths, fixed ones above and below:
        # tight_layout measures every artist of the figure (a third of the figure's time).
        w, h = fig.get_size_inches()
        r = fig.canvas.get_renderer()
        fig.subplots_adjust(left=0.1, right=0.8, bottom=0.08 + 0.5 / h, top=1 - 0.3 / h)
        axis = (ax.bbox.x0 - ax.yaxis.get_tightbbox(r).x0) / fig.dpi
        beside = legend.get_window_extent(r).width / fig.dpi
        fig.subplots_adjust(left=(axis + 0.08) / w, right=1 - (beside + 0.2) / w)
        _save(fig, path, footer)
    return models


def run_jobs(results: pd.DataFrame, probe: pd.DataFrame, figures: Path, footer: str = "",
             losses: pd.DataFrame | None = None) -> list[Job]:  # fmt: skip
    """The figures of a run folder as jobs for drawing.draw: each probe cell's two figures, the
    noisy probe, the heatmap, and the training curves when `losses` is given."""
    jobs = []
    cells = probe[probe["model"] != "noisy"][["latent", "noise"]].drop_duplicates()
    for latent, noise in sorted(cells.itertuples(index=False, name=None)):
        for mean in (False, True):
            name = f"probe{'_mean' if mean else ''}_latent{int(latent)}_noise{noise:g}.png"
            jobs.append(Job(probe_figure, figures / name, (probe, int(latent), float(noise)), {"footer": footer, "mean": mean}))
    jobs.append(Job(noisy_probe_figure, figures / "probe_noisy.png", (probe,), {"footer": footer}))
    jobs.append(Job(mse_heatmap, figures / "heatmap_test_mse.png", (results,), {"footer": footer}))
    if losses is not None:
        jobs.append(Job(training_curves, figures / "training_loss.png", (losses,), {"footer": footer}))
    return jobs


def write_all(results: pd.DataFrame, probe: pd.DataFrame, figures: Path, footer: str = "",
              losses: pd.DataFrame | None = None) -> list[Path]:  # fmt: skip
    """Every figure of a run folder (run_jobs), drawn side by side (drawing.draw); returns the
    paths written."""
    jobs = run_jobs(results, probe, figures, footer, losses)
    draw(jobs)
    return [job.path for job in jobs]


def ci_figure(summary: pd.DataFrame, path: Path, footer: str = "", metric: str = "test MSE") -> None:
    """Mean and 95 % interval over seeds per denoiser, one panel per (latent, noise) cell.

    summary: columns label, latent, noise, mean, ci (from stats.summarise)."""
    with theme("whitegrid"):
        cells = sorted(summary[["latent", "noise"]].drop_duplicates().itertuples(index=False, name=None))
        fig = new_figure(figsize=(3.6 * len(cells), 0.4 + 0.28 * summary["label"].nunique()))
        axes = fig.subplots(1, len(cells), sharey=True, squeeze=False)
        present = set(summary["label"])
        order = [r for r in ROW_ORDER if r in present] + sorted(present - set(ROW_ORDER))
        for ax, (k, l) in zip(axes.flat, cells):
            cell = summary[(summary["latent"] == k) & np.isclose(summary["noise"], l)].set_index("label").reindex(order)
            y = np.arange(len(order))
            ci = cell["ci"].fillna(0).to_numpy()
            m = cell["mean"].to_numpy()
            # On a log axis an interval reaching 0 or below has no left end: draw it to a tenth of
            # the mean and mark it, rather than off the axis.
            low = np.where(m - ci > 0, ci, 0.9 * m)
            ax.errorbar(m, y, xerr=[low, ci], fmt="o", ms=3, capsize=2, color="C0")
            cut = (m - ci <= 0) & (ci > 0)
            ax.plot(m[cut] * 0.1, y[cut], marker="<", ls="", ms=4, color="C0")
            single = cell["ci"].isna().to_numpy() & np.isfinite(m)
            for yy, mm in zip(y[single], m[single]):
                ax.annotate("one seed", (mm, yy), xytext=(4, 0), textcoords="offset points", fontsize=5.5, color="0.4",
                            va="center")  # fmt: skip
            ax.set_xscale("log")
            if single.any():  # room right of the largest one-seed point for its label (it ran off the panel)
                ax.set_xlim(right=float(np.nanmax(np.concatenate([1.5 * (m + ci), 5 * m[single]]))))
            ax.set_title(f"latent {int(k)}, noise {l:g}", fontsize=9)
            ax.set_xlabel(metric)
        axes.flat[0].set_yticks(np.arange(len(order)), order)
        axes.flat[0].invert_yaxis()
        fig.suptitle(f"{metric}: mean and 95 % interval over seeds ('<': the interval reaches 0; 'one seed': "
                     "no interval)", fontsize=9)  # fmt: skip
        fig.tight_layout()
        _save(fig, path, footer)
