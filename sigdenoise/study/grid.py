"""The grid, end to end: baselines, one stacked training of every missing autoencoder, evaluation
at every noise level, the tidy results table. Resumable: finished rows and saved models are kept.

Writes only through RunFolder; reports progress through the `on_event` callback (the CLI prints).
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
import pandas as pd
import torch

from sigdenoise import seeds, synthetic
from sigdenoise.atomic import write_text
from sigdenoise.errors import NonFiniteError
from sigdenoise.evaluate import scoring
from sigdenoise.models import bundle
from sigdenoise.models.autoencoder import Autoencoder
from sigdenoise.models.svd import Identity, SVDProjector
from sigdenoise.study import figures, tables
from sigdenoise.study.resume import check_device, check_model, check_resumable, complete_rows
from sigdenoise.study.runfolder import METRICS, RESULT_COLUMNS, RunFolder, git_commit, parse_results
from sigdenoise.study.settings import GridSettings
from sigdenoise.train import front
from sigdenoise.train.front import Recipe, Trained
from sigdenoise.train.members import Member

Event = Callable[..., None]
KEY = ["model", "variant", "activation", "latent", "train_noise", "noise", "seed", "eval"]


def check_finite(rows: list[dict], name: str) -> None:
    """Refuse rows with a NaN or inf metric before they are written (a diverged model)."""
    for r in rows:
        bad = [c for c in METRICS + (("mean_mse",) if r["eval"] == "probe" else ()) if not np.isfinite(r[c])]
        if bad:
            raise NonFiniteError(f"{name}: its {r['eval']} {bad[0]} at noise {r['noise']:g} is {r[bad[0]]} (the "
                                 f"model diverged; lower the variant's weight or the noise); no row was written")  # fmt: skip


def _key(row: dict) -> tuple:
    latent, tn = row["latent"], row.get("train_noise")
    return (row["model"], row.get("variant") or "", row["activation"] or "", -1 if pd.isna(latent) else int(latent),
            0.0 if tn is None or pd.isna(tn) else round(float(tn), 9), round(float(row["noise"]), 9),
            int(row["seed"]), row["eval"])  # fmt: skip


def grid_members(settings: GridSettings) -> list[Member]:
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
                    out += [Member(k, a, s, v, float(l), width, settings.loss) for l in levels]
    return sorted(out)


def train_members(members: list[Member], train_sets: dict[int, np.ndarray], settings: GridSettings,
                  device: torch.device, on_epoch) -> Trained:  # fmt: skip
    """Train `members` through the front door (the plain ones stacked, the variants vmapped);
    returns the models and one log over all of them (epochs, M), both in training order."""
    data = {s: torch.as_tensor(train_sets[s], dtype=torch.float32, device=device) for s in sorted({m.seed for m in members})}
    fresh = None
    if settings.width is not None:  # the wide denoiser sees freshly drawn signals each epoch
        def fresh(seed, epoch):
            x = synthetic.generate(settings.n_train, seeds.rng(seed, seeds.FRESH + epoch), settings.sd)[0]
            return torch.as_tensor(x, dtype=torch.float32, device=device)
    recipe = Recipe(settings.epochs, settings.batch_size, settings.lr, settings.variant_settings(), settings.variant_noise_seed)
    return front.train(members, data, recipe, on_epoch, fresh)


def _member_meta(log_losses: np.ndarray, i: int, seconds: float, size: int, settings: GridSettings, rng_meta: dict,
                 member: Member) -> dict:  # fmt: skip
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


class _Table:
    """The folder's results rows, extended and rewritten whole after each stage."""

    def __init__(self, folder: RunFolder):
        self.folder = folder
        df = folder.read_results()
        ok = complete_rows(df)
        if not ok.all():  # rows cut short or non-finite are recomputed; the rest re-read as clean numbers
            df = parse_results(io.StringIO(df[ok].to_csv(index=False)))
        self.rows, self.done = [], set()
        for r in df.to_dict("records"):  # a duplicated row is kept once
            if _key(r) not in self.done:
                self.done.add(_key(r))
                self.rows.append(r)

    def add(self, new: list[dict]) -> None:
        fresh = [r for r in new if _key(r) not in self.done]
        self.done.update(_key(r) for r in fresh)
        self.rows.extend(fresh)
        self.folder.write_results(self.frame())

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=RESULT_COLUMNS)


def run(settings: GridSettings, folder: RunFolder, device: torch.device, on_event: Event | None = None) -> pd.DataFrame:
    """Run (or resume) the grid in `folder`; returns every results row the folder holds."""
    emit = on_event or (lambda *a, **k: None)
    check_resumable(folder, settings)
    check_device(folder, device)
    for m in grid_members(settings):  # a saved model must be the member it is named after, before any write
        if folder.model_path(m.name).is_file():
            check_model(folder.model_path(m.name), bundle.read_meta(folder.model_path(m.name)), m)
    folder.write_config(settings.to_dict(), str(device))
    table = _Table(folder)
    train = {s: synthetic.training_set(s, settings.n_train, settings.sd) for s in settings.seeds}
    sets = {s: scoring.eval_sets(s, settings.n_test, settings.sd, settings.probe_copies) for s in settings.seeds}
    probe_rows: list[dict] = []

    def record(denoiser, base: dict, seed: int, levels=None, name: str = "") -> list[dict]:
        out = []
        for level in levels or settings.noises:
            rows, recon = scoring.rows(denoiser, base, sets[seed], level, seed)
            check_finite(rows, name or f"{base['model']} (seed {seed})")
            out += rows
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
    table.add(base_rows)
    members = grid_members(settings)
    models = _models(members, train, settings, folder, device, emit)
    emit("stage", "evaluating autoencoders")
    ae_rows = []
    for m in members:
        base, levels = _ae_base(m, models[m][1], settings)
        ae_rows += record(models[m][0], base, m.seed, levels, m.name)
    table.add(ae_rows)
    folder.write_probe(probe_table(probe_rows, sets[settings.seeds[0]][0]))
    return table.frame()


def _ae_base(m: Member, meta: dict, settings: GridSettings) -> tuple[dict, list[float] | None]:
    """An autoencoder's fixed result columns, and the noise levels it is evaluated at (None: all)."""
    extra = {k: meta[k] for k in ("epochs", "n_train", "final_train_loss", "train_seconds", "ensemble_size")}
    base = {"model": "ae", "activation": m.activation, "latent": m.latent, "variant": m.variant,
            "train_noise": m.train_noise, **extra}  # fmt: skip
    # A gaussian denoising AE is trained for one noise level and evaluated at that level.
    levels = [m.train_noise] if m.variant == "denoising" and settings.train_noise_kind == "gaussian" else None
    return base, levels


def _models(members: list[Member], train: dict[int, np.ndarray], settings: GridSettings, folder: RunFolder,
            device: torch.device, emit: Event) -> dict[Member, tuple[Autoencoder, dict]]:  # fmt: skip
    """Every member's model and metadata: the folder's saved ones loaded, the rest trained together."""
    models: dict[Member, tuple[Autoencoder, dict]] = {}
    for m in members:
        path = folder.model_path(m.name)
        if path.is_file():
            models[m] = bundle.load(path, device)
            check_model(path, models[m][1], m)
    todo = [m for m in members if m not in models]
    if todo:
        models.update(_train_and_save(todo, train, settings, folder, device, emit))
    return models


def _train_and_save(todo: list[Member], train: dict[int, np.ndarray], settings: GridSettings, folder: RunFolder,
                    device: torch.device, emit: Event) -> dict[Member, tuple[Autoencoder, dict]]:  # fmt: skip
    """Train the missing members together and save each with its metadata; the loss curves join
    the folder's earlier ones."""
    emit("train_start", epochs=settings.epochs, members=len(todo))
    trained = train_members(todo, train, settings, device, lambda e, l: emit("epoch", epoch=e, losses=l))
    log = trained.log
    emit("train_end", seconds=log.seconds)
    folder.merge_loss_table(pd.DataFrame(log.losses, columns=[m.name for m in trained.models]))
    for i, (m, model) in enumerate(trained.models.items()):  # none is saved if one diverged
        loss = float(log.losses[-1, i])
        if not np.isfinite(loss) or not all(torch.isfinite(p).all() for p in model.parameters()):
            raise NonFiniteError(f"{m.name}: training diverged (final loss {loss}); lower the variant's weight, "
                                 f"the noise or the epochs; no model was saved")  # fmt: skip
    out = {}
    for i, (m, model) in enumerate(trained.models.items()):
        meta = _member_meta(log.losses, i, log.seconds, len(todo), settings, bundle.training_range(train[m.seed]), m)
        bundle.save(folder.model_path(m.name), model, meta)
        out[m] = (model.eval(), meta)
    return out


def write_outputs(results: pd.DataFrame, folder: RunFolder, settings: GridSettings) -> None:
    """summary.md and figures/, drawn from the results and the probe and loss tables."""
    commit = git_commit()
    detail = (f"commit {commit[:12] if commit else 'none'} | "
              f"epochs {settings.epochs}, n_train {settings.n_train}, seeds {list(settings.seeds)}")  # fmt: skip
    footer = f"sigdenoise {folder.root} | {detail}"
    write_text(folder.root / "summary.md", tables.summary_markdown(results, header=f"Run `{folder.root}`: {detail}."))
    loss_path = folder.root / "training_loss.csv"
    losses = pd.read_csv(loss_path) if loss_path.is_file() else None
    figures.write_all(results, pd.read_csv(folder.probe_path), folder.figures, footer, losses)


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
