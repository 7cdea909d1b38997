"""The study's architecture as numbers, without torch: the latent sizes and every layer's width.
models/autoencoder.py builds the network from these; settings check a latent against them.
"""

from __future__ import annotations

ENCODER_5 = (100, 50, 25, 10, 5)
LATENTS = (1, 5)


def layer_sizes(latent: int, n_samples: int = 100, width: int | None = None) -> tuple[int, ...]:
    """Widths from input to output, e.g. latent 5: (100, 50, 25, 10, 5, 10, 25, 50, 100).

    width W replaces the study's body by a wider one, (n, W, W/2, W/4, latent) and its mirror
    (issue 6's denoiser near the ceiling)."""
    if latent not in LATENTS:
        raise ValueError(f"latent must be one of {LATENTS}, got {latent}")
    if width is None:
        enc = (n_samples,) + ENCODER_5[1:] + ((1,) if latent == 1 else ())
    else:
        enc = (n_samples, width, width // 2, width // 4, latent)
    return enc + enc[-2::-1]
