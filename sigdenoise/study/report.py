"""`sigdenoise report`: rebuild reports/ (REPORT.md, figures, tables, results.csv) from nothing.

Stages: the grid over several seeds (trained through grid.run into a resumable cache folder),
then report_rows' rows for every denoiser, then figures, claims and report_text's Markdown, all
drawn from those rows.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from sigdenoise import synthetic
from sigdenoise.atomic import write_text
from sigdenoise.distribute import grids
from sigdenoise.distribute.backend import Cluster
from sigdenoise.errors import OutputError
from sigdenoise.evaluate import claims, stats
from sigdenoise.evaluate.subspace import linear_decoder_basis, principal_angles
from sigdenoise.models import bundle
from sigdenoise.models.activations import ACTIVATIONS
from sigdenoise.models.svd import SVDProjector
from sigdenoise.study import drawing, figures, grid, report_rows, report_text, resume, tables
from sigdenoise.study.runfolder import RunFolder, git_commit, locked, with_integers
from sigdenoise.study.settings import GridSettings, ReportSettings

REPORT_COLUMNS = ["model", "variant", "activation", "latent", "train_noise", "noise", "seed", "eval", "family", "mse", "mean_mse",
                  "snr_in_db", "snr_out_db", "snr_gain_db", "epochs", "n_train", "final_train_loss", "settings"]  # fmt: skip


def linear_angles(folder: RunFolder, settings: ReportSettings) -> dict[int, np.ndarray]:
    """Principal angles (degrees) between the latent-5 linear decoder's column space and U_5, by seed."""
    out = {}
    for s in settings.seeds:
        model, _ = bundle.load(folder.model_path(f"ae-identity-latent5-seed{s}"))
        basis = SVDProjector(5).fit(synthetic.training_set(s, settings.n_train, settings.sd)).basis_
        out[s] = np.degrees(principal_angles(linear_decoder_basis(model), basis))
    return out


def train_grids(runs: dict[str, GridSettings], cache: Path, device: torch.device | None,
                on_event: Callable[..., None] | None, cluster: Cluster | None = None,
                ) -> tuple[dict[str, dict[int, list]], list[tuple[bool, float]]]:  # fmt: skip
    """Run (or resume) each grid in its cache subfolder (on Ray, every grid's tasks at once, each
    grid's device taken where its tasks run). Returns the (Autoencoder, meta) pairs by grid and
    seed, and per grid whether every model of it was in the cache already and the training wall
    time its models record."""
    emit = on_event or (lambda *a, **k: None)
    models: dict[str, dict[int, list]] = {}
    timing = []
    folders = {name: RunFolder(cache / name) for name in runs}
    cached = {name: all(folders[name].model_path(m.name).exists() for m in grid.grid_members(gs)) for name, gs in runs.items()}
    if cluster is not None and cluster.distributed:
        emit("stage", f"grid runs {', '.join(runs)} in {cache} as tasks on {cluster.backend}")
        with ExitStack() as stack:
            for f in folders.values():
                stack.enter_context(locked(f.root, "--cache"))
            grids.run([(gs, folders[name]) for name, gs in runs.items()], cluster, on_event)
    for name, gs in runs.items():
        folder = folders[name]
        with locked(folder.root, "--cache"):
            if cluster is None or not cluster.distributed:
                emit("stage", f"grid run '{name}' in {cache / name}")
                grid.run(gs, folder, device, on_event)
            grid_models = [bundle.load(folder.model_path(m.name)) for m in grid.grid_members(gs)]
        models[name] = {}
        for model, meta in grid_models:
            models[name].setdefault(model.seed, []).append((model, meta))
        # Each grid trains in one go; its models record that training's wall time.
        timing.append((cached[name], max(meta["train_seconds"] for _, meta in grid_models)))
    return models, timing


def report_table(settings: ReportSettings, gs: GridSettings, models: dict[int, list], classical: bool = True) -> pd.DataFrame:
    """Every denoiser's rows of every seed (report_rows.seed_rows), in REPORT_COLUMNS: results.csv.
    classical=False leaves out the tuned classical baselines and the Bayes ceiling."""
    rows = []
    for s in settings.seeds:
        train = synthetic.training_set(s, settings.n_train, settings.sd)
        rows += report_rows.seed_rows(s, gs.noises, gs.latents, models.get(s, []), train, settings.sd, settings.n_test,
                                      settings.n_valid, classical)  # fmt: skip
    df = pd.DataFrame(rows).reindex(columns=REPORT_COLUMNS)
    df["activation"] = df["activation"].fillna("")
    df["variant"] = df["variant"].fillna("")
    return df


def write_figures(df: pd.DataFrame, probe: pd.DataFrame, figs: Path, footer: str, latents, activation: str) -> None:
    """The grid's figures, and the test-MSE intervals of the study and of the variants (on
    `activation`), drawn side by side (study/drawing.py)."""
    summary = stats.summarise(df[(df["eval"] == "test") & (df["family"] == "all")].assign(label=lambda d: tables.label(d)),
                              ["label", "latent", "noise"], "mse")  # fmt: skip
    free = summary[summary["latent"].isna()]
    summary = pd.concat([summary[summary["latent"].notna()]] + [free.assign(latent=k) for k in latents])
    # AE variant labels read "<activation> (<variant>)".
    is_variant = summary["label"].str.match("^(" + "|".join(ACTIVATIONS) + r") \(")
    keep = (summary["latent"] == 5) & (~summary["label"].isin(ACTIVATIONS) | (summary["label"] == activation))
    keep &= ~is_variant | summary["label"].str.startswith(activation + " (")
    drawing.draw([*figures.run_jobs(df, probe, figs, footer),
                  drawing.Job(figures.ci_figure, figs / "ci_test_mse.png", (summary[~is_variant],), {"footer": footer}),
                  drawing.Job(figures.ci_figure, figs / "variants_test_mse.png", (summary[keep],), {"footer": footer})])  # fmt: skip


def build(settings: ReportSettings, out: Path, cache: Path, device: torch.device | str,
          on_event: Callable[..., None] | None = None, fresh: bool = False, cluster: Cluster | None = None) -> pd.DataFrame:  # fmt: skip
    """Write the whole report into `out`; returns the tidy rows (also out/results.csv). On Ray
    (`cluster`), `device` is the option (auto, cpu, cuda) each task resolves where it runs."""
    emit = on_event or (lambda *a, **k: None)
    t0 = time.perf_counter()
    with locked(cache, "--cache"):
        if fresh:  # only a report cache's run folders, never a folder that holds anything else
            for run in resume.check_fresh_cache(cache):
                try:
                    shutil.rmtree(run)
                except OSError as e:
                    raise OutputError(run, f"cannot delete it for --fresh ({e.strerror or e})", e.strerror) from None
        runs = settings.grids(device if isinstance(device, str) else str(device.type))
        models, timing = train_grids(runs, cache, None if isinstance(device, str) else device, on_event, cluster)
        return _write_report(settings, out, cache, runs, models, timing, emit, t0)


def _write_report(settings: ReportSettings, out: Path, cache: Path, runs: dict[str, GridSettings],
                  models: dict[str, dict[int, list]], timing: list[tuple[bool, float]], emit: Callable[..., None],
                  t0: float) -> pd.DataFrame:  # fmt: skip
    """Evaluate every denoiser over seeds and write out/: results.csv, figures/, claims.csv, REPORT.md,
    and under the other reading of N(0, 2.25) its own results and claims (results-sd1.5.csv, ...)."""
    folder = RunFolder(cache / "grid")
    # Before anything is written: with --out reports the files written make the checkout dirty.
    commit = git_commit() or "none"
    emit("stage", "evaluating every denoiser, per family, over seeds")
    other = settings.other_grid
    study = {s: [p for name, by_seed in models.items() if name != other for p in by_seed.get(s, [])] for s in settings.seeds}
    df = report_table(settings, runs["grid"], study)
    write_text(out / "results.csv", with_integers(df).to_csv(index=False))
    angles = linear_angles(folder, settings)
    emit("stage", "tables, claims and figures")
    footer = f"sigdenoise report | commit {commit[:12]} | seeds {list(settings.seeds)}, epochs {settings.epochs}, n_train {settings.n_train}"
    if settings.quick:  # on every figure, as on the page: a smoke run's numbers are not the study's
        footer = f"QUICK CHECK, NOT THE STUDY ({settings.epochs} epochs) | " + footer
    write_figures(df, pd.read_csv(folder.probe_path), out / "figures", footer, runs["grid"].latents, settings.variant_activation)
    claim_table = claims.check_all(df, angles)
    write_text(out / "claims.csv", claim_table.to_csv(index=False))
    other_claims = None
    if other:
        emit("stage", f"the claims under the other reading, sd {settings.other_sd:g}")
        alt = settings.other_reading()
        # The claims read the plain AEs, the SVD and the noisy input only: no classical baselines.
        alt_df = report_table(alt, runs[other], models[other], classical=False)
        write_text(out / f"results-sd{alt.sd:g}.csv", with_integers(alt_df).to_csv(index=False))
        other_claims = claims.check_all(alt_df, linear_angles(RunFolder(cache / other), alt))
        write_text(out / f"claims-sd{alt.sd:g}.csv", other_claims.to_csv(index=False))
    seconds = time.perf_counter() - t0
    text = report_text.markdown(df, claim_table, angles, settings, commit, seconds, timing, other_claims)
    write_text(out / "REPORT.md", text)
    return df
