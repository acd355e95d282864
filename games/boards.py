"""Python helpers that square-board games share: their 8 symmetries and coordinate names."""
import numpy as np
from numba import njit

GTP_COLUMNS = "abcdefghjklmnopqrstuvwxyz"  # GTP's column letters (Gomoku, Go; boards to 25x25): no i


def dihedral(size: int) -> np.ndarray:
    """[8, size*size] int64: the square's rotations and reflections as cell permutations (cells
    row-major); symmetry k sends cell i to cell perms[k, i]; entry 0 is the identity."""
    grid = np.arange(size * size).reshape(size, size)
    perms = []
    for k in range(4):
        for flip in (False, True):
            g = np.rot90(grid, k)
            g = np.fliplr(g) if flip else g
            perm = np.empty(size * size, np.int64)
            perm[g.ravel()] = np.arange(size * size)  # the cell that g puts at j is sent to j
            perms.append(perm)
    return np.array(perms)


def with_pass(cell_perms: np.ndarray) -> np.ndarray:
    """Action permutations for actions = the cells, then a pass that every symmetry keeps."""
    k, cells = cell_perms.shape
    return np.concatenate([cell_perms, np.full((k, 1), cells, np.int64)], axis=1)


def coordinates(size: int, letters: str, ascending: bool) -> list[str]:
    """Each cell's name, cells row-major: a column letter then a row number. `ascending`: cell
    row r is row r + 1 (Othello's cells, whose row 1 is at the top; Go's, numbered from the
    bottom row as OpenSpiel numbers them), else row size - r (Gomoku's cells, numbered from the
    top, with GTP's row 1 at the bottom)."""
    return [f"{letters[c]}{r + 1 if ascending else size - r}"
            for r in range(size) for c in range(size)]


def column_kernels(outcome: int, ply: int):
    """The `outcomes` and `to_play` kernels of a game whose state keeps its outcome (ONGOING or
    the result for the mover) in column `outcome` and its move count in column `ply`."""
    @njit(cache=True)
    def outcomes(states):
        return states[:, outcome].astype(np.int8)

    @njit(cache=True)
    def to_play(states):
        return (states[:, ply] % 2).astype(np.int8)

    return outcomes, to_play
