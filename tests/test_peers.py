"""What the peers (tslearn, pysdtw) offer, against independent references: the soft-DTW divergence
as a module, a Sakoe-Chiba band, a custom pairwise distance, and forecasts and targets of
different lengths. References: brute force over every alignment path (inside the band) of tiny
grids, tslearn's SoftDTWLossPyTorch (normalize=, sakoe_chiba_radius=, dist_func=), cost matrices
computed by hand, and each pair cut to its lengths and scored alone."""

import numpy as np
import pytest
import torch
from tslearn.metrics import SoftDTWLossPyTorch
from tslearn.metrics import soft_dtw as tslearn_soft_dtw
from tslearn.metrics import soft_dtw_alignment as tslearn_soft_dtw_alignment

import dilate_core
from dilate_core.losses import (
    BLOCKED,
    cost_matrix,
    dilate_loss,
    soft_alignment,
    soft_dtw,
    soft_dtw_divergence,
    soft_dtw_series,
)
from dilate_core.modules import DILATELoss, SoftDTWDivergenceLoss, SoftDTWLoss
from tests import naive

MATRIX_BACKENDS = ["auto", "matrix", "torch"]  # those that form the cost matrix a band or a distance needs
# tslearn's PyTorch loss rounds its values through float32: what it gives is compared to this.
ROUNDED = {"rtol": 1e-5, "atol": 1e-6}


def tslearn_band(radius):
    return {} if radius is None else {"global_constraint": "sakoe_chiba", "sakoe_chiba_radius": radius}


def tslearn_values(pred, target, gamma, normalize=False, radius=None):
    """tslearn's soft-DTW (or divergence, `normalize`) of each pair, in float64 numpy: (B,)."""
    band = tslearn_band(radius)

    def sdtw(x, y):
        return tslearn_soft_dtw(x, y, gamma=gamma, **band)

    values = []
    for x, y in zip(target.detach().numpy(), pred.detach().numpy(), strict=True):
        values.append(sdtw(x, y) - (sdtw(x, x) + sdtw(y, y)) / 2 if normalize else sdtw(x, y))
    return torch.tensor(values, dtype=torch.float64)


def tslearn_gradients(pred, target, gamma, weights, normalize=False, radius=None):
    """Gradients of sum_b weights[b] value_b with respect to (pred, target), value_b as in
    `tslearn_values`: tslearn's float64 expected alignments E = d value / d costs, carried
    through the squared distances by autograd."""
    pred, target = pred.detach().requires_grad_(True), target.detach().requires_grad_(True)

    def term(x, y):  # <E, D> with E held constant: its gradient is E's chained through D(x, y)
        E = tslearn_soft_dtw_alignment(x.detach().numpy(), y.detach().numpy(), gamma=gamma, **tslearn_band(radius))[0]
        return (torch.from_numpy(E) * (x[:, None, :] - y[None, :, :]).square().sum(dim=-1)).sum()

    total = 0.0
    for b in range(len(pred)):
        x, y = target[b], pred[b]
        value = term(x, y) - (term(x, x) + term(y, y)) / 2 if normalize else term(x, y)
        total = total + weights[b] * value
    return torch.autograd.grad(total, (pred, target))


def series(B, L, d, seed, dtype=torch.float64):
    return torch.randn(B, L, d, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def banded_gibbs(D: np.ndarray, gamma: float, band: int):
    """Soft-DTW value, expected alignment and path probabilities of one (N, M) cost matrix, by
    enumerating the paths whose cells all lie within |i - j| <= band."""
    N, M = D.shape
    i, j = np.indices((N, M))
    outside = np.abs(i - j) > band
    paths = [A for A in naive.alignment_paths(N, M) if not (A * outside).any()]
    costs = np.array([(A * D).sum() for A in paths])
    shifted = -(costs - costs.min()) / gamma
    value = costs.min() - gamma * np.log(np.exp(shifted).sum())
    probs = np.exp(shifted) / np.exp(shifted).sum()
    return value, sum(p * A for p, A in zip(probs, paths, strict=True)), probs, paths


def l1_distance(target, pred):
    """sum_k |target[b, i, k] - pred[b, j, k]|, smoothed at 0 so that it is twice differentiable."""
    return (target[:, :, None, :] - pred[:, None, :, :]).square().add(1e-3).sqrt().sum(dim=-1)


# --- The soft-DTW divergence as a module ----------------------------------------------------


@pytest.mark.parametrize("backend", ["auto", "matrix", "torch"])
@pytest.mark.parametrize("gamma", [0.01, 0.1, 1.0])
def test_the_divergence_module_equals_tslearns_normalized_loss_with_its_gradients(backend, gamma):
    pred, target = series(4, 9, 2, 1).requires_grad_(True), series(4, 9, 2, 2).requires_grad_(True)
    ours = SoftDTWDivergenceLoss(gamma, "none", backend)(pred, target)
    torch.testing.assert_close(ours.detach(), tslearn_values(pred, target, gamma, True), rtol=1e-9, atol=1e-9)
    weights = torch.arange(1.0, 5.0, dtype=torch.float64)  # a different weight per pair
    ours_grads = torch.autograd.grad((ours * weights).sum(), (pred, target))
    for a, b in zip(ours_grads, tslearn_gradients(pred, target, gamma, weights, True), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-8, atol=1e-9)
    theirs = SoftDTWLossPyTorch(gamma, normalize=True)(pred, target)  # its PyTorch loss, as users call it
    torch.testing.assert_close(ours, theirs, **ROUNDED)


def test_the_divergence_module_reduces_like_the_others_and_is_zero_only_on_its_target():
    pred, target = series(5, 7, 1, 3), series(5, 8, 1, 4)
    values = soft_dtw_divergence(pred, target, 0.1)
    assert values.shape == (5,) and bool((values > 0).all())
    for reduction, expected in (("none", values), ("mean", values.mean()), ("sum", values.sum())):
        torch.testing.assert_close(SoftDTWDivergenceLoss(0.1, reduction)(pred, target), expected, rtol=1e-12, atol=0)
    assert SoftDTWDivergenceLoss(0.1, "sum")(target, target).item() == 0.0
    assert dilate_core.SoftDTWDivergenceLoss is SoftDTWDivergenceLoss
    assert "SoftDTWDivergenceLoss" in dilate_core.__all__


def test_the_divergence_module_with_lengths_equals_each_pair_cut_and_scored_alone():
    pred, target = series(3, 7, 2, 5).requires_grad_(True), series(3, 6, 2, 6)
    lengths, target_lengths = torch.tensor([7, 4, 2]), torch.tensor([3, 6, 2])
    ours = SoftDTWDivergenceLoss(0.2, "none")(pred, target, lengths, target_lengths)
    (grad,) = torch.autograd.grad(ours.sum(), pred)
    for b, (m, n) in enumerate(zip(lengths.tolist(), target_lengths.tolist(), strict=True)):
        alone, its_target = pred[b : b + 1, :m], target[b : b + 1, :n]
        value = tslearn_values(alone, its_target, 0.2, True)
        alone_grad, _ = tslearn_gradients(alone, its_target, 0.2, [1.0], True)
        torch.testing.assert_close(ours[b].detach(), value[0], rtol=1e-9, atol=1e-9)
        torch.testing.assert_close(grad[b, :m], alone_grad[0], rtol=1e-8, atol=1e-9)
        assert bool((grad[b, m:] == 0).all())  # the padding


# --- A Sakoe-Chiba band ---------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["numba", "torch"])
@pytest.mark.parametrize("shape, band", [((4, 4), 0), ((4, 4), 1), ((4, 5), 1), ((5, 3), 2), ((5, 5), 2), ((3, 3), 5)])
@pytest.mark.parametrize("gamma", [0.05, 1.0])
def test_a_banded_soft_dtw_and_its_alignment_equal_brute_force_over_the_paths_inside_the_band(
    backend, shape, band, gamma
):
    D = torch.rand(2, *shape, generator=torch.Generator().manual_seed(band), dtype=torch.float64)
    D.requires_grad_(True)
    values = soft_dtw(D, gamma, backend, band=band)
    E = soft_alignment(D, gamma, backend, band=band)
    (grad,) = torch.autograd.grad(values.sum(), D)
    Z = torch.rand(2, *shape, generator=torch.Generator().manual_seed(9), dtype=torch.float64) - 0.5
    (hvp,) = torch.autograd.grad((E * Z).sum(), D)
    for b in range(2):
        value, expected_E, probs, paths = banded_gibbs(D[b].detach().numpy(), gamma, band)
        z = Z[b].numpy()
        # dE/dD Z = -(1/gamma) Cov(A, <A, Z>), the Gibbs covariance over the paths inside the band.
        second = sum(p * A * (A * z).sum() for p, A in zip(probs, paths, strict=True))
        expected_hvp = -(second - expected_E * (expected_E * z).sum()) / gamma
        np.testing.assert_allclose(values[b].item(), value, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(E[b].detach().numpy(), expected_E, atol=1e-10)
        np.testing.assert_allclose(grad[b].numpy(), expected_E, atol=1e-10)
        np.testing.assert_allclose(hvp[b].numpy(), expected_hvp, atol=1e-8)


@pytest.mark.parametrize("backend", MATRIX_BACKENDS)
@pytest.mark.parametrize("band", [0, 1, 3])
@pytest.mark.parametrize("gamma", [0.01, 1.0])
def test_a_banded_soft_dtw_loss_equals_tslearns_sakoe_chiba_radius_with_its_gradients(backend, band, gamma):
    pred, target = series(3, 10, 2, 7).requires_grad_(True), series(3, 10, 2, 8).requires_grad_(True)
    ours = SoftDTWLoss(gamma, "none", backend, band=band)(pred, target)
    torch.testing.assert_close(ours.detach(), tslearn_values(pred, target, gamma, radius=band), rtol=1e-9, atol=1e-9)
    if band == 0:  # the diagonal path alone: the summed squared errors
        torch.testing.assert_close(ours, (pred - target).square().sum(dim=(1, 2)), rtol=1e-12, atol=0)
    weights = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    ours_grads = torch.autograd.grad((ours * weights).sum(), (pred, target))
    for a, b in zip(ours_grads, tslearn_gradients(pred, target, gamma, weights, radius=band), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-8, atol=1e-9)
    divergence = SoftDTWDivergenceLoss(gamma, "none", backend, band=band)(pred, target)
    expected = tslearn_values(pred, target, gamma, True, radius=band)
    torch.testing.assert_close(divergence.detach(), expected, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("backend", MATRIX_BACKENDS)
def test_a_banded_dilate_equals_brute_force_over_the_paths_inside_the_band(backend):
    pred, target = series(2, 5, 1, 9), series(2, 4, 1, 10)
    gamma, alpha, band = 0.3, 0.4, 1
    loss, shape, temporal = dilate_loss(pred, target, alpha, gamma, backend, band=band)
    D = cost_matrix(target, pred).numpy()
    i, j = np.indices(D.shape[1:])
    omega = (i - j) ** 2 / (4 * 5)
    references = [banded_gibbs(D[b], gamma, band) for b in range(2)]
    expected_shape = np.mean([value for value, *_ in references])
    expected_temporal = np.mean([(E * omega).sum() for _, E, *_ in references])
    assert shape.item() == pytest.approx(expected_shape, rel=1e-10)
    assert temporal.item() == pytest.approx(expected_temporal, rel=1e-10)
    assert loss.item() == pytest.approx(alpha * expected_shape + (1 - alpha) * expected_temporal, rel=1e-10)
    module = DILATELoss(alpha, gamma, "none", backend, band=band)(pred, target)
    torch.testing.assert_close(module.mean(), loss, rtol=1e-12, atol=0)


@pytest.mark.slow  # 10-25 s each
@pytest.mark.parametrize("backend", ["matrix", "torch"])
def test_banded_losses_pass_gradcheck_and_gradgradcheck(backend):
    pred, target = series(2, 5, 1, 11).requires_grad_(True), series(2, 4, 1, 12).requires_grad_(True)
    ragged = None if backend == "matrix" else torch.tensor([4, 3])  # "matrix" takes no lengths

    def losses(p, t):
        return torch.cat(
            [
                torch.stack(dilate_loss(p, t, 0.4, 0.2, backend, band=1)),
                SoftDTWLoss(0.2, "none", backend, band=1)(p, t, ragged),
                SoftDTWDivergenceLoss(0.2, "none", backend, band=1)(p, t),
                DILATELoss(0.6, 0.2, "none", backend, band=1)(p, t, ragged),
            ]
        )

    assert torch.autograd.gradcheck(losses, (pred, target))
    assert torch.autograd.gradgradcheck(losses, (pred, target))


def test_a_band_that_holds_no_path_or_a_backend_without_a_cost_matrix_are_refused():
    pred, target = series(2, 6, 1, 13), series(2, 4, 1, 14)
    with pytest.raises(ValueError, match="band must be at least 2"):
        soft_dtw_series(pred, target, 0.1, band=1)
    with pytest.raises(ValueError, match="band must be at least 3"):
        SoftDTWLoss(0.1, band=1)(pred, target, torch.tensor([5, 6]), torch.tensor([2, 4]))
    with pytest.raises(ValueError, match="band must be at least 1"):
        soft_dtw(cost_matrix(target, pred[:, :5]), 0.1, band=0)
    with pytest.raises(ValueError, match="whole number"):
        SoftDTWLoss(band=1.5)
    with pytest.raises(ValueError, match="whole number"):
        dilate_loss(pred, target, band=-1)
    for call in (
        lambda: dilate_loss(pred, target, backend="numba", band=2),
        lambda: soft_dtw_series(pred, target, backend="numba", distance=l1_distance),
        lambda: DILATELoss(backend="numba", band=2),
    ):
        with pytest.raises(ValueError, match="backend='auto', 'matrix' or 'torch'"):
            call()
    # Lengths on the CPU with a band: "auto" runs the torch sweeps ("matrix" does not take lengths).
    ragged = SoftDTWLoss(0.1, "none", band=2)(pred, target, torch.tensor([5, 6]), torch.tensor([3, 4]))
    expected = SoftDTWLoss(0.1, "none", "torch", band=2)(pred, target, torch.tensor([5, 6]), torch.tensor([3, 4]))
    torch.testing.assert_close(ragged, expected, rtol=0, atol=0)


def test_the_cells_outside_the_band_get_exactly_zero_alignment_and_gradient():
    D = torch.rand(1, 6, 6, generator=torch.Generator().manual_seed(15), dtype=torch.float64, requires_grad=True)
    values = soft_dtw(D, 10.0, band=1)  # a large gamma, where every allowed path weighs
    (grad,) = torch.autograd.grad(values.sum(), D)
    i, j = np.indices((6, 6))
    assert bool((grad[0][torch.from_numpy(np.abs(i - j) > 1)] == 0).all())
    assert bool((grad[0][torch.from_numpy(np.abs(i - j) <= 1)] > 0).all())
    assert values.item() < BLOCKED / 1e6  # no blocked cell's cost leaked into the value


# --- A custom pairwise distance ---------------------------------------------------------------


@pytest.mark.parametrize("backend", MATRIX_BACKENDS)
def test_a_custom_distance_equals_soft_dtw_of_its_cost_matrix_computed_by_hand(backend):
    pred, target = series(3, 7, 2, 16).requires_grad_(True), series(3, 5, 2, 17).requires_grad_(True)
    targets, preds = target.detach().numpy(), pred.detach().numpy()
    by_hand = np.zeros((3, 5, 7))
    for b in range(3):
        for i in range(5):
            for j in range(7):
                by_hand[b, i, j] = sum(np.sqrt((targets[b, i, k] - preds[b, j, k]) ** 2 + 1e-3) for k in range(2))
    by_hand = torch.from_numpy(by_hand)
    torch.testing.assert_close(l1_distance(target, pred), by_hand, rtol=1e-12, atol=0)
    ours = soft_dtw_series(pred, target, 0.1, backend, distance=l1_distance)
    reference = soft_dtw(l1_distance(target, pred), 0.1)
    torch.testing.assert_close(ours, reference, rtol=1e-12, atol=0)
    assert not torch.allclose(ours, soft_dtw_series(pred, target, 0.1))  # the distance is used
    ours_grads = torch.autograd.grad(ours.sum(), (pred, target))
    reference_grads = torch.autograd.grad(reference.sum(), (pred, target))
    for a, b in zip(ours_grads, reference_grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    # The modules, against tslearn's dist_func (which takes (pred, target); soft-DTW is the same
    # on the transposed costs).
    theirs = SoftDTWLossPyTorch(0.1, dist_func=lambda x, y: l1_distance(y, x).transpose(1, 2))(pred, target)
    module = SoftDTWLoss(0.1, "none", backend, distance=l1_distance)(pred, target)
    torch.testing.assert_close(module, theirs, **ROUNDED)
    theirs = SoftDTWLossPyTorch(0.1, True, dist_func=lambda x, y: l1_distance(y, x).transpose(1, 2))(pred, target)
    divergence = SoftDTWDivergenceLoss(0.1, "none", backend, distance=l1_distance)(pred, target)
    torch.testing.assert_close(divergence, theirs, **ROUNDED)


@pytest.mark.parametrize("backend", MATRIX_BACKENDS)
def test_dilate_with_a_custom_distance_equals_the_terms_of_its_cost_matrix(backend):
    pred, target = series(2, 6, 1, 18).requires_grad_(True), series(2, 6, 1, 19)
    loss, shape, temporal = dilate_loss(pred, target, 0.5, 0.1, backend, distance=l1_distance)
    D = l1_distance(target, pred)
    E = soft_alignment(D, 0.1)
    omega = (torch.arange(6.0)[:, None] - torch.arange(6.0)[None, :]).to(torch.float64) ** 2 / 36
    torch.testing.assert_close(shape, soft_dtw(D, 0.1).mean())
    torch.testing.assert_close(temporal, (E * omega).sum(dim=(1, 2)).mean())
    with_module = DILATELoss(0.5, 0.1, "sum", backend, distance=l1_distance)(pred, target)
    torch.testing.assert_close(with_module, 2 * loss)


@pytest.mark.slow  # 10-25 s each
@pytest.mark.parametrize("backend", ["matrix", "torch"])
def test_a_custom_distance_passes_gradcheck_and_gradgradcheck(backend):
    pred, target = series(2, 4, 2, 20).requires_grad_(True), series(2, 5, 2, 21).requires_grad_(True)

    def losses(p, t):
        return torch.cat(
            [
                torch.stack(dilate_loss(p, t, 0.4, 0.3, backend, distance=l1_distance, band=2)),
                SoftDTWLoss(0.3, "none", backend, distance=l1_distance)(p, t),
            ]
        )

    assert torch.autograd.gradcheck(losses, (pred, target))
    assert torch.autograd.gradgradcheck(losses, (pred, target))


def test_a_distance_that_is_not_a_function_or_gives_the_wrong_shape_is_explained():
    pred, target = series(2, 4, 1, 22), series(2, 5, 1, 23)
    with pytest.raises(TypeError, match="distance must be a function"):
        SoftDTWLoss(distance="l1")
    with pytest.raises(TypeError, match="distance must be a function"):
        soft_dtw_series(pred, target, distance=3)
    with pytest.raises(ValueError, match=r"shape \(B, N, M\) = \(2, 5, 4\), got \(2, 4, 5\)"):
        soft_dtw_series(pred, target, distance=lambda t, p: cost_matrix(p, t))
    with pytest.raises(ValueError, match="D contains NaN"):
        soft_dtw_series(pred, target, distance=lambda t, p: cost_matrix(t, p) / 0)


# --- Forecasts and targets of different lengths ---------------------------------------------


def test_series_of_different_lengths_equal_tslearn_without_lengths():
    pred, target = series(3, 9, 2, 24).requires_grad_(True), series(3, 6, 2, 25)
    theirs = tslearn_values(pred, target, 0.1)
    torch.testing.assert_close(soft_dtw_series(pred, target, 0.1).detach(), theirs, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(SoftDTWLoss(0.1, "none")(pred, target).detach(), theirs, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("backend", ["auto", "torch"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_separate_target_lengths_equal_each_pair_cut_and_scored_alone(backend, dtype):
    B, M, N = 4, 8, 6
    pred, target = series(B, M, 2, 26, dtype).requires_grad_(True), series(B, N, 2, 27, dtype).requires_grad_(True)
    lengths, target_lengths = torch.tensor([8, 3, 5, 1]), torch.tensor([6, 6, 2, 1])
    alpha, gamma = 0.3, 0.2
    values = SoftDTWLoss(gamma, "none", backend)(pred, target, lengths, target_lengths)
    terms = DILATELoss(alpha, gamma, "none", backend)(pred, target, lengths, target_lengths)
    grads = torch.autograd.grad((values + terms).sum(), (pred, target))
    tolerance = {"rtol": 1e-9, "atol": 1e-9} if dtype == torch.float64 else {"rtol": 1e-4, "atol": 1e-5}
    for b, (m, n) in enumerate(zip(lengths.tolist(), target_lengths.tolist(), strict=True)):
        p = pred[b : b + 1, :m].detach().double().requires_grad_(True)
        t = target[b : b + 1, :n].detach().double().requires_grad_(True)
        value = soft_dtw_series(p, t, gamma, "matrix")[0]  # the pair alone, checked against tslearn above
        # DILATE's temporal term by brute force: E over every path of the n x m grid, Omega / (n m).
        D = cost_matrix(t, p)
        E = naive.expected_alignment(D[0].detach().numpy(), gamma)
        i, j = np.indices((n, m))
        temporal = (E * (i - j) ** 2).sum() / (n * m)
        torch.testing.assert_close(values[b].double(), tslearn_values(p, t, gamma)[0], **tolerance)
        expected = alpha * value.item() + (1 - alpha) * temporal
        assert terms[b].item() == pytest.approx(expected, rel=tolerance["rtol"] * 10, abs=tolerance["atol"])
        alone = dilate_loss(p, t, alpha, gamma)[0] + value
        expected_grads = torch.autograd.grad(alone, (p, t))
        torch.testing.assert_close(grads[0][b, :m].double(), expected_grads[0][0], **tolerance)
        torch.testing.assert_close(grads[1][b, :n].double(), expected_grads[1][0], **tolerance)
        assert bool((grads[0][b, m:] == 0).all()) and bool((grads[1][b, n:] == 0).all())  # the padding


def test_target_lengths_alone_leave_the_forecasts_whole():
    pred, target = series(2, 5, 1, 28), series(2, 7, 1, 29)
    ours = soft_dtw_series(pred, target, 0.1, target_lengths=torch.tensor([7, 3]))
    expected = torch.stack(
        [soft_dtw_series(pred[b : b + 1], target[b : b + 1, :n], 0.1)[0] for b, n in ((0, 7), (1, 3))]
    )
    torch.testing.assert_close(ours, expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize(
    "lengths, target_lengths, message",
    [
        (torch.tensor([6, 6]), None, "lengths must lie from 1 to 4"),  # alone: both series, at most min(N, M)
        (torch.tensor([7, 6]), torch.tensor([2, 2]), "lengths must lie from 1 to 6"),
        (torch.tensor([6, 6]), torch.tensor([5, 2]), "target_lengths must lie from 1 to 4"),
        (None, torch.tensor([2.0, 2.0]), "target_lengths must be an integer tensor of shape \\(2,\\)"),
    ],
)
def test_bad_target_lengths_are_explained(lengths, target_lengths, message):
    with pytest.raises(ValueError, match=message):
        SoftDTWLoss()(series(2, 6, 1, 30), series(2, 4, 1, 31), lengths, target_lengths)
