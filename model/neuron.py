"""The TTFS neuron in functional form: exact first-spike times and their gradients.

Non-leaky integrate-and-fire with step-shaped synaptic current: each input spike at
``t_j`` adds a ramp, ``v_i(t) = sum_j w_ij max(0, t - t_j)``. Neuron ``i`` fires once, at the
first ``t`` in ``[0, t_max]`` with ``v_i(t) >= threshold``, and is silent (``+inf``)
otherwise. With the causal set ``C_i = {j : t_j < t_i}`` and slope ``S_i = sum_{j in C_i}
w_ij > 0``::

    t_i = (threshold + sum_{j in C_i} w_ij t_j) / S_i
    dt_i/dw_ij = (t_j - t_i) / S_i,   dt_i/dt_j = w_ij / S_i   (j in C_i; zero otherwise)

``C_i`` is found exactly: inputs sorted by time (ties broken by index) are scanned and the
first segment between two distinct consecutive input times (the last one ends at ``t_max``)
whose line reaches the threshold holds the crossing. Inputs at or after ``t_max`` (and
``+inf``, no spike) can never be causal. Time is in the model's own unit (see
:mod:`model.network` for the defaults); it is whatever unit ``input_times`` and ``t_max`` share.

Two implementations give the same results: the C kernel (:mod:`model.kernel`, the default:
one sort per sample, an early-exit scan per neuron, a hand-written backward) and a dense
PyTorch reference (``implementation="reference"``; autograd through the closed form, used
for ``gradcheck`` and tests). The kernel computes in float64 whatever the input dtype.
In the kernel's backward ``1/S_i`` is capped at ``1/MIN_SLOPE`` so that a neuron crossing
with an almost flat potential cannot send an overflowing gradient into the weights.
"""
from typing import NamedTuple

import torch

from . import kernel

#: Smallest slope used in the kernel's backward: 1/S is capped at 1/MIN_SLOPE.
MIN_SLOPE = 1e-9
#: Default end of the firing window (input spikes fill [0, 1] with the default tau_in = 1).
T_MAX = 8.0
IMPLEMENTATIONS = ("kernel", "reference")


class Scan(NamedTuple):
    """Result of the forward scan of one layer.

    Members
    -------
    times : [batch, n_out] first-spike times, ``+inf`` when silent (differentiable)
    slopes : [batch, n_out] causal slopes ``S_i``, 0 when silent (differentiable)
    ncausal : [batch, n_out] int32, size of the causal set, 0 when silent
    order : [batch, n_in] int32, input indices sorted by time (first ``count[b]`` valid)
    count : [batch] int32, number of inputs spiking before ``t_max``
    input_times, weight : float64 contiguous copies used by the kernel
    """

    times: torch.Tensor
    slopes: torch.Tensor
    ncausal: torch.Tensor
    order: torch.Tensor
    count: torch.Tensor
    input_times: torch.Tensor
    weight: torch.Tensor


def _check(input_times, weight, t_max):
    if input_times.dim() != 2 or weight.dim() != 2:
        raise ValueError(f"input_times must be [batch, n_in] and weight [n_out, n_in], not "
                         f"{list(input_times.shape)} and {list(weight.shape)}")
    if input_times.shape[1] != weight.shape[1]:
        raise ValueError(f"input_times has {input_times.shape[1]} inputs but weight expects "
                         f"{weight.shape[1]}")
    if not t_max > 0:
        raise ValueError(f"t_max must be positive, not {t_max}")
    if torch.isnan(input_times).any() or (input_times == float("-inf")).any():
        raise ValueError("input_times must be finite or +inf (no spike); found NaN or -inf")
    if not torch.isfinite(weight).all():
        raise ValueError("weight must be finite; found NaN or inf")


class _KernelSpikeTimes(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input_times, weight, threshold, t_max):
        tin = input_times.detach().to(torch.float64).contiguous()
        w = weight.detach().to(torch.float64).contiguous()
        batch, n_in = tin.shape
        n_out = w.shape[0]
        times = torch.empty(batch, n_out, dtype=torch.float64)
        slopes = torch.empty(batch, n_out, dtype=torch.float64)
        ncausal = torch.empty(batch, n_out, dtype=torch.int32)
        order = torch.empty(batch, n_in, dtype=torch.int32)
        count = torch.empty(batch, dtype=torch.int32)
        failed = kernel.library().ttfs_forward(
            batch, n_in, n_out, tin.data_ptr(), w.data_ptr(), float(threshold), float(t_max),
            torch.get_num_threads(), times.data_ptr(), slopes.data_ptr(), ncausal.data_ptr(),
            order.data_ptr(), count.data_ptr())
        if failed:
            raise MemoryError("TTFS kernel: out of memory in the forward pass")
        ctx.save_for_backward(tin, w, times, slopes, ncausal, order)
        ctx.dtypes = (input_times.dtype, weight.dtype)
        ctx.mark_non_differentiable(ncausal, order, count)
        dtype = torch.promote_types(input_times.dtype, weight.dtype)
        return times.to(dtype), slopes.to(dtype), ncausal, order, count, tin, w

    @staticmethod
    def backward(ctx, grad_times, grad_slopes, *unused):
        tin, w, times, slopes, ncausal, order = ctx.saved_tensors
        batch, n_in = tin.shape
        n_out = w.shape[0]
        gt = _dense64(grad_times, (batch, n_out))
        gs = _dense64(grad_slopes, (batch, n_out))
        gw = torch.empty(n_out, n_in, dtype=torch.float64)
        gtin = (torch.empty(batch, n_in, dtype=torch.float64) if ctx.needs_input_grad[0]
                else None)
        failed = kernel.library().ttfs_backward(
            batch, n_in, n_out, tin.data_ptr(), w.data_ptr(), times.data_ptr(),
            slopes.data_ptr(), ncausal.data_ptr(), order.data_ptr(), gt.data_ptr(),
            gs.data_ptr(), MIN_SLOPE, torch.get_num_threads(), gw.data_ptr(),
            None if gtin is None else gtin.data_ptr())
        if failed:
            raise MemoryError("TTFS kernel: out of memory in the backward pass")
        return (None if gtin is None else gtin.to(ctx.dtypes[0])), gw.to(ctx.dtypes[1]), \
            None, None


def _dense64(grad, shape):
    if grad is None:
        return torch.zeros(shape, dtype=torch.float64)
    return grad.detach().to(torch.float64).nan_to_num(nan=0.0, posinf=0.0, neginf=0.0)\
        .contiguous()


def scan(input_times, weight, *, threshold=1.0, t_max=T_MAX):
    """Run the kernel's forward scan of one layer and return a :class:`Scan`.

    ``times`` and ``slopes`` carry exact gradients to ``input_times`` and ``weight``; the
    rest is what :mod:`model.regularizer` needs to revisit the causal sets.
    """
    _check(input_times, weight, t_max)
    return Scan(*_KernelSpikeTimes.apply(input_times, weight, threshold, t_max))


def _reference(input_times, weight, threshold, t_max):
    batch, n_in = input_times.shape
    t_sorted, idx = torch.sort(input_times, dim=1, stable=True)
    inside = t_sorted < t_max
    t_in = torch.where(inside, t_sorted, torch.zeros_like(t_sorted))
    w_sorted = weight.t()[idx].transpose(1, 2)
    w_sorted = torch.where(inside[:, None, :], w_sorted, torch.zeros_like(w_sorted))
    S = torch.cumsum(w_sorted, dim=-1)
    A = torch.cumsum(w_sorted * t_in[:, None, :], dim=-1)
    with torch.no_grad():
        nxt = torch.cat([t_sorted[:, 1:], t_sorted.new_full((batch, 1), t_max)], dim=1)
        nxt = nxt.clamp(max=t_max)
        tie = (nxt == t_sorted)[:, None, :]
        candidate = (threshold + A) / S
        valid = inside[:, None, :] & ~tie & (S > 0) & (candidate <= nxt[:, None, :])
        fired = valid.any(dim=-1)
        first = valid.to(torch.int8).argmax(dim=-1, keepdim=True)
    S_i = torch.gather(S, -1, first).squeeze(-1)
    A_i = torch.gather(A, -1, first).squeeze(-1)
    S_safe = torch.where(fired, S_i, torch.ones_like(S_i))
    times = torch.where(fired, (threshold + A_i) / S_safe, torch.full_like(S_i, float("inf")))
    slopes = torch.where(fired, S_i, torch.zeros_like(S_i))
    return times, slopes


def spike_times_and_slopes(input_times, weight, *, threshold=1.0, t_max=T_MAX,
                           implementation="kernel"):
    """First-spike times and causal slopes ``S_i`` of a layer, both differentiable.

    Parameters
    ----------
    input_times : [batch, n_in] input spike times, ``+inf`` for no spike
    weight : [n_out, n_in] synaptic weights (potential per unit time per spike)
    threshold : firing threshold ``V_th``
    t_max : end of the firing window, in the unit of ``input_times``
    implementation : ``"kernel"`` (C kernel) or ``"reference"`` (dense PyTorch)

    Returns
    -------
    (times, slopes) : two [batch, n_out] tensors; silent neurons have time ``+inf`` and
    slope 0.

    Raises
    ------
    ValueError
        for mismatched shapes, a non-positive ``t_max``, NaN or ``-inf`` input times or
        non-finite weights, or an unknown implementation.
    """
    if implementation not in IMPLEMENTATIONS:
        raise ValueError(f"implementation must be one of {', '.join(IMPLEMENTATIONS)}, not "
                         f"{implementation!r}")
    if implementation == "reference":
        _check(input_times, weight, t_max)
        return _reference(input_times, weight, threshold, t_max)
    result = scan(input_times, weight, threshold=threshold, t_max=t_max)
    return result.times, result.slopes


def first_spike_times(input_times, weight, *, threshold=1.0, t_max=T_MAX, implementation="kernel"):
    """First-spike times ``[batch, n_out]`` of a TTFS layer, ``+inf`` for silent neurons.

    Exact (closed form over the causal set) and differentiable; see the module docstring
    for the model and :func:`spike_times_and_slopes` for the parameters.
    """
    return spike_times_and_slopes(input_times, weight, threshold=threshold, t_max=t_max,
                                  implementation=implementation)[0]


def potential(times, input_times, weight):
    """Membrane potential without firing, ``v_i(t) = sum_j w_ij max(0, t - t_j)``.

    Parameters
    ----------
    times : [n_t] time points
    input_times : [batch, n_in], ``+inf`` for no spike
    weight : [n_out, n_in]

    Returns
    -------
    [batch, n_out, n_t] potentials.
    """
    ramp = (times[None, None, :] - input_times[:, :, None]).clamp(min=0)
    return torch.einsum("oi,bit->bot", weight, ramp)
