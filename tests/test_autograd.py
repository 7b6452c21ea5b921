"""The losses under autograd's other uses: gradients of gradients (checked against finite
differences by gradgradcheck), inputs that are not tensors, torch.func and torch.compile."""

import numpy as np
import pytest
import torch

from dilate_core import DILATELoss, SoftDTWLoss
from dilate_core.losses import (
    cost_matrix,
    dilate_loss,
    dilate_t_loss,
    soft_alignment,
    soft_dtw,
    soft_dtw_divergence,
    soft_dtw_series,
)

BACKENDS = ["numba", "matrix", "torch"]
RAGGED = torch.tensor([3, 4])  # lengths for the back-ends that take them (not "matrix")

LOSSES = {
    "dilate_loss": lambda p, t, backend: dilate_loss(p, t, 0.5, 0.1, backend=backend)[0],
    "dilate_terms": lambda p, t, backend: torch.stack(dilate_loss(p, t, 0.3, 0.1, backend=backend)),
    "DILATELoss_none_ragged": lambda p, t, backend: DILATELoss(0.3, 0.1, "none", backend)(
        p, t, None if backend == "matrix" else RAGGED
    ),
    "DILATELoss_sum": lambda p, t, backend: DILATELoss(0.7, 0.1, "sum", backend)(p, t),
    "SoftDTWLoss_none_ragged": lambda p, t, backend: SoftDTWLoss(0.1, "none", backend)(
        p, t, None if backend == "matrix" else RAGGED
    ),
    "soft_dtw_series": lambda p, t, backend: soft_dtw_series(p, t, 0.1, backend),
    "soft_dtw_divergence": lambda p, t, backend: soft_dtw_divergence(p, t, 0.1, backend),
    "soft_dtw": lambda p, t, backend: soft_dtw(cost_matrix(t, p), 0.1, backend),
    "soft_alignment": lambda p, t, backend: soft_alignment(cost_matrix(t, p), 0.1, backend),
    "dilate_t_loss": lambda p, t, backend: dilate_t_loss(p, t, 0.5, 0.1, backend=backend),
}


def series(seed: int, B: int = 2, N: int = 5) -> torch.Tensor:
    return torch.randn(B, N, 1, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.slow  # 1-6 s each
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("loss", LOSSES)
def test_second_derivatives_equal_finite_differences(loss, backend):
    pred, target = series(1).requires_grad_(True), series(2, N=4).requires_grad_(True)
    assert torch.autograd.gradgradcheck(lambda p, t: LOSSES[loss](p, t, backend), (pred, target))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("loss", LOSSES)
def test_a_gradient_taken_with_its_graph_equals_the_plain_one_and_depends_on_the_input(loss, backend):
    # The loss is linear in its gradient's seed here (no squaring): the case where a backward
    # without a graph would hand back a constant that silently ignores pred.
    pred, target = series(3).requires_grad_(True), series(4, N=4)
    (plain,) = torch.autograd.grad(LOSSES[loss](pred, target, backend).sum(), pred)
    (with_graph,) = torch.autograd.grad(LOSSES[loss](pred, target, backend).sum(), pred, create_graph=True)
    assert with_graph.requires_grad
    torch.testing.assert_close(with_graph, plain, rtol=1e-9, atol=1e-10)
    # A gradient penalty's gradient, against central differences of the penalty itself.
    (penalty_grad,) = torch.autograd.grad(with_graph.square().sum(), pred)

    def penalty(p):
        (g,) = torch.autograd.grad(LOSSES[loss](p, target, backend).sum(), p)
        return float(g.square().sum())

    step, index = 1e-6, (1, 2, 0)
    up, down = pred.detach().clone(), pred.detach().clone()
    up[index] += step
    down[index] -= step
    expected = (penalty(up.requires_grad_(True)) - penalty(down.requires_grad_(True))) / (2 * step)
    assert penalty_grad[index].item() == pytest.approx(expected, rel=1e-5, abs=1e-7)


def test_a_gradient_penalty_trains_in_float32():
    pred = series(5).float().requires_grad_(True)
    target = series(6).float()
    (grad,) = torch.autograd.grad(DILATELoss(gamma=0.1)(pred, target), pred, create_graph=True)
    grad.square().sum().backward()
    assert pred.grad.dtype == torch.float32 and bool(pred.grad.abs().sum() > 0)


@pytest.mark.parametrize(
    "call",
    [
        lambda x, y: DILATELoss()(x, y),
        lambda x, y: SoftDTWLoss()(x, y),
        lambda x, y: dilate_loss(x, y),
        lambda x, y: soft_dtw_series(x, y),
        lambda x, y: soft_dtw_divergence(x, y),
        lambda x, y: dilate_t_loss(x, y),
        lambda x, y: cost_matrix(y, x),
        lambda x, y: soft_dtw(x, 0.1),
        lambda x, y: soft_alignment(x, 0.1),
    ],
)
@pytest.mark.parametrize("kind", [np.asarray, lambda a: a.tolist()])
def test_numpy_arrays_and_lists_get_a_type_error_that_says_to_pass_tensors(call, kind):
    x, y = kind(np.zeros((1, 3, 1), np.float32)), torch.zeros(1, 3, 1)
    with pytest.raises(TypeError, match="must be a torch tensor .* pass torch tensors"):
        call(x, y)


def test_torch_func_transforms_are_refused_with_torch_s_error_not_a_wrong_result():
    # The kernels' autograd Functions keep their sweeps on ctx in forward (no setup_context):
    # torch.func.grad and vmap are not supported, and say so.
    pred, target = series(7), series(8)
    with pytest.raises(RuntimeError, match="setup_context"):
        torch.func.grad(lambda p: DILATELoss()(p, target))(pred)


@pytest.mark.slow
def test_torch_compile_runs_the_loss_outside_the_graph_and_fullgraph_says_so():
    torch._dynamo.reset()
    pred, target = series(9).requires_grad_(True), series(10)
    loss_fn = DILATELoss(gamma=0.1)
    compiled = torch.compile(lambda p: (loss_fn(p, target) * 2.0).square(), backend="eager")
    value = compiled(pred)
    (grad,) = torch.autograd.grad(value, pred)
    (expected,) = torch.autograd.grad((loss_fn(pred, target) * 2.0).square(), pred)
    torch.testing.assert_close(grad, expected)
    strict = torch.compile(lambda p: loss_fn(p, target), backend="eager", fullgraph=True)
    with pytest.raises(Exception, match="graph break|disable"):
        strict(pred)
    torch._dynamo.reset()
