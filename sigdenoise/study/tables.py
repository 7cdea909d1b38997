"""Tables drawn from the tidy results (pure: DataFrame in, DataFrame or Markdown text out)."""

from __future__ import annotations

import pandas as pd

from sigdenoise.models.activations import ACTIVATIONS
from sigdenoise.models.baselines import CLASSICAL_LABELS

ROW_ORDER = ["noisy", "svd", *ACTIVATIONS, *CLASSICAL_LABELS, "bayes"]


def label(df: pd.DataFrame) -> pd.Series:
    """The row label of each result: the activation for autoencoders (with the variant when it is
    not the study's plain training), else the model name (with the variant, e.g. a wavelet rule)."""
    variant = df["variant"].fillna("") if "variant" in df else pd.Series("", index=df.index)
    shown = (" (" + variant + ")").where(~variant.isin(["", "plain"]), "")
    ae = df["activation"].fillna("") + shown
    other = df["model"] + shown
    return ae.where(df["model"] == "ae", other)


def grid_table(results: pd.DataFrame, eval_set: str, metric: str) -> pd.DataFrame:
    """Mean over seeds of `metric`: rows denoisers, columns (latent, noise).

    Denoisers without a latent size (noisy, the classical baselines, bayes) are repeated under
    each latent so every column compares the same rows.
    """
    df = results[results["eval"] == eval_set].copy()
    if "family" in df:
        df = df[df["family"] == "all"]
    df["label"] = label(df)
    latents = sorted(int(k) for k in df["latent"].dropna().unique())
    free = df[df["latent"].isna()]
    df = pd.concat([df[df["latent"].notna()]] + [free.assign(latent=k) for k in latents])
    df["latent"] = df["latent"].astype(int)
    table = df.pivot_table(index="label", columns=["latent", "noise"], values=metric, aggfunc="mean")
    order = [r for r in ROW_ORDER if r in table.index]
    return table.reindex(order + sorted(set(table.index) - set(order)))


def to_markdown(table: pd.DataFrame, fmt: str = "{:.4f}", higher_is_better: bool = False) -> str:
    """A pipe table; MultiIndex columns become 'latent 5, noise 1'. In each column the best
    denoiser is in bold, but only where it beats the untouched input (the noisy row): where none
    does, the noisy row's cell is bold instead and a line under the table says so."""
    cols = [f"latent {k}, noise {l:g}" for k, l in table.columns]
    lines = ["| model | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
    rivals = table.drop(index="noisy", errors="ignore")
    best = (rivals.idxmax() if higher_is_better else rivals.idxmin()).to_dict()
    beaten = []
    if "noisy" in table.index:
        for c in table.columns:
            top, ref = rivals[c].max() if higher_is_better else rivals[c].min(), table.loc["noisy", c]
            if pd.notna(ref) and (pd.isna(top) or not (top > ref if higher_is_better else top < ref)):
                best[c] = "noisy"
                beaten.append(f"latent {c[0]}, noise {c[1]:g}")
    for name, row in table.iterrows():
        cells = []
        for c, v in row.items():
            s = "" if pd.isna(v) else fmt.format(v)
            cells.append(f"**{s}**" if s and best.get(c) == name else s)
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    if beaten:
        lines.append("")
        lines.append(f"No denoiser beats the untouched input (noisy, in bold) at {'; '.join(beaten)}.")
    return "\n".join(lines)


def summary_markdown(results: pd.DataFrame, header: str = "") -> str:
    """summary.md: test and probe MSE, the mean-of-10 probe MSE, and the test SNR gain."""
    seeds = sorted(results["seed"].unique())
    parts = [
        "# Grid summary",
        header,
        (f"Means over seeds {', '.join(map(str, seeds))}." if len(seeds) > 1 else f"One seed ({seeds[0]}).")
        + " In each column the best denoiser is in bold where it beats the untouched input (noisy).",
        "## Test MSE (held-out signals, all five families; lower is better)",
        to_markdown(grid_table(results, "test", "mse")),
        "## Probe MSE (10 noisy copies of sin(t), each reconstructed; lower is better)",
        to_markdown(grid_table(results, "probe", "mse")),
        "## Probe: MSE of the mean of the 10 reconstructions against sin(t) (lower is better)",
        to_markdown(grid_table(results, "probe", "mean_mse")),
        "## Test SNR gain in dB (output minus input; higher is better)",
        to_markdown(grid_table(results, "test", "snr_gain_db"), fmt="{:.2f}", higher_is_better=True),
    ]
    return "\n\n".join(p for p in parts if p) + "\n"
