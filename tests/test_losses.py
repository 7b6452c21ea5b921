"""soft-DTW, its expected alignment and DILATE against brute force, tslearn and finite differences."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numba
import numpy as np
import pytest
import torch
from tslearn.metrics import dtw_path
from tslearn.metrics import soft_dtw as tslearn_soft_dtw
from tslearn.metrics import soft_dtw_alignment as tslearn_soft_dtw_alignment

from dilate_core import _backends, _fused, _kernels, losses
from dilate_core.losses import cost_matrix, dilate_loss, soft_alignment, soft_dtw, soft_dtw_series
from tests import naive

ROOT = Path(__file__).resolve().parent.parent

BACKENDS = ["numba", "matrix", "torch"]
TINY_SHAPES = [(1, 1), (1, 4), (3, 1), (2, 3), (3, 3), (4, 3), (4, 5)]
GAMMAS = [1e-2, 0.1, 1.0, 10.0]


def random_costs(B, N, M, seed=0, dtype=torch.float64):
    return torch.rand(B, N, M, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def random_series(B, N, d, seed):
    return torch.randn(B, N, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_oracle_enumerates_every_path():
    for N, M in [(1, 1), (2, 2), (3, 4), (5, 5)]:
        paths = naive.alignment_paths(N, M)
        assert len(paths) == naive.count_paths(N, M)
        assert len({A.tobytes() for A in paths}) == len(paths)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shape", TINY_SHAPES)
@pytest.mark.parametrize("gamma", GAMMAS)
def test_value_alignment_and_hvp_equal_brute_force(backend, shape, gamma):
    D = random_costs(2, *shape, seed=hash(shape) % 1000)
    D.requires_grad_(True)
    values = soft_dtw(D, gamma, backend=backend)
    E = soft_alignment(D, gamma, backend=backend)
    (grad,) = torch.autograd.grad(values.sum(), D)
    Z = random_costs(2, *shape, seed=7) - 0.5
    (hvp,) = torch.autograd.grad((E * Z).sum(), D)
    for b in range(2):
        Db = D[b].detach().numpy()
        np.testing.assert_allclose(values[b].item(), naive.soft_dtw(Db, gamma), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(E[b].detach().numpy(), naive.expected_alignment(Db, gamma), atol=1e-10)
        np.testing.assert_allclose(grad[b].numpy(), naive.expected_alignment(Db, gamma), atol=1e-10)
        np.testing.assert_allclose(hvp[b].numpy(), naive.alignment_hvp(Db, gamma, Z[b].numpy()), atol=1e-8)


@pytest.mark.parametrize("gamma", [1e-3, 1e-2, 0.1, 1.0, 10.0, 100.0])
@pytest.mark.parametrize("lengths", [(12, 12), (9, 15), (17, 6)])
@pytest.mark.parametrize("d", [1, 2])
def test_soft_dtw_and_alignment_equal_tslearn(gamma, lengths, d):
    N, M = lengths
    target, pred = random_series(3, N, d, seed=1), random_series(3, M, d, seed=2)
    D = cost_matrix(target, pred)
    values = soft_dtw(D, gamma)
    E = soft_alignment(D, gamma)
    for b in range(3):
        ts1, ts2 = target[b].numpy(), pred[b].numpy()
        np.testing.assert_allclose(values[b].item(), tslearn_soft_dtw(ts1, ts2, gamma=gamma), rtol=1e-9)
        reference_E, reference_value = tslearn_soft_dtw_alignment(ts1, ts2, gamma=gamma)
        np.testing.assert_allclose(E[b].numpy(), reference_E, atol=1e-9)
        np.testing.assert_allclose(values[b].item(), reference_value, rtol=1e-9)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("gamma", [1e-3, 1e-1, 1.0, 1e3])
def test_soft_dtw_gradcheck(backend, gamma):
    D = random_costs(3, 5, 4, seed=3).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda D: soft_dtw(D, gamma, backend=backend), (D,))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("gamma", [0.05, 1.0, 10.0])
def test_soft_alignment_gradcheck(backend, gamma):
    D = random_costs(2, 4, 6, seed=4).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda D: soft_alignment(D, gamma, backend=backend), (D,))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("alpha", [0.0, 0.5, 0.8, 1.0])
def test_dilate_gradcheck(backend, alpha):
    pred = random_series(3, 6, 2, seed=5).requires_grad_(True)
    target = random_series(3, 5, 2, seed=6).requires_grad_(True)

    def loss(pred, target):
        return dilate_loss(pred, target, alpha=alpha, gamma=0.3, backend=backend)

    assert torch.autograd.gradcheck(loss, (pred, target))


@pytest.mark.parametrize("backend", BACKENDS)
def test_at_alpha_one_the_loss_is_the_shape_term_and_the_temporal_term_keeps_its_gradient(backend):
    # The temporal term does not depend on alpha: its gradient at alpha = 1 is the one at 0.5
    # through another backend, even though the loss (the shape term alone) leaves it out.
    pred, target = random_series(3, 6, 1, seed=70), random_series(3, 5, 1, seed=71)
    p = pred.clone().requires_grad_(True)
    loss, shape, temporal = dilate_loss(p, target, alpha=1.0, gamma=0.3, backend=backend)
    (ours,) = torch.autograd.grad(temporal, p, retain_graph=True)
    reference = pred.clone().requires_grad_(True)
    (expected,) = torch.autograd.grad(
        dilate_loss(reference, target, alpha=0.5, gamma=0.3, backend="torch")[2], reference
    )
    torch.testing.assert_close(ours, expected, rtol=1e-10, atol=1e-12)
    (of_loss,) = torch.autograd.grad(loss, p, retain_graph=True)
    torch.testing.assert_close(of_loss, torch.autograd.grad(shape, p)[0])


def test_dilate_terms_equal_brute_force():
    pred, target = random_series(2, 4, 1, seed=8), random_series(2, 4, 1, seed=9)
    loss, shape, temporal = dilate_loss(pred, target, alpha=0.3, gamma=0.5)
    D = cost_matrix(target, pred).numpy()
    Omega = (np.arange(4)[:, None] - np.arange(4)[None, :]) ** 2
    expected_shape = np.mean([naive.soft_dtw(D[b], 0.5) for b in range(2)])
    expected_temporal = np.mean([(naive.expected_alignment(D[b], 0.5) * Omega).sum() / 16 for b in range(2)])
    np.testing.assert_allclose(shape.item(), expected_shape, rtol=1e-10)
    np.testing.assert_allclose(temporal.item(), expected_temporal, rtol=1e-10)
    np.testing.assert_allclose(loss.item(), 0.3 * expected_shape + 0.7 * expected_temporal, rtol=1e-10)


def test_dilate_gradient_is_not_scaled_by_the_batch_size():
    # One series alone, and the same series repeated 50 times, must give the same mean loss and
    # the same gradient on each copy divided by 50 (the batch mean), not B times more.
    pred, target = random_series(1, 8, 1, seed=10), random_series(1, 8, 1, seed=11)
    single = pred.clone().requires_grad_(True)
    dilate_loss(single, target)[0].backward()
    repeated = pred.repeat(50, 1, 1).requires_grad_(True)
    dilate_loss(repeated, target.repeat(50, 1, 1))[0].backward()
    np.testing.assert_allclose(repeated.grad.sum(0).numpy(), single.grad[0].numpy(), rtol=1e-10)


@pytest.mark.parametrize("lengths", [(8, 8), (7, 11)])
def test_small_gamma_tends_to_dtw(lengths):
    target, pred = random_series(4, lengths[0], 1, seed=12), random_series(4, lengths[1], 1, seed=13)
    D = cost_matrix(target, pred)
    values, E = soft_dtw(D, 1e-7), soft_alignment(D, 1e-7)
    for b in range(4):
        path, distance = dtw_path(target[b].numpy(), pred[b].numpy())
        hard = np.zeros(D.shape[1:])
        hard[tuple(np.array(path).T)] = 1.0
        np.testing.assert_allclose(E[b].numpy(), hard, atol=1e-6)
        np.testing.assert_allclose(values[b].item(), distance**2, rtol=1e-5, atol=1e-5)


def test_soft_dtw_lies_below_dtw_by_at_most_gamma_log_paths():
    D = random_costs(3, 5, 5, seed=14)
    gamma = 0.5
    values = soft_dtw(D, gamma)
    for b in range(3):
        hard, _ = naive.dtw(D[b].numpy())
        assert hard - gamma * np.log(naive.count_paths(5, 5)) <= values[b].item() <= hard


@pytest.mark.parametrize("backend", BACKENDS)
def test_tiny_gamma_with_large_values_stays_finite(backend):
    D = (random_costs(2, 30, 25, seed=15) * 1e6).requires_grad_(True)
    values = soft_dtw(D, 1e-6, backend=backend)
    E = soft_alignment(D, 1e-6, backend=backend)
    (E * torch.ones_like(E)).sum().backward()
    assert torch.isfinite(values).all() and torch.isfinite(E).all() and torch.isfinite(D.grad).all()
    assert ((E >= -1e-12) & (E <= 1 + 1e-12)).all()


def test_alignment_on_each_antidiagonal_is_the_chance_that_a_path_lands_on_it():
    # i + j grows by 1 or 2 at every step of a path, so a path has at most one cell on each
    # anti-diagonal i + j = k: E summed over it is the probability that the path lands there.
    D = random_costs(3, 4, 5, seed=16)
    E = soft_alignment(D, 0.7)
    i, j = np.indices((4, 5))
    for b in range(3):
        _, probabilities, paths = naive.gibbs(D[b].numpy(), 0.7)
        for k in range(4 + 5 - 1):
            on_k = i + j == k
            landing = sum(p for p, A in zip(probabilities, paths, strict=True) if A[on_k].any())
            assert E[b].numpy()[on_k].sum() == pytest.approx(landing, abs=1e-10)


@pytest.mark.parametrize("backend", BACKENDS)
def test_float32_is_close_to_float64(backend):
    pred64, target64 = random_series(8, 20, 1, seed=17), random_series(8, 20, 1, seed=18)
    pred32 = pred64.float().requires_grad_(True)
    pred64.requires_grad_(True)
    loss32 = dilate_loss(pred32, target64.float(), backend=backend)[0]
    loss64 = dilate_loss(pred64, target64, backend=backend)[0]
    loss32.backward()
    loss64.backward()
    assert loss32.dtype == torch.float32 and pred32.grad.dtype == torch.float32
    np.testing.assert_allclose(loss32.item(), loss64.item(), rtol=1e-5)
    np.testing.assert_allclose(pred32.grad.numpy(), pred64.grad.numpy(), rtol=1e-4, atol=1e-6)


def _dilate_and_gradients(pred, target, weights, **kwargs):
    """DILATE's three outputs and the gradients of their weighted sum for pred and target."""
    pred, target = pred.detach().requires_grad_(True), target.detach().requires_grad_(True)
    outputs = dilate_loss(pred, target, **kwargs)
    grads = torch.autograd.grad(sum(w * x for w, x in zip(weights, outputs, strict=True)), (pred, target))
    return [x.detach() for x in outputs], grads


@pytest.mark.parametrize(
    "B, N, M, d",
    [(1, 7, 9, 1), (17, 12, 12, 2), (33, 5, 16, 1), (16, 20, 20, 3), (2, 1, 1, 1), (3, 3, 5, 2), (5, 6, 2, 1)],
)
def test_the_fused_cpu_dilate_equals_the_sweeps_through_the_cost_matrix(B, N, M, d):
    # Full and partial chunks of series, N != M, several features, grids smaller than one strip
    # of the forward (N < 4) and one column (M = 1); every output carries a gradient.
    pred, target = random_series(B, M, d, seed=B), random_series(B, N, d, seed=B + 1)
    weights = (1.0, -0.3, 0.7)
    fused = _dilate_and_gradients(pred, target, weights, alpha=0.4, gamma=0.05, backend="numba")
    for backend in ("matrix", "torch"):  # numba's sweeps over the cost matrix, and torch's
        sweeps = _dilate_and_gradients(pred, target, weights, alpha=0.4, gamma=0.05, backend=backend)
        for ours, theirs in zip([*fused[0], *fused[1]], [*sweeps[0], *sweeps[1]], strict=True):
            torch.testing.assert_close(ours, theirs, rtol=1e-11, atol=1e-12)


NO_ENDS = np.empty(0, np.int64)  # every pair whole


@pytest.mark.parametrize("ragged", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_fused_kernels_give_every_series_the_same_result_however_the_batch_is_shared(dtype, ragged):
    # Each worker cuts its share into chunks of 16 or 4 series (`_fused._chunk_of`): 45
    # series over 1 to 64 workers take both widths, full and partial, and shares of none.
    B, N, M, d = 45, 9, 7, 2
    target, pred = (
        np.random.default_rng(seed).standard_normal((B, L, d)).astype(dtype) for seed, L in ((1, N), (2, M))
    )
    shape_scale, time_scale = np.linspace(0.5, 1.5, B), np.linspace(-1.0, 1.0, B)
    rng = np.random.default_rng(3)
    ends = (rng.integers(1, N + 1, B), rng.integers(1, M + 1, B)) if ragged else (NO_ENDS, NO_ENDS)

    def run(workers):
        store = np.empty(B * N * M * _fused.STORED_PER_CELL, dtype)
        values, tangents = np.empty(B), np.empty(B)
        assert not _fused.dilate_forward(target, pred, 0.1, store, True, True, *ends, values, tangents, workers)
        grad_target, grad_pred = np.empty((B, N, d)), np.empty((B, M, d))
        args = (*ends, shape_scale, time_scale, grad_target, grad_pred, workers)
        _fused.dilate_backward(target, pred, 0.1, store, *args)
        return values, tangents, grad_target, grad_pred

    alone = run(1)
    for workers in (2, 3, 5, 7, 64):
        for ours, theirs in zip(run(workers), alone, strict=True):
            np.testing.assert_array_equal(ours, theirs)
    for b in (0, 21, 22, 44):  # a not-finite value is found in any chunk of any worker
        bad = pred.copy()
        bad[b, M - 1, d - 1] = np.nan
        for workers in (1, 2, 3, 7, 64):
            flags = _fused.dilate_forward(
                target, bad, 0.1, np.empty(0, dtype), False, True, *ends, np.empty(B), np.empty(B), workers
            )
            assert flags, (b, workers)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("B, N, M, d", [(1, 7, 9, 1), (17, 12, 12, 2), (33, 5, 16, 1), (2, 1, 1, 1), (5, 6, 2, 3)])
def test_soft_dtw_of_series_equals_tslearn_with_per_series_gradients(backend, B, N, M, d):
    # Values against tslearn pair by pair; gradients of a weighted sum (one weight per series,
    # negative ones too) against the same sum through the cost matrix, for both series.
    pred, target = random_series(B, M, d, seed=B), random_series(B, N, d, seed=B + 1)
    gamma = 0.05
    values = soft_dtw_series(pred, target, gamma, backend=backend)
    expected = [tslearn_soft_dtw(target[b].numpy(), pred[b].numpy(), gamma=gamma) for b in range(B)]
    np.testing.assert_allclose(values.numpy(), expected, rtol=1e-11)
    weights = torch.linspace(-1.0, 2.0, B, dtype=torch.float64)
    grads = []
    for function in (
        lambda p, t: soft_dtw_series(p, t, gamma, backend=backend),
        lambda p, t: soft_dtw(cost_matrix(t, p), gamma),
    ):
        p, t = pred.clone().requires_grad_(True), target.clone().requires_grad_(True)
        grads.append(torch.autograd.grad((function(p, t) * weights).sum(), (p, t)))
    for ours, theirs in zip(*grads, strict=True):
        torch.testing.assert_close(ours, theirs, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_soft_dtw_of_series_gradcheck(backend):
    pred, target = random_series(3, 6, 2, seed=50).requires_grad_(True), random_series(3, 5, 2, seed=51)
    target.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda p, t: soft_dtw_series(p, t, 0.1, backend=backend), (pred, target))


def test_soft_dtw_of_series_in_groups_and_in_float32():
    pred, target = random_series(37, 9, 1, seed=52), random_series(37, 11, 1, seed=53)
    weights = torch.linspace(0.5, 1.5, 37, dtype=torch.float64)

    def values_and_gradient(p, **kwargs):
        p = p.detach().requires_grad_(True)
        values = soft_dtw_series(p, target.to(p.dtype), 0.1, **kwargs)
        (values * weights.to(p.dtype)).sum().backward()
        return values.detach(), p.grad

    whole = values_and_gradient(pred)
    for limit in (1, 11 * 9 * 4 * 8 * 5):  # groups of 1 and of 5 series
        for ours, theirs in zip(values_and_gradient(pred, memory_limit=limit), whole, strict=True):
            torch.testing.assert_close(ours, theirs, rtol=0, atol=0)
    single = values_and_gradient(pred.float())
    assert [x.dtype for x in single] == [torch.float32, torch.float32]
    for ours, theirs in zip(single, whole, strict=True):
        torch.testing.assert_close(ours.double(), theirs, rtol=1e-5, atol=1e-5)


def test_a_memory_limit_splits_the_batch_into_groups_with_the_same_result():
    pred, target = random_series(37, 9, 1, seed=30), random_series(37, 11, 1, seed=31)
    whole = _dilate_and_gradients(pred, target, (1.0, 0.0, 0.0), gamma=0.1)
    per_series = 11 * 9 * 4 * 8  # bytes stored per float64 series: 3 weights and a tangent per cell
    for limit in (1, per_series, 5 * per_series, 20 * per_series):  # groups of 1, 1, 5 and 20 series
        grouped = _dilate_and_gradients(pred, target, (1.0, 0.0, 0.0), gamma=0.1, memory_limit=limit)
        for ours, theirs in zip([*grouped[0], *grouped[1]], [*whole[0], *whole[1]], strict=True):
            torch.testing.assert_close(ours, theirs, rtol=0, atol=0)
    for bad in (0, -5, 2.5, "1GB", True):
        with pytest.raises(ValueError, match="memory_limit"):
            dilate_loss(pred, target, memory_limit=bad)


def test_dilate_without_a_gradient_to_come_stores_nothing(monkeypatch):
    # Reporting DILATE's parts for another loss's model runs the forward sweep alone.
    pred, target = random_series(5, 9, 1, seed=32), random_series(5, 9, 1, seed=33)
    expected = [x.item() for x in dilate_loss(pred.clone().requires_grad_(True), target)]
    leases = []
    monkeypatch.setattr(_backends._scratch, "Lease", lambda *shapes: leases.append(shapes))
    with torch.no_grad():
        reported = dilate_loss(pred.clone().requires_grad_(True), target)
    assert [x.item() for x in dilate_loss(pred, target)] == [x.item() for x in reported] == expected
    assert leases == []


@pytest.mark.parametrize("N", [20, 200])
def test_float32_series_store_float32_weights_within_stated_tolerance(N):
    # float32 series: the weights and tangents are stored in float32 and the softmin runs in
    # float32. Stated tolerance against float64: 1e-6 relative on each output, and 1e-4 of the
    # largest gradient entry on every gradient entry (measured: 4e-7 and 5e-5 up to N = 720).
    pred, target = random_series(4, N, 1, seed=N), random_series(4, N, 1, seed=N + 1)
    weights = (1.0, 0.5, 0.5)
    exact = _dilate_and_gradients(pred, target, weights, gamma=0.01)
    single = _dilate_and_gradients(pred.float(), target.float(), weights, gamma=0.01)
    assert all(x.dtype == torch.float32 for x in [*single[0], *single[1]])
    for ours, theirs in zip(single[0], exact[0], strict=True):
        assert ours.item() == pytest.approx(theirs.item(), rel=1e-6)
    for ours, theirs in zip(single[1], exact[1], strict=True):
        assert (ours.double() - theirs).abs().max() <= 1e-4 * theirs.abs().max()


@pytest.mark.parametrize("shape", [(5, 20, 20), (3, 13, 31), (2, 1, 9)])
def test_numba_and_torch_backends_agree(shape):
    D = random_costs(*shape, seed=19).requires_grad_(True)
    Z = random_costs(*shape, seed=20)
    results = {}
    for backend in BACKENDS:
        values, E = soft_dtw(D, 0.1, backend=backend), soft_alignment(D, 0.1, backend=backend)
        grad = torch.autograd.grad(values.sum() + (E * Z).sum(), D)[0]
        results[backend] = (values.detach(), E.detach(), grad)
    for ours, theirs in zip(results["numba"], results["torch"], strict=True):
        torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "D, gamma, message",
    [
        (torch.rand(4, 4), 0.1, "shape \\(B, N, M\\)"),
        (torch.rand(2, 0, 4), 0.1, "must not be empty"),
        (torch.ones(2, 3, 3, dtype=torch.int64), 0.1, "floating-point"),
        (torch.tensor([[[1.0, float("nan")]]]), 0.1, "NaN"),
        (torch.tensor([[[1.0, float("inf")]]]), 0.1, "NaN or infinite"),
        (torch.rand(1, 2, 2), 0.0, "greater than 0"),
        (torch.rand(1, 2, 2), -1.0, "greater than 0"),
        (torch.rand(1, 2, 2), float("nan"), "finite number"),
        (torch.rand(1, 2, 2), "0.1", "positive number"),
    ],
)
def test_bad_costs_or_gamma_raise_value_error(D, gamma, message):
    with pytest.raises(ValueError, match=message):
        soft_dtw(D, gamma)
    with pytest.raises(ValueError, match=message):
        soft_alignment(D, gamma)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_one_bad_cost_anywhere_in_a_batch_is_reported(backend, dtype, bad):
    # The numba kernels check the costs during their sweep, chunk by chunk: every cell and
    # every series of every chunk must be covered, the last cell included.
    B, N, M = 7, 5, 6
    for b, i, j in [(0, 0, 0), (3, 2, 4), (B - 1, N - 1, M - 1)]:
        D = random_costs(B, N, M, seed=b, dtype=dtype)
        D[b, i, j] = bad
        with pytest.raises(ValueError, match="NaN or infinite"):
            soft_dtw(D, 0.1, backend=backend)
        with pytest.raises(ValueError, match="NaN or infinite"):
            soft_alignment(D, 0.1, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_series_whose_distances_overflow_get_a_message_about_the_series(backend):
    pred = torch.full((2, 5, 1), 1e20, dtype=torch.float32)  # finite, but 1e40 overflows float32
    target = torch.zeros(2, 5, 1)
    with pytest.raises(ValueError, match="squared distances between pred and target overflow"):
        dilate_loss(pred, target, backend=backend)
    with pytest.raises(ValueError, match="squared distances between pred and target overflow"):
        losses.soft_dtw_divergence(pred, target)
    with pytest.raises(ValueError, match="squared distances between pred and target overflow"):
        soft_dtw_series(pred, target, backend=backend)
    dilate_loss(pred.double(), target.double(), backend=backend)  # float64 holds them


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_soft_dtw_gradient_is_the_scaled_alignment_in_the_callers_dtype(dtype):
    # soft_dtw runs the alignment sweep only in its backward, writing g_b E_b straight into the
    # gradient; a non-contiguous D must give the same numbers as a contiguous copy.
    D = random_costs(4, 7, 5, seed=40, dtype=torch.float64).transpose(1, 2).to(dtype).requires_grad_(True)
    weights = torch.tensor([1.0, -2.0, 0.5, 3.0], dtype=dtype)
    (soft_dtw(D, 0.1) * weights).sum().backward()
    expected = weights[:, None, None].double() * soft_alignment(D.detach().double().contiguous(), 0.1)
    assert D.grad.dtype == dtype
    tolerance = {torch.float32: 1e-6, torch.float64: 1e-12, torch.bfloat16: 2e-2}[dtype]
    torch.testing.assert_close(D.grad.double(), expected, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize(
    "pred, target, kwargs, message",
    [
        (torch.rand(2, 5), torch.rand(2, 5), {}, "shape \\(B, length, d\\)"),
        (torch.rand(2, 5, 1), torch.rand(3, 5, 1), {}, "same batch size"),
        (torch.rand(2, 5, 1), torch.rand(2, 5, 2), {}, "same number of features"),
        (torch.full((2, 5, 1), float("nan")), torch.rand(2, 5, 1), {}, "pred contains NaN"),
        (torch.rand(2, 5, 1), torch.rand(2, 5, 1), {"alpha": 1.5}, "between 0 and 1"),
        (torch.rand(2, 5, 1), torch.rand(2, 5, 1), {"gamma": 0}, "greater than 0"),
        (torch.rand(2, 5, 1), torch.rand(2, 5, 1), {"backend": "cuda"}, "backend must be one of"),
    ],
)
def test_bad_series_raise_value_error(pred, target, kwargs, message):
    with pytest.raises(ValueError, match=message):
        dilate_loss(pred, target, **kwargs)
    if "alpha" not in kwargs:
        with pytest.raises(ValueError, match=message):
            soft_dtw_series(pred, target, **kwargs)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu():
    D = random_costs(16, 40, 30, seed=21).requires_grad_(True)
    D_cuda = D.detach().cuda().requires_grad_(True)
    Z = random_costs(16, 40, 30, seed=22)
    for x, z in ((D, Z), (D_cuda, Z.cuda())):
        values, E = soft_dtw(x, 0.1), soft_alignment(x, 0.1)
        (values.sum() + (E * z).sum()).backward()
    torch.testing.assert_close(D_cuda.grad.cpu(), D.grad, rtol=1e-10, atol=1e-10)
    assert soft_dtw(D_cuda, 0.1).device.type == "cuda"


@numba.njit
def _powers_of_two(ks):
    return [_kernels._power_of_two(k) for k in ks], [_kernels._power_of_two_single(np.int32(k)) for k in ks]


def test_powers_of_two_written_into_the_exponent_bits_are_exact():
    ks = np.arange(-126, 128)
    doubles, singles = _powers_of_two(ks)
    assert doubles == [2.0**k for k in ks]
    assert singles == [np.float32(2.0**k) for k in ks]
    wide = np.arange(-1022, 1024)
    assert _powers_of_two(wide)[0] == [2.0**k for k in wide]


def test_branch_free_exp_and_log_are_accurate():
    x = np.concatenate([-np.linspace(0, 40, 200_001)[:-1], [-1e-300, -0.0]])
    ours = np.array([_kernels.exp_neg(v) for v in x])
    np.testing.assert_allclose(ours, np.exp(x), rtol=4.5e-16, atol=0)
    for below in (-40.0, -41.0, -1e300, -np.inf):
        assert _kernels.exp_neg(below) == 0.0
    t = np.linspace(1.0, 3.0, 200_001)
    logs = np.array([_kernels.log_1_to_3(v) for v in t])
    np.testing.assert_allclose(logs, np.log(t), rtol=0, atol=1e-15)


def test_float32_exp_and_log_are_accurate_to_float32():
    x = np.concatenate([-np.linspace(0, 40, 100_001)[:-1], [-1e-30, -0.0]]).astype(np.float32)
    ours = np.array([_kernels.exp_neg_single(v) for v in x])
    assert [str(s) for s in _kernels.exp_neg_single.nopython_signatures] == ["(float32,) -> float32"]
    np.testing.assert_allclose(ours, np.exp(x.astype(np.float64)), rtol=4e-7, atol=0)
    for below in (-40.0, -41.0, -np.inf):
        assert _kernels.exp_neg_single(np.float32(below)) == 0.0
    t = np.linspace(1.0, 3.0, 100_001).astype(np.float32)
    logs = np.array([_kernels.log_1_to_3_single(v) for v in t])
    assert [str(s) for s in _kernels.log_1_to_3_single.nopython_signatures] == ["(float32,) -> float32"]
    np.testing.assert_allclose(logs, np.log(t.astype(np.float64)), rtol=0, atol=3e-7)


@pytest.mark.parametrize("B", [1, 2, 3, 17, 64])
@pytest.mark.parametrize("n_chunks", [1, 2, 5])
def test_forward_is_the_same_for_any_batch_split(B, n_chunks):
    D = random_costs(B, 7, 9, seed=B).numpy()
    values, P = np.empty(B), np.empty((B, 9, 11, 3))
    _kernels.soft_dtw_forward(D, 0.1, P, values, n_chunks)
    for b in range(B):
        value, P1 = np.empty(1), np.empty((1, 9, 11, 3))
        _kernels.soft_dtw_forward(D[b : b + 1], 0.1, P1, value, 1)
        assert values[b] == value[0]
        np.testing.assert_array_equal(P[b, 1:, 1:], P1[0, 1:, 1:])
        assert values[b] == pytest.approx(tslearn_soft_dtw_from_costs(D[b], 0.1), rel=1e-12)


def tslearn_soft_dtw_from_costs(D, gamma):
    from tslearn.metrics import SoftDTW

    return SoftDTW(D, gamma=gamma).compute()


@pytest.mark.parametrize("d", [1, 3])
@pytest.mark.parametrize("large", [False, True])
def test_cost_matrix_values_and_gradients(d, large, monkeypatch):
    if large:  # the path for big batches, without (B, N, M, d) temporaries
        monkeypatch.setattr(losses, "_LARGE_COST_MATRIX", 0)
    target = random_series(2, 5, d, seed=30).requires_grad_(True)
    pred = random_series(2, 7, d, seed=31).requires_grad_(True)
    D = cost_matrix(target, pred)
    expected = ((target[:, :, None, :] - pred[:, None, :, :]) ** 2).sum(-1)
    torch.testing.assert_close(D, expected, rtol=0, atol=1e-14)
    assert torch.autograd.gradcheck(cost_matrix, (target, pred))


def test_soft_dtw_divergence_is_zero_on_identity_positive_otherwise_and_exact():
    from dilate_core.losses import soft_dtw_divergence

    x, y = random_series(4, 9, 2, seed=40), random_series(4, 7, 2, seed=41)
    for gamma in (0.01, 0.1, 1.0, 10.0):
        assert torch.allclose(soft_dtw_divergence(x, x, gamma), torch.zeros(4, dtype=x.dtype), atol=1e-10)
        values = soft_dtw_divergence(y, x, gamma)
        assert (values > 0).all()
        expected = [
            tslearn_soft_dtw(x[b].numpy(), y[b].numpy(), gamma=gamma)
            - (
                tslearn_soft_dtw(x[b].numpy(), x[b].numpy(), gamma=gamma)
                + tslearn_soft_dtw(y[b].numpy(), y[b].numpy(), gamma=gamma)
            )
            / 2
            for b in range(4)
        ]
        np.testing.assert_allclose(values.numpy(), expected, rtol=1e-9)
    pred = y.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda p: soft_dtw_divergence(p, x, 0.5), (pred,))


@pytest.mark.slow
def test_warmup_compiles_every_kernel_alone_on_an_empty_cache(tmp_path):
    # The app compiles at start-up, in the background, so that no kernel compiles while a visitor
    # waits or while a job trains: in a fresh process on an empty numba cache (nothing compiled by
    # earlier tests), warmup() must compile every kernel, every specialisation later calls use, and
    # the groups the app's server compiles (all but float64) everything the app calls.
    environment = os.environ | {"NUMBA_CACHE_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "tests.warmup_check"], env=environment, cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found == {
        "compiled_before_warmup": [],
        "compiled_by_the_app_after_its_groups": {},
        "not_compiled_by_warmup": [],
        "compiled_after_warmup": {},
    }
    assert any(tmp_path.rglob("*.nbi")), "the kernels were not cached in NUMBA_CACHE_DIR"


def _tangled_brute_force(D: np.ndarray, alpha: float, gamma: float, omega: np.ndarray, allowed) -> float:
    """-gamma log sum over the allowed paths A of exp(-<A, alpha D + (1 - alpha) Omega> / gamma)."""
    N, M = D.shape
    costs = [(A * (alpha * D + (1 - alpha) * omega)).sum() for A in naive.alignment_paths(N, M) if allowed(A.nonzero())]
    costs = np.array(costs)
    return costs.min() - gamma * np.log(np.exp(-(costs - costs.min()) / gamma).sum())


@pytest.mark.parametrize("lengths", [(4, 4), (3, 5), (5, 4)])
@pytest.mark.parametrize("alpha", [0.0, 0.3, 1.0])
def test_dilate_t_equals_brute_force_over_paths(lengths, alpha):
    N, M = lengths
    target, pred = random_series(2, N, 1, seed=3), random_series(2, M, 1, seed=4)
    D = cost_matrix(target, pred).numpy()
    k = np.abs(np.arange(N)[:, None] - np.arange(M)[None, :])
    weight = 1 / (1 + np.exp(-0.4 * (k - N / 2)))
    radius = abs(N - M) + 1
    cases = {
        "weighted": (weight - 1 / (1 + np.exp(0.4 * N / 2)), lambda cells: True),
        "band": (np.zeros((N, M)), lambda cells: bool(np.all(np.abs(cells[0] - cells[1]) <= radius))),
    }
    for omega, (penalty, allowed) in cases.items():
        value = losses.dilate_t_loss(pred, target, alpha, 0.1, omega=omega, steepness=0.4, radius=radius)
        expected = np.mean([_tangled_brute_force(D[b], alpha, 0.1, penalty, allowed) for b in range(2)])
        np.testing.assert_allclose(value.item(), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("omega", ["weighted", "band"])
def test_dilate_t_gradcheck(omega):
    target = random_series(2, 6, 2, seed=5)
    pred = random_series(2, 6, 2, seed=6).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda p: losses.dilate_t_loss(p, target, 0.5, 0.3, omega=omega), (pred,))


def test_dilate_t_band_forbids_the_shifts_outside_it():
    target = torch.tensor([[[0.0], [0.0], [1.0], [1.0], [1.0]]])
    late = torch.tensor([[[0.0], [0.0], [0.0], [1.0], [1.0]]])  # one step late
    free = losses.dilate_t_loss(late, target, alpha=1.0, gamma=0.001, omega="band", radius=1)
    rigid = losses.dilate_t_loss(late, target, alpha=1.0, gamma=0.001, omega="band", radius=0)
    assert free.item() == pytest.approx(0.0, abs=0.01) and rigid.item() == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"omega": "cosine"}, "omega must be one of weighted, band"),
        ({"omega": "band", "radius": 1}, "radius must be a whole number >= \\|N - M\\| = 2"),
        ({"alpha": 2.0}, "alpha must lie between 0 and 1"),
    ],
)
def test_dilate_t_rejects_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        losses.dilate_t_loss(torch.rand(1, 5, 1), torch.rand(1, 3, 1), **kwargs)


@pytest.mark.parametrize("loss", ["dilate", "soft_dtw_series"])
def test_series_changed_in_place_before_the_backward_are_refused(loss):
    # The fused backward reads the series the forward kept (views of the caller's memory when
    # the dtype allows): a change in between would give gradients of other series than the loss's.
    pred, target = random_series(3, 6, 1, seed=60).float().requires_grad_(True), random_series(3, 6, 1, seed=61).float()
    value = dilate_loss(pred, target)[0] if loss == "dilate" else soft_dtw_series(pred, target).sum()
    with torch.no_grad():
        pred.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        value.backward()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_the_fused_store_goes_back_to_the_pool_and_serves_the_next_call(dtype):
    # Memory touched for the first time costs more than the sweeps at small sizes.
    pred = random_series(3, 7, 1, seed=64).to(dtype).requires_grad_(True)
    target = random_series(3, 6, 1, seed=65).to(dtype)
    first = dilate_loss(pred, target)[0]
    store = first.grad_fn.sweeps.lease.arrays[0]
    first.backward()
    assert dilate_loss(pred, target)[0].grad_fn.sweeps.lease.arrays[0] is store
