"""Checks on the arguments of the public functions, each failing with a sentence a user understands."""

import math

import numpy as np
import torch


def check_gamma(gamma) -> float:
    """The soft-min temperature as a float; it must be a finite number > 0."""
    if isinstance(gamma, torch.Tensor) and gamma.numel() == 1:
        gamma = gamma.item()
    if isinstance(gamma, bool) or not isinstance(gamma, (int, float, np.number)):
        raise ValueError(f"gamma must be a positive number, got {gamma!r}.")
    if not math.isfinite(gamma) or gamma <= 0:
        raise ValueError(f"gamma must be a finite number greater than 0, got {gamma}.")
    return float(gamma)


def check_number(name: str, value, low, high, whole: bool = False) -> int | float:
    """A setting that must be a number (a whole one if `whole`) from low to high, as int or float."""
    kind = (int, np.integer) if whole else (int, float, np.integer, np.floating)
    if isinstance(value, bool) or not isinstance(value, kind) or not low <= value <= high:
        number = "a whole number" if whole else "a number"
        raise ValueError(f"{name} must be {number} from {low} to {high}, got {value!r}.")
    return int(value) if whole else float(value)


def check_alpha(alpha) -> float:
    """The DILATE weight of the shape term; it must lie in [0, 1]."""
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.number)):
        raise ValueError(f"alpha must be a number between 0 and 1, got {alpha!r}.")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie between 0 and 1 (the weight of the shape term), got {alpha}.")
    return float(alpha)


def check_tensor(x, name: str, shape: str) -> None:
    """x must be a torch tensor: a numpy array or a list gets a TypeError that says what to pass."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(
            f"{name} must be a torch tensor of shape {shape}, got {type(x).__name__}; "
            f"pass torch tensors, e.g. torch.as_tensor({name}, dtype=torch.float32)."
        )


class NotFiniteError(ValueError):
    """The tensor called `name` holds NaN or infinite values."""

    def __init__(self, name: str):
        super().__init__(f"{name} contains NaN or infinite values; clean or drop them first.")
        self.name = name


def check_finite(x: torch.Tensor, name: str) -> None:
    if not bool(torch.isfinite(x).all()):
        raise NotFiniteError(name)


def check_costs(D) -> None:
    """D must be a floating tensor of shape (B, N, M), B, N, M >= 1.

    Its values must be finite too; the kernels check that during their sweep, which costs
    nothing, instead of a separate pass over D here.
    """
    check_tensor(D, "D", "(B, N, M)")
    if D.dim() != 3:
        raise ValueError(
            f"D must have shape (B, N, M), a batch of cost matrices, got shape {tuple(D.shape)}; "
            "use D.unsqueeze(0) for a single matrix."
        )
    if min(D.shape) == 0:
        raise ValueError(f"D must not be empty, got shape {tuple(D.shape)}.")
    if not D.is_floating_point():
        raise ValueError(f"D must hold floating-point values, got {D.dtype}.")


def check_series_pair(pred, target, finite: bool = True) -> None:
    """pred (B, M, d) and target (B, N, d): floating tensors, same B and d, and (finite=True)
    finite values; a caller whose kernel flags non-finite values itself checks them afterwards."""
    for name, x in (("pred", pred), ("target", target)):
        check_tensor(x, name, "(B, length, d)")
        if x.dim() != 3:
            raise ValueError(
                f"{name} must have shape (B, length, d), a batch of series with d features, got shape "
                f"{tuple(x.shape)}; use x.unsqueeze(-1) for one feature."
            )
        if min(x.shape) == 0:
            raise ValueError(f"{name} must not be empty, got shape {tuple(x.shape)}.")
        if not x.is_floating_point():
            raise ValueError(f"{name} must hold floating-point values, got {x.dtype}.")
        if finite:
            check_finite(x, name)
    if pred.shape[0] != target.shape[0]:
        raise ValueError(f"pred and target must have the same batch size, got {pred.shape[0]} and {target.shape[0]}.")
    if pred.shape[2] != target.shape[2]:
        raise ValueError(
            f"pred and target must have the same number of features d, got {pred.shape[2]} and {target.shape[2]}."
        )
    if pred.device != target.device:
        raise ValueError(f"pred and target must be on the same device, got {pred.device} and {target.device}.")
