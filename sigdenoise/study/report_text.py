"""The text of REPORT.md: its Markdown tables and sentences, drawn from the report's tidy rows
(pure: DataFrames in, Markdown out). `markdown` puts the sections together in order.
"""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pandas as pd
import torch

from sigdenoise.evaluate import claims, stats
from sigdenoise.models.activations import ACTIVATIONS
from sigdenoise.models.baselines import CLASSICAL, CLASSICAL_LABELS
from sigdenoise.study import tables
from sigdenoise.study.settings import ReportSettings


def study_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Every row but the AE variants (they have their own section)."""
    return df[(df["model"] != "ae") | (df["variant"] == "plain")]


def mean_ci_table(df: pd.DataFrame, eval_set: str, metric: str, fmt: str = "{:.4f}") -> str:
    """Markdown table: 'mean ± ci' per denoiser and (latent, noise) cell, and the ratio to Bayes."""
    sub = df[(df["eval"] == eval_set) & (df["family"] == "all")].assign(label=lambda d: tables.label(d))
    mean = tables.grid_table(df, eval_set, metric)
    ci = pd.DataFrame(index=mean.index, columns=mean.columns, dtype=float)
    for (k, l) in mean.columns:
        cell = sub[((sub["latent"] == k) | sub["latent"].isna()) & np.isclose(sub["noise"], l)]
        s = stats.summarise(cell, ["label"], metric).set_index("label")["ci"]
        ci[(k, l)] = s.reindex(mean.index)
    lines = ["| model | " + " | ".join(f"latent {k}, noise {l:g}" for k, l in mean.columns) + " |",
             "|---|" + "---:|" * len(mean.columns)]  # fmt: skip
    bayes = mean.loc["bayes"] if "bayes" in mean.index and metric == "mse" else None
    for name in mean.index:
        cells = []
        for c in mean.columns:
            m, h = mean.loc[name, c], ci.loc[name, c]
            cell = fmt.format(m) + ("" if pd.isna(h) else " ± " + fmt.format(h))
            if bayes is not None and name != "bayes":
                cell += f" ({m / bayes[c]:.1f}×)"
            cells.append(cell)
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def family_table(df: pd.DataFrame, latent: int, noise: float) -> str:
    df = study_rows(df)
    sub = df[(df["eval"] == "test") & (df["family"] != "all") & np.isclose(df["noise"], noise)]
    sub = sub[(sub["latent"] == latent) | sub["latent"].isna()].assign(label=lambda d: tables.label(d))
    t = sub.pivot_table(index="label", columns="family", values="mse", aggfunc="mean")
    order = [r for r in tables.ROW_ORDER if r in t.index]
    t = t.reindex(order)[[f for f in ("sin", "cos", "sin+cos", "sin-cos", "sin*cos") if f in t.columns]]
    lines = ["| model | " + " | ".join(t.columns) + " |", "|---|" + "---:|" * len(t.columns)]
    lines += [f"| {n} | " + " | ".join(f"{v:.4f}" for v in row) + " |" for n, row in t.iterrows()]
    return "\n".join(lines)


def findings(df: pd.DataFrame, angles: dict, activation: str) -> str:
    """The headline numbers, computed from the table so that they stay true on regeneration."""
    t = tables.grid_table(df, "test", "mse")
    ae = [a for a in ACTIVATIONS if a in t.index]
    best_ae = {c: t.loc[ae, c].min() for c in t.columns}
    lines = []
    for (k, l), c in zip(t.columns, t.columns):
        lines.append(f"latent {k}, noise {l:g}: best plain AE {t.loc[ae, c].idxmin()} {best_ae[c]:.4f} "
                     f"({best_ae[c] / t.loc['bayes', c]:.0f}× the ceiling), best classical baseline "
                     f"{t.loc[list(CLASSICAL_LABELS), c].min():.4f}, "
                     f"noisy input {t.loc['noisy', c]:.4f}")  # fmt: skip
    wide = [i for i in t.index if i.startswith(f"{activation} (denoising w")]
    worst_angle = max(float(np.max(a)) for a in angles.values())
    out = [
        "- **The study's autoencoders are far from the best possible denoiser.** Test MSE: " + "; ".join(lines) + ".",
    ]
    low = [c for c in t.columns if c[1] == min(x[1] for x in t.columns)]
    worse = all(t.loc[ae + ["svd"], c].min() > t.loc["noisy", c] for c in low)
    out.append(("- **At low noise every 1- or 5-dimensional projector makes the signal worse than the noisy input**"
                if worse else "- At low noise, some projector improves on the noisy input") +
               f" (noise {low[0][1]:g}): r ~ N(0, 2.25) gives many fast sinusoids that a rank-5 subspace or a "
               "5-unit code cannot hold.")  # fmt: skip
    ratio = t.loc["identity", (5, 1.0)] / t.loc["svd", (5, 1.0)]
    same = abs(ratio - 1) < claims.SIMILAR_RATIO and worst_angle < claims.SIMILAR_DEG
    out += [
        f"- **The linear AE {'learns' if same else 'has not (yet) learned'} the SVD**: test MSE ratio {ratio:.3f} "
        f"at latent 5, noise 1, and principal angles between its decoder and U_5 of at most {worst_angle:.1f}° over seeds.",
        "- **Training to clean targets does not teach denoising; training on noisy inputs does**: the plain nonlinear "
        "AEs, trained on clean signals only, map noisy inputs onto the wrong members of the family (see the probe "
        "figures at noise 1)",
    ]
    if wide:
        w = wide[0]
        out[-1] += (f"; the wide denoising AE reaches {t.loc[w, (5, 1.0)]:.4f} at noise 1 "
                    f"({t.loc[w, (5, 1.0)] / t.loc['bayes', (5, 1.0)]:.1f}× the ceiling) and "
                    f"{t.loc[w, (5, 0.1)]:.4f} at noise 0.1 ({t.loc[w, (5, 0.1)] / t.loc['bayes', (5, 0.1)]:.0f}×).")  # fmt: skip
    return "\n".join(out)


def markdown(df, claim_table, angles, settings: ReportSettings, commit: str, seconds: float,
             timing: list[tuple[bool, float]], other_claims: pd.DataFrame | None = None) -> str:  # fmt: skip
    """REPORT.md. df: the report's rows (results.csv); claim_table: claims.check_all's table;
    timing: per grid run, whether its models came from the cache and the training seconds they
    record; other_claims: the same table under the other reading of N(0, 2.25) (settings.other_sd), if run."""
    study = study_rows(df)
    noises = sorted(study["noise"].unique())
    latents = sorted(int(k) for k in study["latent"].dropna().unique())
    parts = [
        "# sigdenoise report",
        quick_banner(settings),
        regenerated(settings, commit, seconds, timing),
        "## Findings of this quick check (not the study's)" if settings.quick else "## Findings",
        findings(df, angles, settings.variant_activation),
        *_probe_section(latents, noises),
        *_claims_section(claim_table, angles, settings),
        *_other_reading_section(claim_table, other_claims, settings),
        *_mse_section(study, settings),
        *_variants_section(df, settings),
        *_more_tables_section(study, latents, noises),
        *_baselines_section(study, settings),
    ]
    return "\n\n".join(p for p in parts if p) + "\n"


def quick_banner(settings: ReportSettings) -> str:
    """The line a quick check's page opens with ('' for the study's report)."""
    if not settings.quick:
        return ""
    return (f"> **A quick check, not the study.** {len(settings.seeds)} seeds, {settings.epochs} epochs, "
            f"{settings.n_train:,} training signals: these numbers show that the pipeline runs, not what the study "
            "finds. `sigdenoise report --fresh --out reports` makes the report.")  # fmt: skip


def regenerated(settings: ReportSettings, commit: str, seconds: float, timing: list[tuple[bool, float]]) -> str:
    """How the report was made: command, time, threads, commit and settings. timing: per grid run,
    (its models came from the cache, the training seconds they record)."""
    train = sum(t for _, t in timing)
    now = sum(t for cached, t in timing if not cached)  # trained by this run
    fresh = f"about {(train + seconds - now) / 60:.0f} min ({train / 60:.1f} min of it training, as the models' metadata records)"
    if settings.quick:
        cmd, how = "sigdenoise report --quick", f" ({now / 60:.1f} min of it training)"
    elif not now:
        cmd, how = "sigdenoise report --out reports", (f" with the trained models loaded from the cache; `sigdenoise report "
                                                        f"--fresh --out reports`, which trains them, takes {fresh}")  # fmt: skip
    elif now == train:
        cmd, how = "sigdenoise report --fresh --out reports", f" ({train / 60:.1f} min of it training)"
    else:
        loaded = sum(cached for cached, _ in timing)
        cmd, how = "sigdenoise report --out reports", (f", {loaded} of its {len(timing)} grid runs loaded from the cache "
                                                        f"and the others trained ({now / 60:.1f} min); `sigdenoise report "
                                                        f"--fresh --out reports`, which trains them all, takes {fresh}")  # fmt: skip
    return (f"Regenerated by `{cmd}` in {seconds / 60:.1f} min{how} on {torch.get_num_threads()} CPU threads; commit `{commit}`. "
            f"Settings: {asdict(settings)}. Every table and figure below is drawn from [`results.csv`](results.csv) "
            "(one row per denoiser × noise × evaluation set × seed × family).")  # fmt: skip


def _probe_section(latents: list[int], noises: list[float]) -> list[str]:
    parts = [
        "## The study's figures, reproduced",
        "The noisy probe, 10 noisy copies of sin(t) (the study's figures 8 and 13):",
        "![noisy probe](figures/probe_noisy.png)",
    ]
    for k in latents:
        for l in noises:
            parts += [f"Latent {k}, noise {l:g}: each reconstruction, and the mean of the 10 (figures 9–14):",
                      f"![probe latent {k} noise {l:g}](figures/probe_latent{k}_noise{l:g}.png)",
                      f"![mean latent {k} noise {l:g}](figures/probe_mean_latent{k}_noise{l:g}.png)"]  # fmt: skip
    return parts


def _claims_section(claim_table: pd.DataFrame, angles: dict, settings: ReportSettings) -> list[str]:
    return [
        "## The study's claims, checked",
        "Probe: the study's 10 noisy copies of sin(t), seed-mean. Test: held-out signals of all five "
        f"families, {settings.n_test} per seed. Thresholds are in the evidence and in `sigdenoise/evaluate/claims.py`.",
        _claims_markdown(claim_table),
        "Principal angles (degrees) between the latent-5 linear decoder's column space and U_5, by seed: "
        + "; ".join(f"seed {s}: " + ", ".join(f"{a:.2f}" for a in v) for s, v in angles.items()) + ".",
    ]


VERDICTS = ("probe verdict", "test verdict")


def _other_reading_section(claim_table: pd.DataFrame, other: pd.DataFrame | None, settings: ReportSettings) -> list[str]:
    """The claims table under the other reading of the source's N(0, 2.25), and which verdicts change."""
    if other is None:
        return []
    sd, alt = settings.sd, settings.other_sd
    return [
        f"### The claims under the other reading: r ~ N(0, 2.25) as a variance (sd {alt:g})",
        f"The source writes r ~ N(0, 2.25); the tables above read 2.25 as the standard deviation (sd {sd:g}), "
        f"though the notation usually means a variance (sd {alt:g}: slower signals). The same plain grid, seeds, "
        f"epochs and evaluation, trained and tested at sd {alt:g} ([`results-sd{alt:g}.csv`](results-sd{alt:g}.csv), "
        f"[`claims-sd{alt:g}.csv`](claims-sd{alt:g}.csv)):",
        _claims_markdown(other),
        verdict_changes(claim_table, other, sd, alt),
    ]


def verdict_changes(main: pd.DataFrame, other: pd.DataFrame, sd: float, alt: float) -> str:
    """One sentence naming each verdict that differs between the two readings' claims tables."""
    changes = []
    for (_, a), (_, b) in zip(main.iterrows(), other.iterrows()):
        moved = [f"{col.split()[0]} {a[col]} at sd {sd:g}, {b[col]} at sd {alt:g}" for col in VERDICTS if a[col] != b[col]]
        if moved:
            changes.append(f"“{a['claim']}” ({'; '.join(moved)})")
    if not changes:
        return f"No verdict changes between the two readings: the claims stand or fall alike at sd {sd:g} and {alt:g}."
    return f"Verdicts that change with the reading ({len(changes)} of {len(main)} claims): " + "; ".join(changes) + "."


def _mse_section(study: pd.DataFrame, settings: ReportSettings) -> list[str]:
    return [
        f"## Test MSE, mean ± 95 % interval over {len(settings.seeds)} seeds, and the ratio to the Bayes ceiling",
        "`bayes` is the Bayes-optimal posterior mean over the five families and a fine grid of r under "
        "its prior: no method can do better on average. `(3.2×)` reads: 3.2 times the ceiling's MSE.",
        mean_ci_table(study, "test", "mse"),
        "![test MSE with intervals](figures/ci_test_mse.png)",
        "![heatmap](figures/heatmap_test_mse.png)",
    ]


def _variants_section(df: pd.DataFrame, settings: ReportSettings) -> list[str]:
    w = settings.wide_width
    return [
        f"## Autoencoder variants ({settings.variant_activation}, latent 5)",
        "The source material's variants, trained like the study's plain AE on the same data (denoising AEs on "
        "inputs with Gaussian noise at the level they are tested at), against the plain AE, the SVD, the "
        f"baselines and the ceiling. `w{w}` is the wider denoiser (100-{w}-{w // 2}-{w // 4}-5 and the mirror, "
        f"{settings.wide_epochs} epochs of freshly drawn signals). The variants are trained on the first seed only "
        "(the contractive penalty's Jacobian makes them several times dearer than the plain AEs), so their rows "
        "have no interval. Test MSE, mean ± 95 % interval where there are seeds:",
        variant_table(df, settings.variant_activation),
        "![variants](figures/variants_test_mse.png)",
        variant_sentences(df, settings.variant_activation),
    ]


def _more_tables_section(study: pd.DataFrame, latents: list[int], noises: list[float]) -> list[str]:
    """SNR gain, the study's probe measures, and test MSE by family."""
    parts = [
        "## Test SNR gain (dB), mean ± 95 % interval",
        mean_ci_table(study, "test", "snr_gain_db", "{:.2f}"),
        "## Probe MSE and mean-of-10 probe MSE (the study's measures)",
        mean_ci_table(study, "probe", "mse"),
        mean_ci_table(study, "probe", "mean_mse"),
        "## Test MSE by family (seed-mean)",
    ]
    for k in latents:
        for l in noises:
            parts += [f"Latent {k}, noise {l:g}:", family_table(study, k, l)]
    return parts


def _baselines_section(study: pd.DataFrame, settings: ReportSettings) -> list[str]:
    """The classical baselines' tuning ranges, and the settings chosen per seed and noise level."""
    base = study[(study["eval"] == "test") & (study["family"] == "all") & (study["model"] != "ae")]
    chosen = base.drop_duplicates(["model", "variant", "noise", "seed"])[["model", "variant", "noise", "seed", "settings"]]
    chosen = chosen[chosen["model"].isin({m for m, _ in CLASSICAL})]
    return [
        "## Baselines and their settings",
        "Savitzky–Golay (window 5–51, order 1–4), Wiener (window 3–51, noise power estimated by scipy) and "
        "wavelet shrinkage (soft threshold; universal threshold σ√(2 ln n) and BayesShrink; wavelet among "
        "db4, sym4, sym8, coif2 and level 1–6; symmetric extension) are tuned per seed and noise level on a "
        f"validation set of {settings.n_valid} signals drawn from their own random stream, never on the test set. Chosen:",
        "| model | noise | seed | settings |\n|---|---:|---:|---|\n"
        + "\n".join(f"| {r.model}{' (' + r.variant + ')' if r.variant else ''} | {r.noise:g} | {r.seed} | {r.settings} |"
                    for r in chosen.itertuples()),  # fmt: skip
    ]


def _variant_rows(df: pd.DataFrame, activation: str) -> pd.DataFrame:
    """Rows of the variant comparison: latent 5 (or none), the one activation's AEs and every non-AE."""
    keep = (df["model"] != "ae") | (df["activation"] == activation)
    return df[keep & ((df["latent"] == 5) | df["latent"].isna())]


def variant_table(df: pd.DataFrame, activation: str) -> str:
    return mean_ci_table(_variant_rows(df, activation), "test", "mse")


def variant_sentences(df: pd.DataFrame, activation: str) -> str:
    """One sentence per variant: its test MSE against the plain AE's and the ceiling's, by noise."""
    sub = _variant_rows(df, activation)
    table = tables.grid_table(sub, "test", "mse")
    if activation not in table.index:
        return ""
    aim = {  # what each variant is built to do; whether it did is read off the numbers
        "denoising": "trained to map noisy inputs to clean signals",
        "sparse": "penalises active code units (with 5 units there is little to sparsify)",
        "contractive": "flattens the encoder around the training signals",
        "vae": "pulls the code towards N(0, I) and decodes its mean",
    }
    lines = []
    for label in table.index:
        if not label.startswith(activation + " ("):
            continue
        v = label[len(activation) + 2 : -1]
        parts, better, worse = [], [], []
        for (k, l), mse in table.loc[label].items():
            plain, ceil = table.loc[activation, (k, l)], table.loc["bayes", (k, l)] if "bayes" in table.index else np.nan
            if pd.notna(mse):
                parts.append(f"noise {l:g}: {mse:.4f} vs plain {plain:.4f} ({mse / plain - 1:+.0%}), {mse / ceil:.1f}× the ceiling")
                (better if mse < plain else worse).append(f"{l:g}")
        verdict = (f"better than the plain AE at noise {', '.join(better)}" if better else "") + (
            ("; " if better else "") + f"no better at noise {', '.join(worse)}" if worse else "")  # fmt: skip
        what = aim.get(v.split()[0], "")
        lines.append(f"- **{v}**{f' ({what})' if what else ''}: {verdict}. " + "; ".join(parts) + ".")
    return "\n".join(lines)


def _claims_markdown(t: pd.DataFrame) -> str:
    lines = ["| claim | probe evidence | probe verdict | test evidence | test verdict |", "|---|---|---|---|---|"]
    for r in t.itertuples(index=False):
        lines.append("| " + " | ".join(str(v) for v in r) + " |")
    return "\n".join(lines)
