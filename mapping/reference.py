"""The integer reference simulator: the oracle every hardware simulation must match bit for bit.

Time is discrete: steps ``k = 0 .. K-1``; a spike is a step index and "no spike" is ``K``.
All layers run in lockstep::

    slope_i(k) = slope_i(k-1) + sum of w_ij over inputs j that spiked at step k-1
    v_i(k)     = v_i(k-1) + slope_i(k)               (slope_i(-1) = v_i(-1) = 0)

Neuron ``i`` fires at the first ``k`` with ``v_i(k) >= threshold`` and is frozen from then
on (its slope and potential keep their values; it takes no more input). A spike at step
``k`` of layer ``l`` is an input of layer ``l + 1`` from step ``k + 1`` on, so a spike on the
last step ``K - 1`` is never delivered. Equivalently ``v_i(k) = sum_j w_ij * max(0, k - s_j)``
before firing, which this module evaluates exactly, event by event, without stepping.

Event counts, per sample (index ``l`` is the layer, ``0`` the input):

* ``spikes[l]``: spikes emitted by layer ``l``;
* ``synops[l]`` (``l >= 1``): weight accumulations into layer ``l``: each input spike at step
  ``s <= K - 2`` is accumulated at step ``s + 1`` into every neuron that has not fired at or
  before step ``s``; spikes at ``K - 1`` cause none;
* ``membrane_updates[l]`` (``l >= 1``): ``v += slope`` operations at steps ``k <= fire step``
  (the firing step included) whose slope is non-zero;
* ``steps``: steps run, always ``K``.

Decoding: the output neuron with the smallest spike step wins, ties to the lowest index; if
no output neuron fires, the largest final potential wins, ties to the lowest index. The
final potential of a neuron is ``v`` at its firing step, or at ``K - 1`` if it never fired.
"""
from dataclasses import dataclass

import numpy as np

#: Upper bound on the elements of one [chunk, inputs, neurons] work array.
_CHUNK_ELEMENTS = 1 << 22


@dataclass(frozen=True)
class Trace:
    """The result of simulating a batch.

    Members
    -------
    spike_steps : per layer (0 = input), int64 [batch, n_l]; ``steps`` means no spike
    final_potential : per computing layer (1..L), int64 [batch, n_l]
    prediction : int64 [batch], the decoded class
    spikes, synops, membrane_updates : int64 [batch, L + 1] event counts (column 0 of
        ``synops`` and ``membrane_updates`` is zero: the input layer computes nothing)
    steps : the number of steps run, K
    """

    spike_steps: tuple
    final_potential: tuple
    prediction: np.ndarray
    spikes: np.ndarray
    synops: np.ndarray
    membrane_updates: np.ndarray
    steps: int


def encode(network, pixels):
    """Input spike steps of images for ``network``.

    Parameters
    ----------
    pixels : array [batch, ...] of uint8 (0..255) or floats in [0, 1]; flattened per sample

    Pixel ``x`` spikes at time ``tau_in * (1 - x)``, rounded to the nearest step (halves up);
    times at or beyond ``K`` steps, and pixels equal to 0 when ``zero_silent``, give ``K``.
    """
    pixels = np.asarray(pixels)
    x = pixels.astype(np.float64) / 255.0 if pixels.dtype == np.uint8 else pixels.astype(np.float64)
    x = x.reshape(len(x), -1)
    if x.shape[1] != network.layers[0].n_in:
        raise ValueError(f"inputs have {x.shape[1]} values per sample, the network takes "
                         f"{network.layers[0].n_in}")
    if x.size and (np.nanmin(x) < 0 or np.nanmax(x) > 1 or np.isnan(x).any()):
        raise ValueError("pixel values must lie in [0, 1] (or be uint8)")
    K = network.steps
    steps = np.floor(network.encoding.tau_in * (1.0 - x) / network.dt + 0.5).astype(np.int64)
    steps = np.minimum(steps, K)
    if network.encoding.zero_silent:
        steps[x == 0] = K
    return steps


def run_layer(weight, threshold, steps, in_steps):
    """Simulate one layer exactly.

    Parameters
    ----------
    weight : int [n_out, n_in]
    threshold : int, at least 1
    steps : K
    in_steps : int [batch, n_in], input spike steps (``K`` = none)

    Returns
    -------
    fire : int64 [batch, n_out], firing steps (``K`` = silent)
    potential : int64 [batch, n_out], final potentials
    synops, membrane_updates : int64 [batch]
    slope_range : (min, max) of the slopes reached, for the overflow check
    """
    weight = np.asarray(weight, dtype=np.int64)
    n_out = weight.shape[0]
    in_steps = np.asarray(in_steps, dtype=np.int64)
    batch = len(in_steps)
    fire = np.full((batch, n_out), steps, dtype=np.int64)
    potential = np.zeros((batch, n_out), dtype=np.int64)
    synops = np.zeros(batch, dtype=np.int64)
    updates = np.zeros(batch, dtype=np.int64)
    slope_lo = slope_hi = 0
    delivered = in_steps <= steps - 2
    active = delivered.sum(axis=1)
    order_by_activity = np.argsort(active, kind="stable")
    start = 0
    while start < batch:
        width = max(int(active[order_by_activity[min(batch - 1, start)]]), 1)
        chunk = max(1, _CHUNK_ELEMENTS // (width * n_out))
        rows = order_by_activity[start:start + chunk]
        width = max(int(active[rows].max()), 1)
        f, v, u, lo, hi = _run_chunk(weight, threshold, steps, in_steps[rows],
                                     delivered[rows], width)
        fire[rows], potential[rows], updates[rows] = f, v, u
        slope_lo, slope_hi = min(slope_lo, lo), max(slope_hi, hi)
        start += len(rows)
    synops[:] = _count_synops(in_steps, delivered, fire, steps)
    return fire, potential, synops, updates, (slope_lo, slope_hi)


def _run_chunk(weight, threshold, K, in_steps, delivered, width):
    s_eff = np.where(delivered, in_steps, K - 1)
    order = np.argsort(s_eff, axis=1, kind="stable")[:, :width]
    s = np.take_along_axis(s_eff, order, axis=1)
    real = np.take_along_axis(delivered, order, axis=1)
    w = weight.T[order] * real[:, :, None]
    slope = np.cumsum(w, axis=1)
    offset = np.cumsum(w * s[:, :, None], axis=1)
    begin = (s + 1)[:, :, None]
    end = np.concatenate([s[:, 1:], np.full((len(s), 1), K - 1)], axis=1)[:, :, None]
    end = np.where(real[:, :, None], end, -1)
    positive = slope > 0
    need = threshold + offset
    crossing = -((-need) // np.where(positive, slope, 1))
    k_star = np.maximum(begin, crossing)
    valid = positive & (k_star <= end)
    fired = valid.any(axis=1)
    first = valid.argmax(axis=1)
    k_fire = np.take_along_axis(k_star, first[:, None, :], axis=1)[:, 0, :]
    fire = np.where(fired, k_fire, K)
    last = np.minimum(fire, K - 1)[:, None, :]
    span = np.minimum(end, last) - begin + 1
    updates = (np.where(slope != 0, np.maximum(span, 0), 0)).sum(axis=(1, 2))
    # the prefix in force at step `last` is the last one that began at or before it
    in_force = (begin <= last).sum(axis=1) - 1
    has_input = in_force >= 0
    idx = np.maximum(in_force, 0)[:, None, :]
    slope_at = np.take_along_axis(slope, idx, axis=1)[:, 0, :]
    offset_at = np.take_along_axis(offset, idx, axis=1)[:, 0, :]
    v = np.where(has_input, last[:, 0, :] * slope_at - offset_at, 0)
    used = slope * (begin <= last)
    return fire, v, updates, int(used.min(initial=0)), int(used.max(initial=0))


def _count_synops(in_steps, delivered, fire, K):
    """For each delivered input spike at step s, the neurons with fire step > s."""
    batch, n_out = fire.shape
    stride = 2 * K + 2
    base = np.arange(batch, dtype=np.int64)[:, None] * stride
    sorted_fire = (np.sort(fire, axis=1) + base).ravel()
    queries = np.where(delivered, in_steps, 0) + base
    fired_by = np.searchsorted(sorted_fire, queries.ravel(), side="right").reshape(queries.shape)
    fired_by -= np.arange(batch, dtype=np.int64)[:, None] * n_out
    return np.where(delivered, n_out - fired_by, 0).sum(axis=1)


def decode(fire, potential, steps):
    """Predicted class per sample from the output layer (see the module docstring)."""
    fired_any = (fire < steps).any(axis=1)
    return np.where(fired_any, fire.argmin(axis=1), potential.argmax(axis=1)).astype(np.int64)


def simulate(network, input_steps):
    """Run a batch of input spike steps through ``network``; returns a :class:`Trace`.

    Raises
    ------
    ValueError
        if ``input_steps`` is not ``[batch, n_in]`` integers in ``[0, K]``.
    OverflowError
        if a slope or potential leaves the register width the network declares.
    """
    K = network.steps
    x = np.asarray(input_steps)
    n_in = network.layers[0].n_in
    if x.ndim != 2 or x.shape[1] != n_in:
        raise ValueError(f"input_steps must have shape [batch, {n_in}], not {x.shape}")
    if not np.issubdtype(x.dtype, np.integer):
        raise ValueError(f"input_steps must be integers, not {x.dtype}")
    if x.size and (x.min() < 0 or x.max() > K):
        raise ValueError(f"input steps must lie in [0, {K}], found [{x.min()}, {x.max()}]")
    x = x.astype(np.int64)
    batch, n_layers = len(x), len(network.layers)
    spike_steps, potentials = [x], []
    counts = {name: np.zeros((batch, n_layers + 1), dtype=np.int64)
              for name in ("spikes", "synops", "membrane_updates")}
    counts["spikes"][:, 0] = (x < K).sum(axis=1)
    for l, (layer, widths) in enumerate(zip(network.layers, network.widths), start=1):
        fire, v, syn, upd, (lo, hi) = run_layer(layer.weight, layer.threshold, K, spike_steps[-1])
        _check_width(f"layer {l - 1} slope", lo, hi, widths.slope_bits)
        if v.size:
            _check_width(f"layer {l - 1} potential", v.min(), v.max(), widths.potential_bits)
        spike_steps.append(fire)
        potentials.append(v)
        counts["spikes"][:, l] = (fire < K).sum(axis=1)
        counts["synops"][:, l] = syn
        counts["membrane_updates"][:, l] = upd
    return Trace(spike_steps=tuple(spike_steps), final_potential=tuple(potentials),
                 prediction=decode(spike_steps[-1], potentials[-1], K), steps=K, **counts)


def _check_width(what, lo, hi, bits):
    if lo < -(1 << (bits - 1)) or hi > (1 << (bits - 1)) - 1:
        raise OverflowError(f"{what} reached [{lo}, {hi}], beyond its {bits}-bit register")
