"""A NumPy float TTFS network for the mapping tests (the closed form of the design, section 2).

Kept independent of :mod:`model` so the mapping tests need no torch; a separate test checks
it against :func:`model.first_spike_times` when that is importable.
"""
import numpy as np


def first_spike_times(input_times, weight, *, threshold=1.0, t_max=8.0):
    """Exact first-spike times [batch, n_out] (``inf`` = silent) of one layer.

    The candidate of the prefix of the ``p + 1`` earliest inputs is
    ``(threshold + sum w t) / sum w``; it is the firing time if the slope is positive and the
    candidate lies in ``(t_(p), t_(p+1)]`` (the last interval ends at ``t_max``).
    """
    input_times = np.asarray(input_times, dtype=np.float64)
    weight = np.asarray(weight, dtype=np.float64)
    out = np.full((len(input_times), weight.shape[0]), np.inf)
    for b, times in enumerate(input_times):
        order = np.argsort(times, kind="stable")
        t = times[order]
        live = t < t_max
        t, order = t[live], order[live]
        if not len(t):
            continue
        w = weight[:, order].T
        slope = np.cumsum(w, axis=0)
        offset = np.cumsum(w * t[:, None], axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            candidate = (threshold + offset) / slope
        upper = np.append(t[1:], t_max)[:, None]
        valid = (slope > 0) & (candidate > t[:, None]) & (candidate <= upper)
        fired = valid.any(axis=0)
        first = valid.argmax(axis=0)
        out[b] = np.where(fired, candidate[first, np.arange(weight.shape[0])], np.inf)
    return out


def forward(input_times, weights, *, threshold=1.0, t_max=8.0):
    """Spike times of every computing layer, first hidden layer first."""
    times, out = input_times, []
    for weight in weights:
        times = first_spike_times(times, weight, threshold=threshold, t_max=t_max)
        out.append(times)
    return out


def encode(pixels, *, tau_in=1.0, zero_silent=True):
    """Input times of pixels in [0, 1]: ``tau_in * (1 - x)``, ``inf`` for silent zeros."""
    x = np.asarray(pixels, dtype=np.float64).reshape(len(pixels), -1)
    times = tau_in * (1.0 - x)
    return np.where(zero_silent & (x == 0), np.inf, times)
