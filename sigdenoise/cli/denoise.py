"""The `denoise` and `train` commands: functions here, attached to the app by `register(app)`.

Both print only through clikit's consoles; every bad input ends in one line on stderr naming the
file (and line and column) or the option at fault, exit code 2, and no output file.
"""

from __future__ import annotations

import time
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import numpy as np
import typer

from sigdenoise.models.activations import Activation
from sigdenoise.cli.common import OneLineErrors, count, err, fail
from sigdenoise.study.settings import DEFAULT_EPOCHS


class Layout(str, Enum):
    rows = "rows"
    columns = "columns"


class Method(str, Enum):
    ae = "ae"
    svd = "svd"


class NoiseType(str, Enum):  # the grid's corruption names (variants.NOISE_KINDS)
    gaussian = "gaussian"
    masking = "masking"
    salt_pepper = "salt-pepper"


class Device(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


LayoutOpt = Annotated[Layout, typer.Option(help="rows: one signal per line; columns: one per column (the study's 100 x N matrix).")]
HeaderOpt = Annotated[Optional[bool], typer.Option("--header/--no-header", help="First line is a header.  \\[default: detected]", show_default=False)]
IdOpt = Annotated[Optional[list[str]], typer.Option("--id-col", help="Column kept untouched: header name or 1-based number (repeatable).", show_default=False)]
PLOT_SIGNALS = 4


def denoise(
    input: Annotated[Path, typer.Argument(help="Signals: .csv (see --layout) or .npy.", show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file (.csv or .npy), same layout, ids and lengths as the input.", show_default=False)],
    layout: LayoutOpt = Layout.rows,
    header: HeaderOpt = None,
    id_col: IdOpt = None,
    model: Annotated[Optional[Path], typer.Option(help="A model from `sigdenoise train` or a grid run's models/.  \\[default: the packaged model]", show_default=False)] = None,
    method: Annotated[Optional[Method], typer.Option(help="ae: an autoencoder; svd: an SVD projector.  \\[default: svd with --fit or --rank, else ae]", show_default=False)] = None,
    fit: Annotated[Optional[bool], typer.Option("--fit/--no-fit", help="Fit the denoiser on the input's own windows; --no-fit uses a trained model (the packaged one unless --model).  \\[default: --fit; --no-fit with --model, or for fewer than 100 windows that are about one a signal]", show_default=False)] = None,
    rank: Annotated[Optional[int], typer.Option(help="SVD rank, 1 to 100; implies --method svd.  \\[default: 5; with --fit, chosen by the Gavish-Donoho threshold]", show_default=False)] = None,
    hop: Annotated[int, typer.Option(help="Samples between window starts (1 .. window).")] = 50,
    scale: Annotated[Optional[bool], typer.Option("--scale/--no-scale", help="Scale each window into the model's training range and back.  \\[default: as the model was trained (the packaged one and `train`'s: scaled; a grid run's: not); --scale when fitting]", show_default=False)] = None,
    activation: Annotated[Activation, typer.Option(help="Activation of the autoencoder --fit trains.")] = Activation.gelu,
    latent: Annotated[int, typer.Option(help="Latent size (1 or 5) of the autoencoder --fit trains.")] = 5,
    epochs: Annotated[int, typer.Option(help="Epochs of the autoencoder --fit trains.")] = 100,
    digits: Annotated[int, typer.Option(help="Significant digits written to CSV.")] = 9,
    plot: Annotated[Optional[Path], typer.Option(help=f"PNG of noisy against denoised for the first {PLOT_SIGNALS} signals.", show_default=False)] = None,
    seed: Annotated[int, typer.Option(help="Seed of --fit ae.")] = 0,
    device: Annotated[Device, typer.Option(help="auto takes CUDA when present.")] = Device.auto,
) -> None:
    """Denoise your own signals, of any length; writes the same shape back."""
    from sigdenoise.recordings import pipeline
    from sigdenoise.errors import BundleError
    from sigdenoise.device import resolve
    from sigdenoise.errors import SettingsError
    from sigdenoise.recordings.read import open_signals
    from sigdenoise.errors import SignalIOError
    from sigdenoise.recordings.write import Writer

    # Fitting on the input's own windows is the default: it gained SNR on every recording measured,
    # where the packaged model, trained on the study's sinusoids, loses 2-10 dB on light noise
    # (README, "Denoising your own signals"). With too few windows it is not (below).
    fit_asked, method_asked = fit, method or (Method.svd if rank is not None else None)
    fit = (model is None) if fit is None else fit
    method = method_asked or (Method.svd if fit else Method.ae)
    if model is not None and rank is not None:
        raise fail("--rank: only the SVD denoiser has a rank; --model loads an autoencoder")
    if model is not None and (fit or method is Method.svd):
        raise fail("--model loads a trained autoencoder; it cannot be combined with --fit or --method svd")
    if latent not in (1, 5):
        raise fail(f"--latent: must be 1 or 5, got {latent}")
    if rank is not None and not 1 <= rank <= pipeline.windows.WINDOW:
        raise fail(f"--rank: must be between 1 and the window ({pipeline.windows.WINDOW} samples), got {rank}")
    if rank is not None and method is Method.ae:
        raise fail("--rank: only the SVD denoiser has a rank; it cannot be combined with --method ae")
    if not 1 <= digits <= 17:
        raise fail(f"--digits: must be between 1 and 17, got {digits}")
    if epochs < 1:
        raise fail(f"--epochs: must be at least 1, got {epochs}")
    if not 1 <= hop <= (pipeline.windows.WINDOW if model is None else hop):
        raise fail(f"--hop: must be between 1 and the window ({pipeline.windows.WINDOW} samples), got {hop}")
    if plot is not None and not plot.parent.is_dir():
        raise fail(f"--plot: no directory {plot.parent} to write {plot.name} in")
    if plot is not None and plot.suffix.lower() != ".png":
        raise fail(f"--plot: writes a PNG; name it .png, got {plot.name}")
    t0 = time.perf_counter()
    try:
        Writer.check(out)  # now, not after minutes of fitting
        dev = resolve(device.value)
        src = open_signals(input, layout.value, header, id_col or [])
        chunks = src.chunks()
        plan = None
        if fit:
            raw, n_sources, chunks = pipeline.peek_windows(chunks, pipeline.windows.WINDOW, input)
            few = pipeline.too_few_to_fit(len(raw), n_sources)
            what = f"{count(len(raw), 'window')} of {pipeline.windows.WINDOW} samples from {count(n_sources, 'signal')}"
            # By default, take the packaged model; not for an SVD asked for (the synthetic one is worse).
            if few and fit_asked is None and method_asked is not Method.svd:
                method = Method.ae
                err.print(f"{input}: only {what}, too few to fit a denoiser on; using the packaged autoencoder "
                          "instead (--fit fits anyway)", markup=False)  # fmt: skip
            else:
                if few:
                    err.print(f"warning: fitting on only {what} may remove signal; --no-fit uses the packaged "
                              "autoencoder", markup=False)  # fmt: skip
                err.print(f"fitting {method.value} on {len(raw)} windows of {input}", style="dim", markup=False)
                plan = pipeline.fit_plan(method.value, raw, hop, scale is not False, rank, activation.value, latent, epochs, seed, dev)
        if plan is None:
            if method is Method.svd:
                plan = pipeline.synthetic_svd_plan(rank or 5, hop, scale is not False)
            else:
                plan = pipeline.load_plan(model, hop, scale, dev)
        if not 1 <= hop <= plan.width:
            raise fail(f"--hop: must be between 1 and the window ({plan.width} samples), got {hop}")
        shown: list[tuple] = []
        n_signals = n_samples = 0
        with Writer(out, src, digits) as w, _progress(src.size) as bar:
            for chunk, y in pipeline.stream(chunks, plan, input):
                w.write(chunk, y)
                bar.update(0, completed=src.read)
                n_signals += len(chunk)
                n_samples += sum(len(v) for v in y)
                for k in range(min(len(chunk), PLOT_SIGNALS - len(shown))):
                    shown.append((f"{chunk.unit} {chunk.lines[k]}", np.array(chunk.values[k]), np.array(y[k])))
        if plot is not None:
            from sigdenoise.recordings.figure import noisy_vs_denoised

            noisy_vs_denoised(shown, plot, f"{input.name} -> {out.name}; {plan.label}")
    except (SignalIOError, BundleError, SettingsError, ValueError) as e:
        raise fail(str(e)) from None
    dt = time.perf_counter() - t0
    err.print(f"Denoised {count(n_signals, 'signal')} ({count(n_samples, 'sample')}) with {plan.label} in {dt:.1f} s "
              f"({n_signals / dt:,.0f} signals/s) -> {out}", markup=False)  # fmt: skip


def _progress(total: int):
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    bar = Progress(BarColumn(), DownloadColumn(), TimeRemainingColumn(), console=err, transient=True, disable=not err.is_terminal)
    bar.add_task("reading", total=total)
    return bar


def _noise_range(text: str) -> float | tuple[float, float]:
    """--train-noise: a level, or LO:HI for a level drawn per window uniformly in [LO, HI]."""
    try:
        parts = [float(p) for p in text.split(":")]
    except ValueError:
        parts = []
    if len(parts) not in (1, 2) or any(not (p >= 0 and p < float("inf")) for p in parts) or parts != sorted(parts):
        raise fail(f"--train-noise: expected a level >= 0 or LO:HI with 0 <= LO <= HI, got {text!r}")
    return parts[0] if len(parts) == 1 else (parts[0], parts[1])


def train(
    out: Annotated[Path, typer.Option(help="Where to write the model (.safetensors).")] = Path("model.safetensors"),
    activation: Annotated[Activation, typer.Option(help="Activation between the layers.")] = Activation.gelu,
    latent: Annotated[int, typer.Option(help="Latent size, 1 or 5.")] = 5,
    epochs: Annotated[int, typer.Option(help="Training epochs.")] = DEFAULT_EPOCHS,
    data: Annotated[Optional[Path], typer.Option(help="Your own clean signals (.csv or .npy), cut into windows.  \\[default: the synthetic families]", show_default=False)] = None,
    layout: LayoutOpt = Layout.rows,
    header: HeaderOpt = None,
    id_col: IdOpt = None,
    train_noise: Annotated[str, typer.Option(help="Noise on the inputs (a denoising AE): a level, or LO:HI drawn per window. 0 is the study's clean training.")] = "0",
    noise_type: Annotated[NoiseType, typer.Option(help="Kind of --train-noise: gaussian (level = sd), masking or salt-pepper (level = rate).")] = NoiseType.gaussian,
    scale: Annotated[bool, typer.Option("--scale/--no-scale", help="Train on windows scaled as `denoise` scales them. --no-scale with noise 0 is the grid's training.")] = True,
    n_train: Annotated[int, typer.Option(help="Training windows: synthetic signals, or windows sampled from --data.")] = 20_000,
    sd: Annotated[float, typer.Option(help="Standard deviation of the frequency r of the synthetic signals.")] = 2.25,
    lr: Annotated[float, typer.Option(help="Adam learning rate.")] = 1e-3,
    lr_end: Annotated[Optional[float], typer.Option(help="Cosine-decay the learning rate to this.  \\[default: constant]", show_default=False)] = None,
    seed: Annotated[int, typer.Option(help="Seed of the weights, batch order, noise and synthetic data.")] = 0,
    device: Annotated[Device, typer.Option(help="auto takes CUDA when present.")] = Device.auto,
) -> None:
    """Train one autoencoder and save it for `denoise --model`."""
    from sigdenoise.models.bundle import check_target
    from sigdenoise.errors import BundleError
    from sigdenoise.device import resolve
    from sigdenoise.train.model_file import TrainSpec, train_model
    from sigdenoise.errors import SettingsError
    from sigdenoise.errors import SignalIOError

    noise = _noise_range(train_noise)
    spec = TrainSpec(activation.value, latent, epochs, noise, noise_type.value, scale, n_train, sd, lr, lr_end, seed,
                     str(data) if data else None, layout.value, header, tuple(id_col or ()))  # fmt: skip
    try:
        spec.check()
        check_target(out)  # before minutes of training, not after
        dev = resolve(device.value)
        err.print(f"[dim]training ae {spec.activation} latent {spec.latent}, {spec.epochs} epochs, noise {train_noise} on {dev}[/dim]")
        meta = train_model(spec, out, dev, on_epoch=lambda e, loss: err.print(f"[dim]epoch {e + 1}: loss {loss:.5f}[/dim]") if (e + 1) % 10 == 0 else None)
    except (SignalIOError, BundleError, SettingsError, ValueError) as e:
        raise fail(str(e)) from None
    err.print(f"Wrote {out}: final training loss {meta['final_train_loss']:.5f} in {meta['train_seconds']:.1f} s.", markup=False)


def register(app: typer.Typer) -> None:
    """Attach `denoise` and `train` to the app (cli.py calls this once)."""
    app.command(cls=OneLineErrors)(denoise)
    app.command(cls=OneLineErrors)(train)
