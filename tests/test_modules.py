"""DILATELoss and SoftDTWLoss: reductions against dilate_loss, ragged batches against trimming, threads."""

import subprocess
import sys

import numba
import pytest
import torch

import dilate_core
from dilate_core import _fused
from dilate_core.losses import _dilate, dilate_loss, soft_dtw_series
from dilate_core.modules import DILATELoss, SoftDTWLoss
from dilate_core.threads import kernel_threads, set_kernel_threads

BACKENDS = ["auto", "torch"]  # the fused numba kernels and the anti-diagonal ones (CUDA's, here on the CPU)
LENGTHS = [7, 3, 1, 5, 7, 2]


def series(B, L, d, seed, dtype=torch.float64):
    return torch.randn(B, L, d, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def trimmed_terms(pred, target, lengths, alpha, gamma):
    """Each pair cut to its length and scored alone by dilate_loss: (loss, shape, temporal) per pair,
    and the gradient of their sum with respect to pred."""
    pred = pred.detach().clone().requires_grad_(True)
    terms = [dilate_loss(pred[b : b + 1, :n], target[b : b + 1, :n], alpha, gamma) for b, n in enumerate(lengths)]
    values = [torch.stack([term[k] for term in terms]) for k in range(3)]
    (grad,) = torch.autograd.grad(values[0].sum(), pred)
    return values, grad


def test_the_loss_modules_are_exported_from_the_package():
    assert dilate_core.DILATELoss is DILATELoss and dilate_core.SoftDTWLoss is SoftDTWLoss
    assert isinstance(dilate_core.__version__, str) and dilate_core.__version__[0].isdigit()
    with pytest.raises(AttributeError):
        dilate_core.NoSuchLoss  # noqa: B018


@pytest.mark.parametrize("backend", BACKENDS)
def test_each_reduction_against_dilate_loss(backend):
    B, N, M, d = 5, 7, 9, 2
    pred, target = series(B, M, d, 1).requires_grad_(True), series(B, N, d, 2)
    alpha, gamma = 0.3, 0.1
    mean, shape, temporal = dilate_loss(pred, target, alpha, gamma, backend=backend)
    (grad_mean,) = torch.autograd.grad(mean, pred)
    values = {}
    for reduction in ("mean", "sum", "none"):
        loss = DILATELoss(alpha, gamma, reduction, backend=backend)(pred, target)
        (grad,) = torch.autograd.grad(loss.sum(), pred)
        values[reduction] = loss.detach(), grad
    torch.testing.assert_close(values["mean"][0], mean.detach(), rtol=1e-12, atol=0)
    torch.testing.assert_close(values["mean"][1], grad_mean, rtol=1e-12, atol=1e-15)
    torch.testing.assert_close(values["sum"][0], B * mean.detach(), rtol=1e-12, atol=0)
    torch.testing.assert_close(values["sum"][1], B * grad_mean, rtol=1e-12, atol=1e-14)
    per_series = values["none"][0]
    assert per_series.shape == (B,)
    for b in range(B):  # alpha shape_b + (1 - alpha) temporal_b, the pair scored alone
        alone = dilate_loss(pred[b : b + 1].detach(), target[b : b + 1], alpha, gamma, backend=backend)[0]
        torch.testing.assert_close(per_series[b], alone, rtol=1e-12, atol=1e-15)
    torch.testing.assert_close(values["none"][1], values["sum"][1], rtol=1e-12, atol=1e-14)
    # Per-series weights reach each series' gradient ("none" then a weighted sum, as darts' sample weights).
    weights = torch.linspace(0.0, 2.0, B, dtype=torch.float64)
    weighted = (DILATELoss(alpha, gamma, "none", backend=backend)(pred, target) * weights).sum()
    (grad,) = torch.autograd.grad(weighted, pred)
    torch.testing.assert_close(grad, _weighted_reference(pred, target, alpha, gamma, weights, backend))


def _weighted_reference(pred, target, alpha, gamma, weights, backend):
    """sum_b weights[b] * (the gradient of pair b's loss scored alone)."""
    grads = []
    for b in range(pred.shape[0]):
        p = pred[b : b + 1].detach().clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(dilate_loss(p, target[b : b + 1], alpha, gamma, backend=backend)[0], p)
        grads.append(weights[b] * grad[0])
    return torch.stack(grads)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_lengths_equal_trimming_and_the_padding_gets_no_gradient(backend, reduction):
    B, L, d = len(LENGTHS), 7, 2
    pred, target = series(B, L, d, 3), series(B, L, d, 4)
    lengths = torch.tensor(LENGTHS)
    pad = (torch.arange(L)[None, :, None] >= lengths[:, None, None]).expand(B, L, d)
    pred = torch.where(pad, torch.nan, pred).requires_grad_(True)  # padding that would poison any sum
    target = torch.where(pad, 1e30, target)
    (loss, shape, temporal), reference_grad = trimmed_terms(pred, target, LENGTHS, 0.4, 0.05)
    ours = _dilate(pred, target, 0.4, 0.05, backend, None, lengths, reduction)
    (grad,) = torch.autograd.grad(ours[0].sum(), pred)
    scale = {"none": 1.0, "sum": 1.0, "mean": 1.0 / B}[reduction]
    for value, reference in zip(ours, (loss, shape, temporal), strict=True):
        expected = reference.detach() if reduction == "none" else scale * reference.detach().sum()
        torch.testing.assert_close(value.detach(), expected, rtol=1e-11, atol=1e-13)
    assert bool((grad[pad] == 0).all())  # exactly zero, not small
    torch.testing.assert_close(grad[~pad], scale * reference_grad[~pad], rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("backend", BACKENDS)
def test_lengths_gradients_against_finite_differences(backend):
    B, L = 3, 5
    pred, target = series(B, L, 1, 5).requires_grad_(True), series(B, L, 1, 6).requires_grad_(True)
    lengths = torch.tensor([5, 2, 4])
    loss_fn = DILATELoss(alpha=0.5, gamma=0.3, reduction="none", backend=backend)
    assert torch.autograd.gradcheck(lambda p, t: loss_fn(p, t, lengths=lengths), (pred, target))
    sdtw = SoftDTWLoss(gamma=0.3, reduction="none", backend=backend)
    assert torch.autograd.gradcheck(lambda p, t: sdtw(p, t, lengths=lengths), (pred, target))


def test_a_ragged_batch_in_groups_and_in_float32_matches_trimming():
    B, L, d = len(LENGTHS), 7, 1
    pred, target = series(B, L, d, 7), series(B, L, d, 8)
    lengths = torch.tensor(LENGTHS)
    (loss, _, _), reference_grad = trimmed_terms(pred, target, LENGTHS, 0.5, 0.1)
    pad = (torch.arange(L)[None, :, None] >= lengths[:, None, None]).expand(B, L, d)
    for limit in (None, 1):  # everything stored, or one series per backward group
        p = pred.clone().requires_grad_(True)
        ours, _, _ = _dilate(p, target, 0.5, 0.1, "auto", limit, lengths, "none")
        (grad,) = torch.autograd.grad(ours.sum(), p)
        torch.testing.assert_close(ours.detach(), loss.detach(), rtol=1e-12, atol=1e-14)
        torch.testing.assert_close(grad[~pad], reference_grad[~pad], rtol=1e-10, atol=1e-13)
    p = pred.float().requires_grad_(True)
    ours = DILATELoss(0.5, 0.1, "none")(p, target.float(), lengths=lengths)
    (grad,) = torch.autograd.grad(ours.sum(), p)
    assert ours.dtype == torch.float32 and bool((grad[pad] == 0).all())
    torch.testing.assert_close(ours.double(), loss.detach(), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(grad[~pad].double(), reference_grad[~pad], rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("backend", BACKENDS)
def test_soft_dtw_loss_reductions_and_lengths_against_soft_dtw_series(backend):
    B, L, d = len(LENGTHS), 7, 2
    pred, target = series(B, L, d, 9), series(B, L, d, 10)
    values = soft_dtw_series(pred, target, 0.1, backend=backend)
    for reduction, expected in (("none", values), ("mean", values.mean()), ("sum", values.sum())):
        torch.testing.assert_close(SoftDTWLoss(0.1, reduction, backend)(pred, target), expected, rtol=1e-12, atol=0)
    ragged = SoftDTWLoss(0.1, "none", backend)(pred, target, lengths=torch.tensor(LENGTHS))
    pairs = [(pred[b : b + 1, :n], target[b : b + 1, :n]) for b, n in enumerate(LENGTHS)]
    trimmed = torch.cat([soft_dtw_series(p, t, 0.1) for p, t in pairs])
    torch.testing.assert_close(ragged, trimmed, rtol=1e-11, atol=1e-13)


def test_a_reduction_set_after_construction_is_used_and_checked():
    pred, target = series(4, 6, 1, 11), series(4, 6, 1, 12)
    loss_fn = DILATELoss()
    loss_fn.reduction = "none"  # what darts does for sample weights
    assert loss_fn(pred, target).shape == (4,)
    loss_fn.reduction = "average"
    with pytest.raises(ValueError, match="reduction must be one of mean, sum, none"):
        loss_fn(pred, target)


@pytest.mark.parametrize(
    "lengths, message",
    [
        ([3, 3], "integer tensor of shape \\(2,\\)"),
        (torch.tensor([3.0, 3.0]), "integer tensor"),
        (torch.tensor([3]), "shape \\(2,\\)"),
        (torch.tensor([0, 3]), "from 1 to 6"),
        (torch.tensor([3, 7]), "from 1 to 6"),
    ],
)
def test_bad_lengths_are_explained(lengths, message):
    with pytest.raises(ValueError, match=message):
        DILATELoss()(series(2, 6, 1, 13), series(2, 8, 1, 14), lengths=lengths)


def test_bad_settings_are_explained():
    for make, message in (
        (lambda: DILATELoss(reduction="avg"), "reduction"),
        (lambda: DILATELoss(alpha=2), "alpha"),
        (lambda: SoftDTWLoss(gamma=0), "gamma"),
        (lambda: SoftDTWLoss(backend="cuda"), "backend"),
    ):
        with pytest.raises(ValueError, match=message):
            make()


@pytest.mark.parametrize("torch_threads, chosen", [(1, None), (2, None), (1, 2), (2, 1)])
def test_a_call_runs_its_kernels_on_torchs_thread_count_unless_told_otherwise(monkeypatch, torch_threads, chosen):
    seen = []
    forward, backward = _fused.dilate_forward, _fused.dilate_backward

    def watched(kernel):
        def call(*args):
            seen.append((numba.get_num_threads(), args[-1]))  # numba's count in the call, and the workers
            return kernel(*args)

        return call

    monkeypatch.setattr(_fused, "dilate_forward", watched(forward))
    monkeypatch.setattr(_fused, "dilate_backward", watched(backward))
    threads_before, numba_before = torch.get_num_threads(), numba.get_num_threads()
    try:
        torch.set_num_threads(torch_threads)
        set_kernel_threads(chosen)
        pred = series(8, 6, 1, 15).requires_grad_(True)
        DILATELoss()(pred, series(8, 6, 1, 16)).backward()
        expected = min(chosen or torch_threads, numba.config.NUMBA_NUM_THREADS)
        assert kernel_threads() == expected
        assert seen == [(expected, expected), (expected, expected)]
    finally:
        set_kernel_threads(None)
        torch.set_num_threads(threads_before)
        numba.set_num_threads(numba_before)


def test_kernel_threads_must_be_a_positive_whole_number():
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="threads"):
            set_kernel_threads(bad)


def test_losses_metrics_and_synthetic_data_need_only_the_required_dependencies():
    code = (
        "import sys\n"
        "for name in ('pandas', 'tslearn', 'ruptures', 'tqdm', 'ray'):\n"
        "    sys.modules[name] = None\n"  # any import of them now fails
        "import torch\n"
        "from dilate_core import DILATELoss, data, metrics\n"
        "d = data.make_synthetic(n=4)\n"
        "x = torch.from_numpy(d.test_y)\n"
        "print(float(DILATELoss()(x, x)), sorted(metrics.evaluate(x, x)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-3:] == ["['dtw',", "'mse',", "'tdi']"]


def test_an_unsupported_numba_is_named_at_import():
    code = (
        "import numba\n"
        "numba.__version__ = '0.61.2'\n"  # the last release whose caching fails at import
        "try:\n"
        "    from dilate_core import DILATELoss\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert "dilate_core needs numba >= 0.62, found numba 0.61.2" in done.stdout, done.stderr
