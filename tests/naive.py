"""Slow, obviously correct references: enumerate every alignment path of a small grid."""

import numpy as np


def alignment_paths(N: int, M: int) -> list[np.ndarray]:
    """Every monotone path from (0, 0) to (N-1, M-1) with steps (1, 0), (0, 1), (1, 1), as 0/1 matrices."""
    paths = []

    def extend(i, j, cells):
        if (i, j) == (N - 1, M - 1):
            A = np.zeros((N, M))
            for a, b in cells:
                A[a, b] = 1.0
            paths.append(A)
            return
        for di, dj in ((1, 0), (0, 1), (1, 1)):
            if i + di < N and j + dj < M:
                extend(i + di, j + dj, cells + [(i + di, j + dj)])

    extend(0, 0, [(0, 0)])
    return paths


def gibbs(D: np.ndarray, gamma: float):
    """Soft-DTW value, path probabilities and paths of one (N, M) cost matrix, by enumeration."""
    paths = alignment_paths(*D.shape)
    costs = np.array([(A * D).sum() for A in paths])
    shifted = -(costs - costs.min()) / gamma
    value = costs.min() - gamma * np.log(np.exp(shifted).sum())
    probs = np.exp(shifted) / np.exp(shifted).sum()
    return value, probs, paths


def soft_dtw(D: np.ndarray, gamma: float) -> float:
    return gibbs(D, gamma)[0]


def expected_alignment(D: np.ndarray, gamma: float) -> np.ndarray:
    _, probs, paths = gibbs(D, gamma)
    return sum(p * A for p, A in zip(probs, paths, strict=True))


def alignment_hvp(D: np.ndarray, gamma: float, Z: np.ndarray) -> np.ndarray:
    """dE/dD applied to Z: -(1/gamma) (sum_A p_A A <A, Z> - E <E, Z>), the Gibbs covariance."""
    _, probs, paths = gibbs(D, gamma)
    E = sum(p * A for p, A in zip(probs, paths, strict=True))
    second = sum(p * A * (A * Z).sum() for p, A in zip(probs, paths, strict=True))
    return -(second - E * (E * Z).sum()) / gamma


def dtw(D: np.ndarray) -> tuple[float, np.ndarray]:
    """Minimum summed cost over all paths, and one minimising path."""
    paths = alignment_paths(*D.shape)
    costs = [(A * D).sum() for A in paths]
    best = int(np.argmin(costs))
    return costs[best], paths[best]


def count_paths(N: int, M: int) -> int:
    """Delannoy number D(N-1, M-1), the number of alignment paths, by its closed sum."""
    from math import comb

    m, n = N - 1, M - 1
    return sum(comb(m, k) * comb(n, k) * 2**k for k in range(min(m, n) + 1))
