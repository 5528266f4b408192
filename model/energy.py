"""A differentiable estimate of the digital core's energy per inference, for training.

The digital core (``docs/rtl.md``; its accesses are counted by ``mapping.access`` and priced
by ``hardware.digital_energy``) does per inference a fixed amount of work (each step it reads,
updates and writes back every group of every layer: state traffic, potential adds and
threshold compares, the decoder's compares, leakage over ``K`` steps) plus, for every spike
of layer ``l`` that is delivered, a cost ``spike_pJ[l]`` (for ``l`` below the output: one
weight-word read and ``lanes`` slope adds per group of layer ``l + 1``, the spike-list write
and its reads, the cycles it adds times the leakage power; for the output layer: its list
write and read). So, per sample::

    E = fixed_pJ + sum_l spike_pJ[l] * N_l

with ``N_l`` the spikes of layer ``l`` that the core delivers: input and hidden spikes at
steps up to ``K - 2`` (a spike on the last step is never delivered), output spikes up to
``K - 1``. The core reads a whole word of ``lanes`` weights per delivered spike and group
whether or not the target neurons have fired, so the energy does not depend on which
targets fired; only on how many spikes are delivered.

The coefficients are computed outside this package (``flow.codesign.energy_coefficients``,
from ``hardware.costs``) and arrive as plain numbers: :mod:`model` imports nothing of ours.

``N_l`` is a count, a step function of the spike times. Its value here is the exact count
on the float spike times; its gradient is that of a smooth count (straight-through): a
fired neuron counts ``sigmoid((cutoff - t_i) / softness)``, which falls from 1 to 0 as the
spike moves past the end of the window, so the gradient moves spikes later and into
silence, each weighted by what a spike of its layer costs. Silent neurons have no gradient
(as in M-SSR and F-SSR); input spikes are data and have none either.
"""
import math
from dataclasses import dataclass

import torch

#: The loss adds ``energy_weight`` times the estimate in this unit (pJ per microjoule).
PJ_PER_UJ = 1e6


@dataclass(frozen=True)
class EnergyCoefficients:
    """What the digital core spends per inference, as plain numbers (pJ).

    Members
    -------
    spike_pJ : per layer, input first: energy of one delivered spike of that layer
    fixed_pJ : energy of an inference without any spike
    steps : time steps ``K`` of the integer network the coefficients were computed for
        (sets the delivery cutoffs ``(K - 2) t_max / K`` and ``(K - 1) t_max / K``)
    softness : width of the smooth count of the gradient, model time units
    """

    spike_pJ: tuple
    fixed_pJ: float
    steps: int = 256
    softness: float = 2.0

    def __post_init__(self):
        values = tuple(float(v) for v in self.spike_pJ)
        object.__setattr__(self, "spike_pJ", values)
        if len(values) < 2 or not all(math.isfinite(v) and v >= 0 for v in values):
            raise ValueError(f"spike_pJ must hold a non-negative finite energy per layer "
                             f"(input first, at least 2), not {self.spike_pJ!r}")
        if not (math.isfinite(self.fixed_pJ) and self.fixed_pJ >= 0):
            raise ValueError(f"fixed_pJ must be non-negative and finite, not {self.fixed_pJ}")
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 3:
            raise ValueError(f"steps must be an integer of at least 3, not {self.steps!r}")
        if not (math.isfinite(self.softness) and self.softness > 0):
            raise ValueError(f"softness must be positive, not {self.softness}")

    def estimate_pJ(self, times, weights=None, *, t_max, threshold=None):
        """:func:`estimate_pJ` (the digital energy depends on the spike times only; the
        weights and threshold are taken, and ignored, like the analog estimate's)."""
        return estimate_pJ(times, self, t_max=t_max)


def _count(times, cutoff, softness):
    """Per sample, the spikes at or before ``cutoff``: exact value, smooth gradient."""
    fired = times <= cutoff
    hard = fired.to(times.dtype).sum(dim=1)
    if not times.requires_grad:
        return hard
    safe = torch.where(torch.isfinite(times), times, torch.full_like(times, cutoff + 1e3))
    soft = torch.sigmoid((cutoff - safe) / softness).sum(dim=1)
    return hard + (soft - soft.detach())


def spike_counts(times, coefficients, *, t_max):
    """Delivered spikes per layer and sample ``[batch, L + 1]`` (see the module docstring).

    ``times`` are the spike times of every layer, input first (``TTFSNetwork.forward``).
    """
    if len(times) != len(coefficients.spike_pJ):
        raise ValueError(f"energy coefficients are for {len(coefficients.spike_pJ)} layers "
                         f"(input first), the network has {len(times)}")
    dt = t_max / coefficients.steps
    counts = []
    for index, layer_times in enumerate(times):
        last = coefficients.steps - (1 if index == len(times) - 1 else 2)
        if index == 0:
            # input times are rounded to the nearest step: step <= last <=> t < (last + 0.5) dt
            counts.append((layer_times < (last + 0.5) * dt).to(layer_times.dtype).sum(dim=1))
        else:
            counts.append(_count(layer_times, last * dt, coefficients.softness))
    return torch.stack(counts, dim=1)


def estimate_pJ(times, coefficients, *, t_max):
    """Estimated digital energy per inference ``[batch]``, pJ, differentiable in the times."""
    counts = spike_counts(times, coefficients, t_max=t_max)
    weights = counts.new_tensor(coefficients.spike_pJ)
    return coefficients.fixed_pJ + counts @ weights
