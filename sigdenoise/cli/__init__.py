"""The command line: parses options into settings, calls the stages, and is the only place that
prints. Bad input ends in one line on stderr naming the option or file at fault, exit code 2."""

from __future__ import annotations

import sys
import time
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from typer.core import TyperGroup

from sigdenoise.cli.common import OneLineErrors, count, err, fail, stdout

from sigdenoise.models.activations import ACTIVATIONS, Activation
from sigdenoise.study.settings import DEFAULT_EPOCHS, GridSettings
from sigdenoise.errors import SettingsError
from sigdenoise.train.objectives import LOSSES, NOISE_KINDS, SPARSE_KINDS, VARIANTS

class Group(TyperGroup):
    def list_commands(self, ctx):  # keep the order the commands are defined in
        return list(self.commands)


app = typer.Typer(
    cls=Group,
    no_args_is_help=True,
    add_completion=False,
    help="Denoise 1-D signals with autoencoders; reproduce and extend the sinusoid study.",
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Denoise 1-D signals with autoencoders; reproduce and extend the sinusoid study."""


class DeviceChoice(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


# Choices from the variants module's registries.
Variant = Enum("Variant", {v: v for v in VARIANTS}, type=str)
NoiseKind = Enum("NoiseKind", {k.replace("-", "_"): k for k in NOISE_KINDS}, type=str)
SparseKind = Enum("SparseKind", {k: k for k in SPARSE_KINDS}, type=str)
LossKind = Enum("LossKind", {k: k for k in LOSSES}, type=str)


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(), TimeRemainingColumn(), console=err, transient=False,
    )  # fmt: skip


@app.command(cls=OneLineErrors)
def grid(
    activation: Annotated[Optional[list[Activation]], typer.Option(help="Activation (repeatable); default: all seven.", show_default=False)] = None,
    latent: Annotated[Optional[list[int]], typer.Option(help="Latent size, 1 or 5 (repeatable); default: both.", show_default=False)] = None,
    noise: Annotated[Optional[list[float]], typer.Option(help="Noise level l in x + l*p (repeatable); default: 0.1 and 1.0.", show_default=False)] = None,
    epochs: Annotated[int, typer.Option(help="Training epochs (default: where training loss plateaus; see README).")] = DEFAULT_EPOCHS,
    seed: Annotated[Optional[list[int]], typer.Option(help="Seed (repeatable): each is a replicate.  \\[default: 0]", show_default=False)] = None,
    n_train: Annotated[int, typer.Option(help="Clean training signals per seed.")] = 20_000,
    n_test: Annotated[int, typer.Option(help="Held-out test signals per seed.")] = 2_000,
    sd: Annotated[float, typer.Option(help="Standard deviation of the frequency r.")] = 2.25,
    device: Annotated[DeviceChoice, typer.Option(help="auto takes CUDA when present.")] = DeviceChoice.auto,
    out: Annotated[Optional[Path], typer.Option(help="Run folder; default runs/<date-time>. An existing one is resumed.", show_default=False)] = None,
    variant: Annotated[Optional[list[Variant]], typer.Option(help="Autoencoder variant (repeatable); default: plain, the study's.", show_default=False, rich_help_panel="Variants")] = None,
    train_noise_kind: Annotated[NoiseKind, typer.Option(help="Corruption of the denoising variant (gaussian: at each --noise level).", rich_help_panel="Variants")] = NoiseKind.gaussian,
    train_noise_rate: Annotated[float, typer.Option(help="nu of masking / salt-pepper corruption.", rich_help_panel="Variants")] = 0.25,
    sparse_kind: Annotated[SparseKind, typer.Option(help="Sparsity penalty: KL to rho, or L1 of the code.", rich_help_panel="Variants")] = SparseKind.kl,
    sparse_weight: Annotated[float, typer.Option(help="Weight of the sparsity penalty.", rich_help_panel="Variants")] = 1e-3,
    rho: Annotated[float, typer.Option(help="Target activation rate of the KL sparsity penalty.", rich_help_panel="Variants")] = 0.05,
    contractive_weight: Annotated[float, typer.Option(help="Weight of the encoder-Jacobian penalty.", rich_help_panel="Variants")] = 1e-3,
    beta: Annotated[float, typer.Option(help="Weight of the VAE's KL term.", rich_help_panel="Variants")] = 1e-3,
    loss: Annotated[LossKind, typer.Option(help="mse, or bce (sigmoid output, signals scaled to [0, 1]).", rich_help_panel="Variants")] = LossKind.mse,
    width: Annotated[Optional[int], typer.Option(help="Wider body (n, W, W/2, W/4, latent) for the denoising variant, fresh signals each epoch.", show_default=False, rich_help_panel="Variants")] = None,
) -> None:
    """Train and compare the autoencoder grid (activation x latent x noise) with the SVD projector."""
    from sigdenoise.study import grid as grid_mod
    from sigdenoise.study import tables
    from sigdenoise.errors import BundleError
    from sigdenoise.device import resolve
    from sigdenoise.study import resume
    from sigdenoise.study.runfolder import RunFolder, default_out

    try:
        settings = GridSettings(
            activations=tuple(a.value for a in activation) if activation else ACTIVATIONS,
            latents=tuple(latent) if latent else (1, 5),
            noises=tuple(noise) if noise else (0.1, 1.0),
            seeds=tuple(seed) if seed else (0,),
            epochs=epochs, n_train=n_train, n_test=n_test, sd=sd, device=device.value,
            variants=tuple(v.value for v in variant) if variant else ("plain",),
            train_noise_kind=train_noise_kind.value, train_noise_rate=train_noise_rate, sparse_kind=sparse_kind.value,
            sparse_weight=sparse_weight, rho=rho, contractive_weight=contractive_weight, beta=beta, loss=loss.value,
            width=width,
        )  # fmt: skip
        dev = resolve(settings.device)
        folder = RunFolder(out or default_out())
        resume.check_folder_is_run(folder.root)
        resume.check_resumable(folder, settings)
        resume.check_extends(folder, settings)
    except SettingsError as e:
        raise fail(str(e)) from None

    t0 = time.perf_counter()
    try:
        with _progress() as bar:
            results = grid_mod.run(settings, folder, dev, _progress_events(bar))
    except BundleError as e:  # a saved model of the folder that cannot be read back
        raise fail(f"{e}; delete it to train it again") from None
    grid_mod.write_outputs(results, folder, settings)
    stdout.print(tables.to_markdown(tables.grid_table(results, "test", "mse")))
    err.print(f"Wrote {folder.root} in {time.perf_counter() - t0:.1f} s on {dev}.")


@app.command(cls=OneLineErrors)
def report(
    quick: Annotated[bool, typer.Option("--quick", help="2 seeds, 4 epochs, small sets: under a minute on 2 cores; a check, not the study.")] = False,
    out: Annotated[Optional[Path], typer.Option(help="Folder to write REPORT.md, figures/, results.csv and claims.csv into.  \\[default: reports; with --quick runs/quick-report, so that a check never overwrites the report]", show_default=False)] = None,
    cache: Annotated[Optional[Path], typer.Option(help="Grid run folder (models) to train into or resume; default runs/report[-quick].", show_default=False)] = None,
    fresh: Annotated[bool, typer.Option("--fresh", help="Delete the cache first, so everything is rebuilt from nothing.")] = False,
    epochs: Annotated[Optional[int], typer.Option(help="Override the training epochs.", show_default=False)] = None,
    seed: Annotated[Optional[list[int]], typer.Option(help="Override the seeds (repeatable).", show_default=False)] = None,
    device: Annotated[DeviceChoice, typer.Option(help="auto takes CUDA when present.")] = DeviceChoice.auto,
) -> None:
    """Regenerate the report: the study's figures, statistics over seeds, baselines, the Bayes ceiling and the claims table."""
    from dataclasses import replace

    from sigdenoise.study import grid as grid_mod
    from sigdenoise.study import report as report_mod
    from sigdenoise.device import resolve
    from sigdenoise.study import resume
    from sigdenoise.study.runfolder import RunFolder

    try:
        settings = report_mod.ReportSettings.quick_settings() if quick else report_mod.ReportSettings()
        if epochs is not None:
            settings = replace(settings, epochs=epochs)
        if seed:
            settings = replace(settings, seeds=tuple(dict.fromkeys(seed)))
        settings.grid(device.value)  # validates
        dev = resolve(device.value)
        out = out or (Path("runs") / "quick-report" if quick else Path("reports"))
        cache = cache or Path("runs") / ("report-quick" if quick else "report")
        # Before any training: the folders must be makeable, and a kept cache resumable.
        resume.check_folder(out, "--out")
        resume.check_folder(cache, "--cache")
        for name, gs in ([] if fresh else settings.grids(dev.type).items()):
            resume.check_resumable(RunFolder(cache / name), gs, "--cache")
    except SettingsError as e:
        raise fail(str(e)) from None
    t0 = time.perf_counter()
    with _progress() as bar:
        report_mod.build(settings, out, cache, dev, _progress_events(bar), fresh=fresh)
    err.print(f"Wrote {out}/REPORT.md in {time.perf_counter() - t0:.1f} s on {dev}.")


def _progress_events(bar: Progress):
    """An on_event callback drawing training progress on `bar`."""
    task = None

    def on_event(kind, *args, **kw):
        nonlocal task
        if kind == "stage":
            err.print(f"[dim]{args[0]}[/dim]")
        elif kind == "train_start":
            task = bar.add_task(f"training {count(kw['members'], 'autoencoder')}", total=kw["epochs"], info="")
        elif kind == "epoch":
            losses = kw["losses"]
            bar.update(task, advance=1, info=f"loss {losses.min():.4f}..{losses.max():.4f}")

    return on_event


from sigdenoise.cli.denoise import register  # noqa: E402  (its commands import clikit, not this module)

register(app)


def main() -> None:  # pragma: no cover - console entry point
    app(prog_name="sigdenoise")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
