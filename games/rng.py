"""A tiny explicit random generator for compiled code (splitmix64).

numba's own np.random state is global and is not seeded by np.random.seed from Python, so every
kernel that needs randomness takes a `uint64` state array and advances it in place: the same seed
gives the same games.
"""
import numpy as np
from numba import njit


def make_rng(seed: int, n: int = 1) -> np.ndarray:
    """Return n independent generator states ([n] uint64) derived from one seed."""
    seeds = np.random.SeedSequence(seed).generate_state(n, dtype=np.uint64)
    return seeds.astype(np.uint64)


@njit(cache=True, inline="always")
def next_u64(rng, i):
    """Advance generator i of `rng` and return 64 random bits."""
    rng[i] += np.uint64(0x9E3779B97F4A7C15)
    z = rng[i]
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(cache=True, inline="always")
def below(rng, i, n):
    """A uniform integer in [0, n) from generator i, for n < 2**32: the high half of 32 random
    bits times n (a multiply, not a division: this is inside every random playout's loop)."""
    return np.int64(((next_u64(rng, i) >> np.uint64(32)) * np.uint64(n)) >> np.uint64(32))
