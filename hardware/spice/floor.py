"""The integer network with the analog membrane's floor: how much a finite swing below rest
changes a trained network.

The circuit's membrane cannot sink below ``v_floor_V``: there the sinking current sources
leave saturation and their current stops. In units of the threshold the floor is
``-F * theta`` with ``F = (v_rest_V - v_floor_V) / v_swing_V``
(:meth:`hardware.spice.technology.Technology.floor_thresholds`). Because every input spike
arrives on an integer step, the slope is constant over each step, and the clipped ramp is
exact on the integer grid:

    v(0) = 0,  v(k + 1) = max(-F theta, v(k) + S(k)),  S(k) = sum of w_j with s_j <= k

(a decreasing step ends on the floor if it reaches it; an increasing one is linear from
wherever it starts). The neuron fires at the first ``k <= K - 1`` with ``v(k) >= theta``,
like :func:`mapping.reference.run_layer`, which this equals for ``F = inf``.
"""
import numpy as np

from mapping import reference


def run_layer(weight, threshold, steps, in_steps, floor_thresholds):
    """Firing steps ``[batch, n_out]`` (``K`` = silent) and potentials at ``K - 1`` of one
    layer whose membrane is clipped at ``-floor_thresholds * threshold``. Weights may be
    real (:mod:`hardware.spice.mismatch`), and ``threshold`` one per neuron."""
    w = np.asarray(weight, dtype=np.float64)
    s = np.asarray(in_steps, dtype=np.int64)
    if floor_thresholds <= 0:
        raise ValueError(f"floor_thresholds must be positive, not {floor_thresholds}")
    threshold = np.asarray(threshold, dtype=np.float64)
    floor = -float(floor_thresholds) * threshold
    batch, n_out = len(s), len(w)
    # slope increments per sample and step: each delivered input adds its weight column
    increments = np.zeros((batch, steps, n_out))
    for b in range(batch):
        delivered = s[b] <= steps - 2
        np.add.at(increments[b], s[b][delivered], w.T[delivered])
    slope = np.cumsum(increments, axis=1)
    v = np.zeros((batch, n_out))
    fire = np.full((batch, n_out), steps, dtype=np.int64)
    for k in range(steps):
        if k:
            v = np.maximum(floor, v + slope[:, k - 1])
        fire[(v >= threshold) & (fire == steps)] = k
    return fire, v


def simulate(network, input_steps, floor_thresholds):
    """Spike steps of every layer and the predictions of ``network`` with a clipped
    membrane; returns ``(spike_steps tuple, prediction)`` like :func:`mapping.reference.simulate`
    (whose potentials, for the output layer's fallback decoding, are those at ``K - 1``)."""
    spikes = [np.asarray(input_steps, dtype=np.int64)]
    v = None
    for layer in network.layers:
        fire, v = run_layer(layer.weight, layer.threshold, network.steps, spikes[-1],
                            floor_thresholds)
        spikes.append(fire)
    prediction = reference.decode(spikes[-1], v, network.steps)
    return tuple(spikes), prediction


def compare(network, input_steps, labels, floor_thresholds):
    """How the floor changes ``network`` on ``input_steps``: per layer the share of neuron
    firing steps that differ from the unclipped reference, and both accuracies."""
    ref = reference.simulate(network, input_steps)
    spikes, prediction = simulate(network, input_steps, floor_thresholds)
    labels = np.asarray(labels)
    return {
        "floor_thresholds": float(floor_thresholds),
        "samples": int(len(labels)),
        "changed_spikes_per_layer": [float(np.mean(a != b)) for a, b in
                                     zip(ref.spike_steps[1:], spikes[1:])],
        "earlier_spikes_per_layer": [float(np.mean(b < a)) for a, b in
                                     zip(ref.spike_steps[1:], spikes[1:])],
        "reference_accuracy": float(np.mean(ref.prediction == labels)),
        "floor_accuracy": float(np.mean(prediction == labels)),
    }


def crossing_step(weights, input_steps, threshold, steps, floor_thresholds):
    """First crossing of ``threshold`` (model steps, ``math.inf`` if none by ``K - 1``) of
    one neuron whose ramp is clipped at ``-floor_thresholds * threshold``: the clipped
    potential on the grid, then the linear segment of the step in which it crosses."""
    w = np.asarray(weights, dtype=np.float64)
    s = np.asarray(input_steps, dtype=np.int64)
    floor = -float(floor_thresholds) * threshold
    v = slope = 0.0
    for k in range(steps - 1):
        slope += float(w[(s == k) & (k <= steps - 2)].sum())
        if v + slope >= threshold:
            return k + (threshold - v) / slope
        v = max(floor, v + slope)
    return float("inf")
