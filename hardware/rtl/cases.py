"""Random integer networks and inputs for testing and benchmarking the hardware.

Each network is drawn so that its neurons are neither all silent nor all firing at once:
the threshold is set from a quantile of the potentials the reference simulator reaches on
random inputs. Everything is seeded, so a case is reproduced by its parameters.
"""
from dataclasses import dataclass

import numpy as np

from mapping import reference
from mapping.network import IntLayer, IntNetwork

__all__ = ["CaseSpec", "random_network", "random_inputs"]


@dataclass(frozen=True)
class CaseSpec:
    """Parameters of a random case.

    Members
    -------
    sizes : neurons per layer, input first
    weight_bits : signed weight width
    steps : K
    lanes : lanes per core (int, or one per computing layer)
    max_neurons : neurons per core in the allocation (smaller splits layers)
    seed : seed of the weights and inputs
    extremes : put the most negative and the most positive weight into every layer
    silent : an output threshold so high that no output neuron can fire (the prediction then
        comes from the potentials)
    input_rate : fraction of inputs that spike
    """

    sizes: tuple
    weight_bits: int = 4
    steps: int = 8
    lanes: object = 1
    max_neurons: int = 256
    seed: int = 0
    extremes: bool = False
    silent: bool = False
    input_rate: float = 0.5


def random_inputs(n_in, steps, batch, rng, rate=0.5):
    """Input spike steps [batch, n_in]: each input spikes with probability ``rate`` at a
    uniform step in [0, K - 1], otherwise ``K``."""
    spiking = rng.random((batch, n_in)) < rate
    return np.where(spiking, rng.integers(0, steps, (batch, n_in)), steps).astype(np.int64)


def random_network(spec):
    """A random :class:`~mapping.network.IntNetwork` for ``spec`` (deterministic)."""
    rng = np.random.default_rng(spec.seed)
    lo, hi = -(1 << (spec.weight_bits - 1)), (1 << (spec.weight_bits - 1)) - 1
    layers = []
    probe = random_inputs(spec.sizes[0], spec.steps, 16, rng, spec.input_rate)
    last = len(spec.sizes) - 2
    for index, (n_in, n_out) in enumerate(zip(spec.sizes, spec.sizes[1:])):
        weight = rng.integers(lo // 2, hi + 1, (n_out, n_in))
        if spec.extremes:
            weight.flat[rng.choice(weight.size, min(2, weight.size), replace=False)] = [lo, hi][
                :min(2, weight.size)]
        if spec.silent and index == last:
            threshold = hi * n_in * spec.steps + 1
        else:
            potential = _potential_at(weight, probe, spec.steps)
            threshold = max(1, int(np.quantile(potential, 0.6)))
        layer = IntLayer(weight, threshold)
        layers.append(layer)
        probe = reference.run_layer(layer.weight, threshold, spec.steps, probe)[0]
    return IntNetwork(layers=tuple(layers), weight_bits=spec.weight_bits, steps=spec.steps)


def _potential_at(weight, in_steps, steps):
    """Potentials without firing at the end of the window: sum_j w_ij * max(0, K-1 - s_j)."""
    ramp = np.maximum(0, steps - 1 - in_steps)
    return ramp @ weight.T
