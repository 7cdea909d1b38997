"""`sigdenoise train`: the options are TrainSpec's fields (defaults and help read off them)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from sigdenoise.cli.common import (
    DeviceOpt,
    HeaderOpt,
    IdOpt,
    LayoutOpt,
    NoiseKind,
    Options,
    err,
    interrupted,
    one_line_errors,
    plain,
    training_progress,
)
from sigdenoise.device import DEFAULT_DEVICE
from sigdenoise.errors import require
from sigdenoise.models.activations import Activation
from sigdenoise.recordings.training import TrainSpec

T = Options(TrainSpec)


def parse_noise(text: str) -> float | tuple[float, float]:
    """--train-noise: a level, or LO:HI for a level drawn per window uniformly in [LO, HI]."""
    try:
        parts = [float(p) for p in text.split(":")]
    except ValueError:  # float() of text that is not a number
        parts = []
    ok = len(parts) in (1, 2) and all(p >= 0 and p < float("inf") for p in parts) and parts == sorted(parts)
    require(ok, "--train-noise", f"expected a level >= 0 or LO:HI with 0 <= LO <= HI, got {text!r}")
    return parts[0] if len(parts) == 1 else (parts[0], parts[1])


def train(
    out: Annotated[Path, typer.Option(help="Where to write the model (.safetensors).")] = Path("model.safetensors"),
    activation: Annotated[Activation, T("activation")] = T.default("activation"),
    latent: Annotated[int, T("latent")] = T.default("latent"),
    epochs: Annotated[int, T("epochs")] = T.default("epochs"),
    data: Annotated[Optional[Path], T("data", show_default=False)] = T.default("data"),
    layout: LayoutOpt = T.default("layout"),
    header: HeaderOpt = T.default("header"),
    id_col: IdOpt = None,
    train_noise: Annotated[str, T("noise")] = format(T.default("noise"), "g"),
    noise_type: Annotated[NoiseKind, T("noise_type")] = T.default("noise_type"),
    scale: Annotated[bool, T("scale", "--scale/--no-scale")] = T.default("scale"),
    n_train: Annotated[int, T("n_train")] = T.default("n_train"),
    sd: Annotated[float, T("sd")] = T.default("sd"),
    lr: Annotated[float, T("lr")] = T.default("lr"),
    lr_end: Annotated[Optional[float], T("lr_end", show_default=False)] = T.default("lr_end"),
    seed: Annotated[int, T("seed")] = T.default("seed"),
    device: DeviceOpt = DEFAULT_DEVICE,
) -> None:
    """Train one autoencoder and save it for `denoise --model`."""
    from sigdenoise.device import resolve
    from sigdenoise.recordings.training import check_paths, train_model

    with interrupted("nothing was written"), one_line_errors(), training_progress() as bar:
        spec = TrainSpec(
            activation=plain(activation), latent=latent, epochs=epochs, noise=parse_noise(train_noise),
            noise_type=plain(noise_type), scale=scale, n_train=n_train, sd=sd, lr=lr, lr_end=lr_end, seed=seed,
            data=str(data) if data else None, layout=plain(layout), header=header, id_cols=tuple(id_col or ()),
        )  # fmt: skip
        check_paths(spec, out)  # before minutes of training, not after
        dev = resolve(plain(device))
        task = bar.add_task(f"training ae {spec.activation} latent {spec.latent}, noise {train_noise} on {dev}",
                            total=spec.epochs, info="")  # fmt: skip
        meta = train_model(spec, out, dev, on_epoch=lambda e, loss: bar.update(task, advance=1, info=f"loss {loss:.5f}"))
    err.print(f"Wrote {out}: final training loss {meta['final_train_loss']:.5f} in {meta['train_seconds']:.1f} s.", markup=False)
