"""Many seeded random streams at once: row i drawn exactly as
`np.random.default_rng(entropy[i]).standard_normal(n)` draws it, about twice as fast.

auto gives every signal Monte-Carlo probes of its own stream (select.probes), one to five per
signal, and making each generator took 28 µs, more than denoising the signal (a 1 GB file has a
million of them; issue 15). Most of that is numpy's SeedSequence hashing its entropy, a few dozen
uint32 operations, which run here for all rows at once; each row's PCG64 is then seeded from the
hash as PCG64's constructor does, and one reused Generator draws the row. Pinned to default_rng
by tests/test_auto.py (every row of random entropies equal, bit for bit).
"""

from __future__ import annotations

import numpy as np

# numpy/random/bit_generator.pyx (SeedSequence) and _pcg64.pyx / pcg64.c (PCG64's seeding)
_INIT_A, _MULT_A, _INIT_B, _MULT_B = 0x43B0D7E5, 0x931E8875, 0x8B51F9DD, 0x58F38DED
_MIX_L, _MIX_R = 0xCA01F9DD, 0x4973F715
_POOL = 4
_PCG_MULT = 0x2360ED051FC65DA44385DF649FCCF645
_M128 = (1 << 128) - 1
_U = np.uint32


def _hashmix(v: np.ndarray, h: np.uint32) -> tuple[np.ndarray, np.uint32]:
    v = v ^ h
    h = _U(h * _U(_MULT_A))
    v = v * h
    return v ^ (v >> _U(16)), h


def _mix(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    r = _U(_MIX_L) * x - _U(_MIX_R) * y
    return r ^ (r >> _U(16))


def seed_states(entropy: np.ndarray) -> np.ndarray:
    """`SeedSequence(row).generate_state(4, np.uint64)` of each row of entropy (k, w), uint32
    words as SeedSequence makes of a list of ints each below 2^32: (k, 4) uint64."""
    e = np.asarray(entropy, dtype=np.uint32)
    k, w = e.shape
    h = _U(_INIT_A)
    with np.errstate(over="ignore"):  # uint32 arithmetic wraps, as the C's
        pool = []
        for i in range(_POOL):
            word, h = _hashmix(e[:, i] if i < w else np.zeros(k, np.uint32), h)
            pool.append(word)
        for src in range(_POOL):
            for dst in range(_POOL):
                if src != dst:
                    word, h = _hashmix(pool[src], h)
                    pool[dst] = _mix(pool[dst], word)
        for src in range(_POOL, w):
            for dst in range(_POOL):
                word, h = _hashmix(e[:, src], h)
                pool[dst] = _mix(pool[dst], word)
        out = np.empty((k, 8), np.uint32)
        hb = _U(_INIT_B)
        for i in range(8):
            v = pool[i % _POOL] ^ hb
            hb = _U(hb * _U(_MULT_B))
            v = v * hb
            out[:, i] = v ^ (v >> _U(16))
    return out.astype("<u4").view("<u8").astype(np.uint64)


def _pcg_state(words: np.ndarray) -> dict:
    """PCG64's state after seeding from generate_state's 4 words (pcg64_set_seed)."""
    seed = (int(words[0]) << 64) | int(words[1])
    inc = ((((int(words[2]) << 64) | int(words[3])) << 1) | 1) & _M128
    state = (((inc + seed) & _M128) * _PCG_MULT + inc) & _M128  # step from 0, add the seed, step
    return {"bit_generator": "PCG64", "state": {"state": state, "inc": inc}, "has_uint32": 0, "uinteger": 0}


def standard_normal_rows(entropy: np.ndarray, n: int) -> np.ndarray:
    """(k, n): row i is `np.random.default_rng(list(entropy[i])).standard_normal(n)`, entropy
    (k, w) of ints below 2^32."""
    states = seed_states(entropy)
    out = np.empty((len(states), n))
    bits = np.random.PCG64()
    gen = np.random.Generator(bits)
    for row, words in zip(out, states):
        bits.state = _pcg_state(words)
        gen.standard_normal(out=row)
    return out
