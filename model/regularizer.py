"""The loss and the sparse-firing regularizers of the hidden layers.

Write ``T = t_max`` and continue the potential of a fired neuron after its spike with its
causal slope (no reset): ``u_i(t) = V_th + S_i (t - t_i)`` for ``t > t_i``. Because
``V_th = S_i t_i - A_i`` (with ``A_i = sum_{j in C_i} w_ij t_j``), this continuation is the
same line ``S_i t - A_i`` as the potential just before the spike, so ``u_i`` is the
potential with the causal set frozen at firing. Per neuron and sample:

- ``m-ssr`` (membrane-potential-aware): ``R_M = S_i (T - t_i)^2 / 2``, the area of
  ``u_i - V_th`` over ``[t_i, T]``, i.e. the area above ``v_hat`` in the limit
  ``v_hat -> V_th``. Gradients: ``dR/dS = (T - t)^2 / 2`` and ``dR/dt = -S (T - t)``,
  chained through the exact ``dt/dw``, ``dt/dt_j`` and ``dS/dw = 1`` on the causal set.
- ``f-ssr`` (firing-condition-aware): ``R_F = S_i (T - t_i) = u_i(T) - V_th``, how far the
  reset-free potential ends above threshold.
- ``vhat`` (membrane-potential baseline): ``R = integral_0^T max(0, u_i(t) - v_hat) dt``
  with ``0 <= v_hat <= V_th``; before firing (or over the whole window for silent neurons)
  ``u_i`` is the real piecewise-linear potential. On each segment between consecutive
  causal input times ``u_i = S t - A`` is linear and the area of its positive part is a
  triangle or trapezoid; its derivatives are ``dR/dS = integral t dt`` and ``dR/dA =
  -integral 1 dt`` over the part above ``v_hat`` (the boundary terms vanish because the
  integrand is zero at the crossings and continuous at the segment ends). Computed in the
  C kernel (``ttfs_vhat``). At ``v_hat = V_th`` it equals ``R_M``.
- ``none``: zero.

Silent neurons contribute nothing to ``m-ssr`` and ``f-ssr``; both vanish continuously as a
spike moves to ``T``, so they push spikes later and, past ``T``, into silence.

These follow the published description of Sakemi et al., Sci. Rep. 2023 (abstract and
figure captions): the paper's full text, with its exact formulas, could not be checked.
The total regularizer is the sum over hidden layers of the mean over samples and neurons.

Loss: cross-entropy of ``softmax(-t_out / tau_soft)`` with silent outputs counted as firing
at ``T`` (so that a spike leaving the window changes the loss continuously), plus
``gamma1`` times the window term ``mean_b max(0, V_th - v_y(T))``: how far the label
neuron's potential at ``T`` (without firing) stays below threshold; zero when the label
neuron fires inside the window, and otherwise a gradient that makes it fire.
"""
import torch
import torch.nn.functional as F

from . import kernel
from .neuron import potential

REGULARIZERS = ("none", "m-ssr", "f-ssr", "vhat")


class _VhatArea(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input_times, weight, scan, v_hat, t_max):
        tin, w = scan.input_times, scan.weight
        batch, n_in = tin.shape
        n_out = w.shape[0]
        area = torch.empty(batch, n_out, dtype=torch.float64)
        failed = kernel.library().ttfs_vhat(
            batch, n_in, n_out, tin.data_ptr(), w.data_ptr(), scan.ncausal.data_ptr(),
            scan.order.data_ptr(), scan.count.data_ptr(), float(v_hat), float(t_max),
            torch.get_num_threads(), area.data_ptr(), None, None, None)
        if failed:
            raise MemoryError("TTFS kernel: out of memory in the v_hat area")
        ctx.scan = scan
        ctx.v_hat, ctx.t_max = float(v_hat), float(t_max)
        ctx.dtypes = (input_times.dtype, weight.dtype)
        return area.to(torch.promote_types(input_times.dtype, weight.dtype))

    @staticmethod
    def backward(ctx, grad_area):
        scan = ctx.scan
        tin, w = scan.input_times, scan.weight
        batch, n_in = tin.shape
        n_out = w.shape[0]
        gr = grad_area.detach().to(torch.float64).contiguous()
        gw = torch.empty(n_out, n_in, dtype=torch.float64)
        gtin = (torch.empty(batch, n_in, dtype=torch.float64) if ctx.needs_input_grad[0]
                else None)
        failed = kernel.library().ttfs_vhat(
            batch, n_in, n_out, tin.data_ptr(), w.data_ptr(), scan.ncausal.data_ptr(),
            scan.order.data_ptr(), scan.count.data_ptr(), ctx.v_hat, ctx.t_max,
            torch.get_num_threads(), None, gr.data_ptr(), gw.data_ptr(),
            None if gtin is None else gtin.data_ptr())
        if failed:
            raise MemoryError("TTFS kernel: out of memory in the v_hat gradient")
        return (None if gtin is None else gtin.to(ctx.dtypes[0])), gw.to(ctx.dtypes[1]), \
            None, None, None


def vhat_area(input_times, weight, scan, *, v_hat, t_max):
    """``integral_0^T max(0, u_i(t) - v_hat) dt`` per sample and neuron, ``[batch, n_out]``.

    ``scan`` is the :class:`model.neuron.Scan` of the same ``input_times`` and ``weight``.
    """
    return _VhatArea.apply(input_times, weight, scan, v_hat, t_max)


def neuron_penalty(reg, input_times, weight, scan, *, t_max, threshold=1.0, v_hat=None):
    """The regularizer ``reg`` of every neuron of one layer, ``[batch, n_out]``.

    Raises
    ------
    ValueError
        for an unknown regularizer, or ``vhat`` without ``0 <= v_hat <= threshold``.
    """
    if reg not in REGULARIZERS:
        raise ValueError(f"reg must be one of {', '.join(REGULARIZERS)}, not {reg!r}")
    fired = torch.isfinite(scan.times)
    late = torch.where(fired, t_max - scan.times, torch.zeros_like(scan.times))
    if reg == "none":
        return torch.zeros_like(late)
    if reg == "m-ssr":
        return scan.slopes * late ** 2 / 2
    if reg == "f-ssr":
        return scan.slopes * late
    if v_hat is None or not 0 <= v_hat <= threshold:
        raise ValueError(f"vhat needs 0 <= v_hat <= threshold ({threshold}), not {v_hat}")
    return vhat_area(input_times, weight, scan, v_hat=v_hat, t_max=t_max)


def hidden_penalty(reg, network, input_times, scans, *, v_hat=None):
    """Sum over hidden layers of the mean regularizer per sample and neuron."""
    config = network.config
    total = input_times.new_zeros(())
    times = input_times
    for layer, layer_scan in zip(network.layers[:-1], scans[:-1]):
        total = total + neuron_penalty(reg, times, layer.weight, layer_scan, t_max=config.t_max,
                                       threshold=config.threshold, v_hat=v_hat).mean()
        times = layer_scan.times
    return total


def loss_terms(network, input_times, labels, scans, *, tau_soft, gamma1):
    """(cross-entropy, window term) of a batch; see the module docstring."""
    config = network.config
    out = scans[-1].times
    out = torch.where(torch.isfinite(out), out, torch.full_like(out, config.t_max))
    cross_entropy = F.cross_entropy(-out / tau_soft, labels)
    if gamma1 == 0:
        return cross_entropy, cross_entropy.new_zeros(())
    hidden = scans[-2].times if len(scans) > 1 else input_times
    end = hidden.new_tensor([config.t_max])
    weight = network.layers[-1].weight[labels]
    ramp = (end - hidden).clamp(min=0)
    v_end = (weight * ramp).sum(dim=1)
    window = F.relu(config.threshold - v_end).mean()
    return cross_entropy, window


def reference_area(input_times, weight, times, slopes, *, v_hat, t_max, steps=20001,
                   threshold=1.0):
    """Numerical ``integral_0^T max(0, u(t) - v_hat) dt`` (trapezoid rule on ``steps``
    points) from the raw potential before firing and the slope continuation after it; an
    independent check of the regularizers, ``[batch, n_out]``."""
    grid = torch.linspace(0.0, t_max, steps, dtype=torch.float64)
    v = potential(grid, input_times.to(torch.float64), weight.to(torch.float64))
    t_i = times.to(torch.float64)[:, :, None]
    after = threshold + slopes.to(torch.float64)[:, :, None] * (grid - t_i)
    u = torch.where(grid >= t_i, after, v)
    return torch.trapezoid((u - v_hat).clamp(min=0), grid, dim=-1)
