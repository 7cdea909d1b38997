"""Long signals in blocks: what `denoise` does to a signal longer than LONG samples, in memory or
streamed from a file, so that both give the same numbers and memory stays bounded.

A long signal (k rows of n samples, n > LONG) is cut into blocks of BLOCK samples; block b is
denoised with MARGIN samples of context on each side (rows b·BLOCK − MARGIN … (b+1)·BLOCK + MARGIN,
clipped to the signal), and neighbouring blocks are cross-faded linearly over the MARGIN samples
centred on their boundary (each block keeps its own where the other has little context). Each block is one call of the denoiser (auto chooses its candidate and σ̂
per block, as it does per 8 MB block of a file of many signals). The in-memory path reads its
blocks from the array, the streamed path from the file: the same calls on the same numbers, so
the results are equal to the last bit.

Blending is y_prev + w·(y_next − y_prev): where the two blocks agree (doing nothing, a linear
smoother far from the edges) the output is exactly theirs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

BLOCK = 1 << 20  # samples per block: 8 MB a row in float64
MARGIN = 1 << 13  # context each side; also half the cross-fade
LONG = BLOCK + 2 * MARGIN  # signals longer than this go in blocks


def spans(n: int, block: int | None = None, margin: int | None = None) -> list[tuple[int, int, int, int]]:
    """(start, stop, core_start, core_stop) of each block of a signal of n samples: the samples
    read, and the core [core_start, core_stop) it owns; cores tile [0, n)."""
    block, margin = block or BLOCK, MARGIN if margin is None else margin
    cores = [(a, min(a + block, n)) for a in range(0, n, block)]
    if len(cores) > 1 and cores[-1][1] - cores[-1][0] < margin:  # a last core shorter than the fade joins its neighbour
        cores[-2:] = [(cores[-2][0], n)]
    return [(max(0, a - margin), min(n, b + margin), a, b) for a, b in cores]


def run_blocks(n: int, read: Callable[[int, int], np.ndarray], denoise: Callable[[np.ndarray], np.ndarray],
               emit: Callable[[int, np.ndarray], None], block: int | None = None,
               margin: int | None = None) -> None:  # fmt: skip
    """Denoise a signal of n samples block by block: read(start, stop) -> (k, stop − start),
    denoise(that) -> same shape, and emit(start, y) called with consecutive pieces (k, m) of the
    output in order, which together cover [0, n)."""
    margin = MARGIN if margin is None else margin
    parts = spans(n, block, margin)
    pending: tuple[int, np.ndarray] | None = None  # (start, y): the previous block's output from its fade on
    for i, (start, stop, core_a, core_b) in enumerate(parts):
        y = denoise(read(start, stop))
        fade_a = core_a - margin if i > 0 else core_a  # this block's share begins here
        if pending is not None:
            p_start, p_y = pending
            m = core_a + margin - fade_a  # samples both blocks cover around the boundary
            # (m,): this block's weight, 0 -> 1 over the middle half of the overlap, where both blocks
            # have at least margin/2 samples of context (at the overlap's ends one block has none).
            w = np.clip((np.arange(m) + 0.5 - m / 4) / (m / 2), 0.0, 1.0)
            prev, cur = p_y[:, :m], y[:, fade_a - start : fade_a - start + m]
            emit(p_start, prev + w * (cur - prev))
            own_from = fade_a + m
        else:
            own_from = 0
        keep_to = core_b - margin if i + 1 < len(parts) else n  # the next fade starts here
        emit(own_from, y[:, own_from - start : keep_to - start])
        pending = (keep_to, y[:, keep_to - start :]) if i + 1 < len(parts) else None


def in_memory(x: np.ndarray, denoise: Callable[[np.ndarray], np.ndarray], block: int | None = None,
              margin: int | None = None) -> np.ndarray:  # fmt: skip
    """run_blocks over the rows of x (k, n) held in memory: (k, n)."""
    out = np.empty_like(x, dtype=float)

    def emit(start: int, y: np.ndarray) -> None:
        out[:, start : start + y.shape[1]] = y

    run_blocks(x.shape[-1], lambda a, b: x[:, a:b], denoise, emit, block, margin)
    return out
