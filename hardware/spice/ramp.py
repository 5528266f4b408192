"""The continuous-time ramp that the analog neuron computes, and its closed-form crossing.

In model time ``u`` (in steps), a neuron with integer weights ``w_j`` whose inputs spiked at
steps ``s_j`` has the potential

    v(u) = sum_j w_j * max(0, u - s_j)

which at integer ``u = k`` is exactly the integer reference potential ``v_i(k)`` of
:mod:`mapping.reference`. Its first crossing of ``theta`` is, with the causal set ``C`` of
inputs with ``s_j`` before the crossing, ``u* = (theta + sum_C w_j s_j) / sum_C w_j``. Between
two consecutive input steps ``v`` is linear, so the reference fires at ``ceil(u*)`` when
``u* <= K - 1`` and stays silent otherwise. Only inputs with ``s_j <= K - 2`` are ever
delivered. The circuit reaches model time ``u`` at ``(u + 1) * dt_s``.
"""
import math
from fractions import Fraction

import numpy as np


def _check(weights, input_steps, threshold, steps):
    w = np.asarray(weights)
    s = np.asarray(input_steps)
    if w.ndim != 1 or s.shape != w.shape:
        raise ValueError(f"weights and input_steps must be 1-D of equal length, got shapes "
                         f"{w.shape} and {s.shape}")
    if not (np.issubdtype(w.dtype, np.integer) and np.issubdtype(s.dtype, np.integer)):
        raise ValueError(f"weights and input_steps must be integers, not {w.dtype}, {s.dtype}")
    if threshold < 1:
        raise ValueError(f"threshold must be at least 1, not {threshold}")
    if s.size and (s.min() < 0 or s.max() > steps):
        raise ValueError(f"input steps must lie in [0, {steps}], found [{s.min()}, {s.max()}]")
    return w.astype(np.int64), s.astype(np.int64)


def crossing_exact(weights, input_steps, threshold, steps):
    """First crossing ``u*`` of ``theta`` as an exact :class:`~fractions.Fraction`, or None
    if the potential stays below ``theta`` up to ``u = K - 1``."""
    w, s = _check(weights, input_steps, threshold, steps)
    delivered = s <= steps - 2
    w, s = w[delivered], s[delivered]
    order = np.argsort(s, kind="stable")
    w, s = w[order], s[order]
    slope, offset = 0, 0
    bounds = list(np.unique(s)) + [steps - 1]
    for begin, end in zip(bounds[:-1], bounds[1:]):
        group = s == begin
        slope += int(w[group].sum())
        offset += int((w[group] * s[group]).sum())
        if slope > 0:
            u = Fraction(threshold + offset, slope)
            if u <= end:
                return max(u, Fraction(int(begin)))
    return None


def crossing_step(weights, input_steps, threshold, steps):
    """:func:`crossing_exact` as a float; ``math.inf`` for a neuron that never fires."""
    u = crossing_exact(weights, input_steps, threshold, steps)
    return math.inf if u is None else float(u)


def fire_step(crossing, steps):
    """The integer reference's firing step for a crossing ``u*`` (``K`` when silent)."""
    if crossing is None or crossing == math.inf:
        return steps
    return int(math.ceil(crossing))


def potential(weights, input_steps, u, steps):
    """``v(u)`` in weight units for an array of model times ``u`` (no firing, no freezing)."""
    w, s = _check(weights, input_steps, 1, steps)
    delivered = s <= steps - 2
    u = np.asarray(u, dtype=np.float64)
    ramps = np.maximum(0.0, u[..., None] - s[delivered].astype(np.float64))
    return ramps @ w[delivered].astype(np.float64)
