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
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

#: Samples per chunk are chosen so that one [sample, neuron] slab has about this many
#: elements: prefix sums run as one vector add per input, which numpy does fast only on
#: long contiguous rows (``np.cumsum`` along a leading axis is about 30 times slower).
_ROW_ELEMENTS = 1 << 14
#: Worker threads over chunks: numpy releases the GIL inside its loops.
_THREADS = max(1, min(4, os.cpu_count() or 1))


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
    """Input spike steps of images for ``network`` (see :func:`encode_steps`)."""
    steps = encode_steps(pixels, network.encoding, dt=network.dt, steps=network.steps)
    if steps.shape[1] != network.layers[0].n_in:
        raise ValueError(f"inputs have {steps.shape[1]} values per sample, the network takes "
                         f"{network.layers[0].n_in}")
    return steps


def encode_steps(pixels, encoding, *, dt, steps):
    """Input spike steps of images under ``encoding`` on the grid of ``dt`` and ``steps``.

    Parameters
    ----------
    pixels : array [batch, ...] of uint8 (0..255) or floats in [0, 1]; flattened per sample

    Pixel ``x`` spikes at time ``tau_in * (1 - x)``, rounded to the nearest step (halves up);
    times at or beyond ``K`` steps, pixels below ``encoding.threshold`` and pixels equal to 0
    when ``zero_silent`` give ``K``. With ``encoding.pixels`` only those pixels are inputs.
    """
    pixels = np.asarray(pixels)
    x = pixels.astype(np.float64) / 255.0 if pixels.dtype == np.uint8 else pixels.astype(np.float64)
    x = x.reshape(len(x), -1)
    if x.size and (np.isnan(x).any() or x.min() < 0 or x.max() > 1):
        raise ValueError("pixel values must lie in [0, 1] (or be uint8)")
    if encoding.pixels is not None:
        if encoding.pixels[-1] >= x.shape[1]:
            raise ValueError(f"the encoding selects pixel {encoding.pixels[-1]}, the images "
                             f"have {x.shape[1]}")
        x = x[:, list(encoding.pixels)]
    K = steps
    out = np.floor(encoding.tau_in * (1.0 - x) / dt + 0.5).astype(np.int64)
    out = np.minimum(out, K)
    silent = x < encoding.threshold
    if encoding.zero_silent:
        silent |= x == 0
    out[silent] = K
    return out


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
    n_out, n_in = weight.shape
    in_steps = np.asarray(in_steps, dtype=np.int64)
    batch = len(in_steps)
    span = max(int(np.abs(weight).sum(axis=1).max(initial=0)), 1) * (steps + 1) * 2
    dtype = np.int32 if span + threshold < (1 << 31) else np.int64
    padded = np.zeros((n_in + 1, n_out), dtype=dtype)
    padded[:n_in] = weight.T
    fire = np.full((batch, n_out), steps, dtype=np.int64)
    potential = np.zeros((batch, n_out), dtype=np.int64)
    updates = np.zeros(batch, dtype=np.int64)
    delivered = in_steps <= steps - 2
    active = delivered.sum(axis=1)
    by_activity = np.argsort(active, kind="stable")
    per_chunk = max(1, _ROW_ELEMENTS // n_out)
    chunks = [by_activity[i:i + per_chunk] for i in range(0, batch, per_chunk)]

    def run(rows):
        width = max(int(active[rows].max()), 1)
        return _run_chunk(padded, threshold, steps, in_steps[rows], delivered[rows], width)

    slope_lo = slope_hi = 0
    with ThreadPoolExecutor(max_workers=_THREADS) as pool:
        for rows, (f, v, u, lo, hi) in zip(chunks, pool.map(run, chunks)):
            fire[rows], potential[rows], updates[rows] = f, v, u
            slope_lo, slope_hi = min(slope_lo, lo), max(slope_hi, hi)
    synops = _count_synops(in_steps, delivered, fire, steps)
    return fire, potential, synops, updates, (slope_lo, slope_hi)


def _run_chunk(padded, threshold, K, in_steps, delivered, width):
    """Evaluate the piecewise-linear potential interval by interval.

    Sorted delivered input steps ``s_0 <= s_1 <= ...`` cut the window into intervals
    ``[s_g + 1, e_g]`` with ``e_g = s_{g+1}`` (the last ends at ``K - 1``). On interval ``g``
    the slope ``S_g`` is constant, so ``v(e_g) = v(e_{g-1}) + S_g (e_g - s_g)``. The
    potential is continuous across interval ends, so the neuron fires in the first interval
    whose end value reaches the threshold, where ``S_g > 0``; intervals of equal input steps
    are empty and repeat the previous end value. Arrays are ``[interval, sample, neuron]``.
    """
    n_in = padded.shape[0] - 1
    dtype = padded.dtype
    key = np.where(delivered, in_steps, K)
    order = np.argsort(key, axis=1, kind="stable")[:, :width]
    s = np.take_along_axis(key, order, axis=1)
    order = np.where(s < K, order, n_in).T
    s = np.minimum(s, K - 1).T.astype(dtype)
    end = np.concatenate([s[1:], np.full((1, s.shape[1]), K - 1, dtype=dtype)])
    length = end - s
    slope = padded[order]
    _prefix_sum(slope)
    v_end = slope * length[:, :, None]
    _prefix_sum(v_end)
    reached = v_end >= threshold
    _running_or(reached)
    first = width - reached.sum(axis=0, dtype=np.int32)
    fired = first < width
    at = np.where(fired, first, width - 1)
    sample = np.arange(s.shape[1])[:, None]
    neuron = np.arange(slope.shape[2])
    slope_at = slope[at, sample, neuron].astype(np.int64)
    v_at = v_end[at, sample, neuron].astype(np.int64)
    end_at = end[at, sample].astype(np.int64)
    back = (v_at - threshold) // np.where(fired, slope_at, 1)
    fire = np.where(fired, end_at - back, K)
    last = np.minimum(fire, K - 1)
    v = v_at - slope_at * (end_at - last)
    # every step from the first arrival to `last` updates, except where the slope is zero
    arrival = s[0].astype(np.int64)[:, None] + 1
    updates = np.maximum(last - arrival + 1, 0)
    stalled = slope == 0
    stalled &= (length > 0)[:, :, None]
    g, b, i = np.unravel_index(np.flatnonzero(stalled), stalled.shape)
    zero = np.minimum(end[g, b], last[b, i]) - s[g, b]
    zero = np.where(g <= at[b, i], np.maximum(zero, 0), 0)
    updates = updates.sum(axis=1)
    np.subtract.at(updates, b, zero)
    return fire, v, updates, int(slope.min()), int(slope.max())


def _prefix_sum(array):
    """In-place cumulative sum along the first axis, one contiguous vector add per row."""
    rows = array.reshape(len(array), -1)
    for g in range(1, len(rows)):
        np.add(rows[g - 1], rows[g], out=rows[g])


def _running_or(array):
    """In-place cumulative OR along the first axis (``argmax`` along it is slower)."""
    rows = array.reshape(len(array), -1)
    for g in range(1, len(rows)):
        np.bitwise_or(rows[g - 1], rows[g], out=rows[g])


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


@dataclass(frozen=True)
class Evaluation:
    """Accuracy and mean event counts of a data set run through the simulator.

    Members
    -------
    samples : number of samples
    accuracy : fraction of predictions equal to the labels
    prediction : int64 [samples]
    spikes, synops, membrane_updates : float lists [L + 1], per-sample means per layer
    steps : K
    """

    samples: int
    accuracy: float
    prediction: np.ndarray
    spikes: list
    synops: list
    membrane_updates: list
    steps: int


def evaluate(network, pixels, labels, *, batch_size=1000):
    """Encode ``pixels``, simulate them in batches, and score the predictions against ``labels``."""
    labels = np.asarray(labels)
    if len(labels) != len(pixels) or len(labels) == 0:
        raise ValueError(f"need the same non-zero number of samples and labels, not "
                         f"{len(pixels)} and {len(labels)}")
    predictions = []
    totals = {name: np.zeros(len(network.layers) + 1) for name in ("spikes", "synops",
                                                                     "membrane_updates")}
    for start in range(0, len(labels), batch_size):
        trace = simulate(network, encode(network, pixels[start:start + batch_size]))
        predictions.append(trace.prediction)
        for name, total in totals.items():
            total += getattr(trace, name).sum(axis=0)
    prediction = np.concatenate(predictions)
    n = len(labels)
    return Evaluation(samples=n, accuracy=float((prediction == labels).mean()),
                      prediction=prediction, steps=network.steps,
                      **{name: (total / n).tolist() for name, total in totals.items()})


def _check_width(what, lo, hi, bits):
    if lo < -(1 << (bits - 1)) or hi > (1 << (bits - 1)) - 1:
        raise OverflowError(f"{what} reached [{lo}, {hi}], beyond its {bits}-bit register")
