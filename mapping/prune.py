"""Structural pruning of an integer network: inputs and hidden neurons the core would carry
for nothing.

Two passes, each exact on the samples it is given (the pruned network emits the same spike
steps in every remaining neuron and the same prediction on them, checked in
``tests/mapping/test_mapping_prune.py``); on other samples it may differ, so its cost is
measured on the test set (``ttfs quantize --prune-inputs --prune-dead``):

* :func:`prune_inputs` drops inputs with no non-zero weight (never exact to lose: their
  spikes add nothing) and inputs that are never delivered on the samples (a pixel that is
  0 or below the input threshold on every one of them). The encoding keeps the indices of
  the remaining pixels (:attr:`mapping.network.InputEncoding.pixels`), so every stage that
  encodes images through :func:`mapping.reference.encode` feeds the pruned network, and the
  RTL's input port shrinks to the remaining inputs.
* :func:`prune_dead` drops hidden neurons that never deliver a spike on the samples (silent,
  or firing only on the last step, which is never delivered) or have no non-zero outgoing
  weight, with their row of weights and their column in the next layer, last hidden layer
  first (a neuron whose only targets were removed has no fan-out left). A layer keeps at
  least one neuron (an integer network has no empty layer).

Removing a neuron removes its groups' share of the state sweep, weight reads and state
words; removing an input removes its weight words. Thresholds and scales are unchanged;
register widths are derived again from the remaining weights.
"""
import dataclasses

import numpy as np

from . import reference
from .network import IntLayer, IntNetwork


def _network(network, weights, encoding, meta):
    layers = tuple(IntLayer(w, layer.threshold, layer.weight_scale)
                   for w, layer in zip(weights, network.layers))
    return IntNetwork(layers=layers, weight_bits=network.weight_bits, steps=network.steps,
                      dt=network.dt, encoding=encoding, meta=meta)


def _keep_one(alive):
    """At least one index of a layer survives (the first), so no layer is empty."""
    if not alive.any():
        alive = alive.copy()
        alive[0] = True
    return alive


def prune_inputs(network, input_steps=None):
    """Drop inputs without fan-out and, with ``input_steps`` ([samples, n_in] from
    :func:`mapping.reference.encode`), inputs never delivered on those samples.

    Returns ``(network, kept)``: the pruned :class:`IntNetwork` and the kept input indices.
    """
    first = network.layers[0].weight
    alive = (first != 0).any(axis=0)
    if input_steps is not None:
        steps = np.asarray(input_steps)
        if steps.ndim != 2 or steps.shape[1] != first.shape[1]:
            raise ValueError(f"input_steps must have shape [samples, {first.shape[1]}], not "
                             f"{steps.shape}")
        alive &= (steps <= network.steps - 2).any(axis=0)
    kept = np.flatnonzero(_keep_one(alive))
    pixels = network.encoding.pixels
    pixels = np.arange(first.shape[1]) if pixels is None else np.asarray(pixels)
    encoding = dataclasses.replace(network.encoding, pixels=tuple(int(p) for p in pixels[kept]))
    weights = [first[:, kept]] + [layer.weight for layer in network.layers[1:]]
    meta = {**network.meta, "pruned_inputs": int(first.shape[1] - len(kept))}
    return _network(network, weights, encoding, meta), kept


def _delivered(network, input_steps, chunk=5000):
    """Per hidden layer, which neurons deliver a spike on any sample (in chunks of samples,
    so that the traces of a whole training split need not be held at once)."""
    delivered = [np.zeros(n, dtype=bool) for n in network.sizes[1:-1]]
    for start in range(0, len(input_steps), chunk):
        trace = reference.simulate(network, input_steps[start:start + chunk])
        for hidden, seen in enumerate(delivered):
            seen |= (trace.spike_steps[hidden + 1] <= network.steps - 2).any(axis=0)
    return delivered


def prune_dead(network, input_steps):
    """Drop hidden neurons that deliver no spike on the samples ``input_steps`` or have no
    non-zero outgoing weight.

    Returns ``(network, kept)``: the pruned :class:`IntNetwork` and, per hidden layer, the
    kept neuron indices.
    """
    delivered = _delivered(network, input_steps)
    weights = [layer.weight for layer in network.layers]
    kept = [None] * (len(weights) - 1)
    for hidden in reversed(range(len(weights) - 1)):
        fan_out = (weights[hidden + 1] != 0).any(axis=0)
        kept[hidden] = np.flatnonzero(_keep_one(delivered[hidden] & fan_out))
        weights[hidden] = weights[hidden][kept[hidden]]
        weights[hidden + 1] = weights[hidden + 1][:, kept[hidden]]
    removed = [int(layer.n_out - len(k)) for layer, k in zip(network.layers, kept)]
    meta = {**network.meta, "pruned_neurons": removed}
    return _network(network, weights, network.encoding, meta), kept
