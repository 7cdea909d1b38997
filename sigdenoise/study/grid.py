"""The grid, end to end: baselines, one stacked training of every missing autoencoder, evaluation
at every noise level, the tidy results table. Resumable: finished rows and saved models are kept.

Writes only through RunFolder; reports progress through the `on_event` callback (the CLI prints).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
import numpy as np
import pandas as pd
import torch

from sigdenoise.models import bundle
from sigdenoise.evaluate import scoring
from sigdenoise.study import figures
from sigdenoise import seeds, synthetic
from sigdenoise.study import tables
from sigdenoise.train.fused import Ensemble, Member
from sigdenoise.models.autoencoder import Autoencoder
from sigdenoise.study.runfolder import RESULT_COLUMNS, RunFolder, git_commit
from sigdenoise.atomic import write_text
from sigdenoise.study.settings import GridSettings
from sigdenoise.study.resume import check_resumable
from sigdenoise.models.svd import Identity, SVDProjector
from sigdenoise.train.engine import TrainLog, train_ensemble
from sigdenoise.train.vmapped import VariantMember, train_variants

Event = Callable[..., None]
KEY = ["model", "variant", "activation", "latent", "train_noise", "noise", "seed", "eval"]


def _key(row: dict) -> tuple:
    latent, tn = row["latent"], row.get("train_noise")
    return (row["model"], row.get("variant") or "", row["activation"] or "", -1 if pd.isna(latent) else int(latent),
            0.0 if tn is None or pd.isna(tn) else round(float(tn), 9), round(float(row["noise"]), 9),
            int(row["seed"]), row["eval"])  # fmt: skip


def grid_members(settings: GridSettings) -> list[VariantMember]:
    """Every autoencoder the settings ask for. A gaussian denoising AE is trained once per grid
    noise level; masking and salt-and-pepper ones once, at the rate nu. The wider body (--width)
    applies to the denoising variant; the loss to every member."""
    out = []
    for v in settings.variants:
        if v == "denoising":
            gauss = settings.train_noise_kind == "gaussian"
            levels = settings.noises if gauss else (settings.train_noise_rate,)
            width = settings.width
        else:
            levels, width = (0.0,), None
        for k in settings.latents:
            for a in settings.activations:
                for s in settings.seeds:
                    out += [VariantMember(k, a, s, v, float(l), width, settings.loss) for l in levels]
    return sorted(out)


def train_members(members: list[VariantMember], train_sets: dict[int, np.ndarray], settings: GridSettings,
          device: torch.device, on_epoch) -> tuple[dict[VariantMember, Autoencoder], TrainLog]:  # fmt: skip
    """Train the study's plain members with the fused stacked trainer and the variants with the
    torch.func one, one after the other; returns the models and one log over both (epochs, M)."""
    fused = [m for m in members if m.fused]
    other = [m for m in members if not m.fused]
    out: dict[VariantMember, Autoencoder] = {}
    logs = []

    def tensors(seeds):
        return {s: torch.as_tensor(train_sets[s], dtype=torch.float32, device=device) for s in seeds}

    if fused:
        ensemble = Ensemble.build([Member(m.latent, m.activation, m.seed) for m in fused]).to(device)
        log = train_ensemble(ensemble, tensors({m.seed for m in fused}), settings.epochs, settings.batch_size,
                             settings.lr, on_epoch=on_epoch if not other else None)  # fmt: skip
        by_key = {(m.latent, m.activation, m.seed): model for m, model in zip(ensemble.members, ensemble.to_models())}
        order = [by_key[(m.latent, m.activation, m.seed)] for m in fused]
        # Columns of the log follow ensemble.members; reorder them to `fused`.
        cols = [ensemble.members.index(Member(m.latent, m.activation, m.seed)) for m in fused]
        logs.append(TrainLog(log.losses[:, cols], log.seconds))
        out.update(zip(fused, order))
    if other:
        fresh = None
        if settings.width is not None:  # the wide denoiser sees freshly drawn signals each epoch
            def fresh(seed, epoch):
                x = synthetic.generate(settings.n_train, seeds.rng(seed, seeds.FRESH + epoch), settings.sd)[0]
                return torch.as_tensor(x, dtype=torch.float32, device=device)
        models, log = train_variants(other, tensors({m.seed for m in other}), settings.epochs,
                                     settings.variant_settings(), settings.batch_size, settings.lr, fresh,
                                     on_epoch, generator_seed=min(settings.seeds))  # fmt: skip
        logs.append(log)
        out.update(zip(other, models))
    return out, TrainLog(np.concatenate([l.losses for l in logs], axis=1), sum(l.seconds for l in logs))


def _member_meta(log_losses: np.ndarray, i: int, seconds: float, size: int, settings: GridSettings, rng_meta: dict,
                 member: VariantMember) -> dict:  # fmt: skip
    return {
        "variant": member.variant,
        "train_noise": member.train_noise,
        "train_noise_kind": settings.train_noise_kind if member.variant == "denoising" else "",
        "width": member.width,
        "loss": member.loss,
        "variant_settings": settings.variant_settings().__dict__,
        "epochs": settings.epochs,
        "n_train": settings.n_train,
        "sd": settings.sd,
        "batch_size": settings.batch_size,
        "lr": settings.lr,
        "final_train_loss": float(log_losses[-1, i]),
        "train_seconds": seconds,
        "ensemble_size": size,
        "scale": rng_meta,
    }


def run(settings: GridSettings, folder: RunFolder, device: torch.device, on_event: Event | None = None) -> pd.DataFrame:
    """Run (or resume) the grid in `folder`; returns every results row the folder holds."""
    emit = on_event or (lambda *a, **k: None)
    check_resumable(folder, settings)
    folder.write_config(settings.to_dict(), str(device))
    results = folder.read_results()
    rows = results.to_dict("records")
    done = {_key(r) for r in rows}

    def add(new: list[dict]) -> None:
        fresh = [r for r in new if _key(r) not in done]
        done.update(_key(r) for r in fresh)
        rows.extend(fresh)
        folder.write_results(pd.DataFrame(rows, columns=RESULT_COLUMNS))

    train = {s: synthetic.training_set(s, settings.n_train, settings.sd) for s in settings.seeds}
    sets = {s: scoring.eval_sets(s, settings.n_test, settings.sd, settings.probe_copies) for s in settings.seeds}
    probe_rows: list[dict] = []

    def record(denoiser, base: dict, seed: int, levels=None) -> list[dict]:
        out = []
        for level in levels or settings.noises:
            metric_rows, recon = scoring.evaluate(denoiser, sets[seed], level)
            out += [{**base, "noise": level, "seed": seed, **m} for m in metric_rows]
            if seed == settings.seeds[0]:
                probe_rows.append({**base, "noise": level, "recon": recon["probe"]})
        return out

    # Baselines: cheap and exact, written first so a run killed while training keeps them.
    emit("stage", "baselines: noisy and svd")
    base_rows = []
    for s in settings.seeds:
        base_rows += record(Identity(), {"model": "noisy", "variant": "", "activation": "", "latent": np.nan}, s)
        for k in settings.latents:
            base_rows += record(SVDProjector(k).fit(train[s]), {"model": "svd", "variant": "", "activation": "", "latent": k}, s)
    add(base_rows)

    # Autoencoders: load the saved ones, train the rest together.
    members = grid_members(settings)
    models: dict[VariantMember, tuple[Autoencoder, dict]] = {}
    for m in members:
        path = folder.model_path(m.name)
        if path.is_file():
            models[m] = bundle.load(path, device)
    todo = [m for m in members if m not in models]
    if todo:
        emit("train_start", epochs=settings.epochs, members=len(todo))
        trained, log = train_members(todo, train, settings, device, lambda e, l: emit("epoch", epoch=e, losses=l))
        emit("train_end", seconds=log.seconds)
        names = [m.name for m in trained]
        folder.merge_loss_table(pd.DataFrame(log.losses, columns=names))  # keeps the earlier runs' curves
        for i, (m, model) in enumerate(trained.items()):
            meta = _member_meta(log.losses, i, log.seconds, len(todo), settings, bundle.training_range(train[m.seed]), m)
            bundle.save(folder.model_path(m.name), model, meta)
            models[m] = (model.eval(), meta)

    emit("stage", "evaluating autoencoders")
    ae_rows = []
    for m in members:
        model, meta = models[m]
        extra = {k: meta[k] for k in ("epochs", "n_train", "final_train_loss", "train_seconds", "ensemble_size")}
        base = {"model": "ae", "activation": m.activation, "latent": m.latent, "variant": m.variant,
                "train_noise": m.train_noise, **extra}  # fmt: skip
        # A gaussian denoising AE is trained for one noise level and evaluated at that level.
        levels = [m.train_noise] if m.variant == "denoising" and settings.train_noise_kind == "gaussian" else None
        ae_rows += record(model, base, m.seed, levels)
    add(ae_rows)
    folder.write_probe(probe_table(probe_rows, sets[settings.seeds[0]][0]))
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def write_outputs(results: pd.DataFrame, folder: RunFolder, settings: GridSettings) -> None:
    """summary.md and figures/, drawn from the results and the probe and loss tables."""
    commit = git_commit()
    detail = (f"commit {commit[:12] if commit else 'none'} | "
              f"epochs {settings.epochs}, n_train {settings.n_train}, seeds {list(settings.seeds)}")  # fmt: skip
    footer = f"sigdenoise {folder.root} | {detail}"
    write_text(folder.root / "summary.md", tables.summary_markdown(results, header=f"Run `{folder.root}`: {detail}."))
    figures.write_all(results, pd.read_csv(folder.probe_path), folder.figures, footer)
    loss_path = folder.root / "training_loss.csv"
    if loss_path.is_file():
        figures.training_curves(pd.read_csv(loss_path), folder.figures / "training_loss.png", footer)


def probe_table(entries: list[dict], probe: scoring.EvalSet) -> pd.DataFrame:
    """Long table of probe curves for the figures: one row per (model, latent, noise, copy, t).

    `model` is noisy/svd/ae as in results.csv; the noisy rows' `latent` is empty. The clean
    signal is sin(t) and is not stored.
    """
    t = synthetic.time_axis(probe.clean.shape[1])
    frames = []
    for e in entries:
        recon = e["recon"]  # (copies, 100)
        copies, n = recon.shape
        frames.append(pd.DataFrame({
            "model": e["model"], "variant": e.get("variant", ""), "activation": e["activation"],
            "latent": e["latent"], "noise": e["noise"],
            "copy": np.repeat(np.arange(copies), n), "t": np.tile(t, copies), "value": recon.ravel(),
        }))  # fmt: skip
    return pd.concat(frames, ignore_index=True)
