"""A differentiable estimate of the analog neuron's energy per inference, for training.

The analog neuron (``docs/spice.md``; per-event model fitted in SPICE by
``hardware.spice.energy_model``, priced over a network by
``hardware.energy.analog_inference_energy``) spends, per neuron of fan-in ``n`` and integer
threshold ``theta`` over one window of ``K`` steps of ``dt_s`` seconds::

    e_idle + p_static dt_s (end + 1)
    + sum over delivered inputs j of  c0 + c1 |w_j| + c2 |w_j| (end - s_j)^+ Q(n) / theta
    + (e_spike + e_spike_per_unit sum_j |w_j|)  if it fired

with one ``(c0, c1, c2)`` per sign of ``w_j`` (``c0`` only for a non-zero weight), ``end``
the firing step (``K - 1`` for a silent neuron), ``s_j`` the input's step (delivered:
``s_j <= K - 2``) and ``Q(n) = charge_fixed_C + n charge_per_input_C``. The ``c2`` term is
the synaptic current times how long it flows: the charge a DAC delivers until its neuron
fires, drawn from the supply.

On the float model (weights ``w``, threshold ``V_th``, window ``t_max``, ``dt = t_max / K``)
the integer quantities are taken as quantization makes them (``mapping.quantize``): per
layer a clip value ``c`` (by default the :data:`CLIP_QUANTILE` of ``|w|``, the one the
calibration picks most often; held fixed for the gradient), ``scale = c / (2^(bits-1) - 1)``,
weight units ``min(|w| / scale, 2^(bits-1) - 1)``, ``theta = V_th / (scale dt)``; so the
``c2`` term is ``c2 Q(n) |w_j| (t_end - t_j)^+ / V_th``, free of the scale. A hidden spike at time
``t`` is the integer step ``ceil(t / dt)``, taken as ``t / dt + 1/2`` (its mean over a
step); an input at ``t`` is the nearest step, ``t / dt``. Events are counted exactly on the
float times; a neuron's firing and a hidden spike's delivery are step functions and get the
straight-through gradient of :mod:`model.energy` (a ``sigmoid`` of the distance to the
cutoff), so the gradient interpolates between a neuron's energy as it fires and as it stays
silent. Silent neurons and input spikes have no time gradient.

The coefficients are plain numbers (:class:`AnalogCoefficients`); ``flow.codesign`` reads
them from an ``analog_energy.json``. :mod:`model` imports nothing of ours.
"""
import math
from dataclasses import dataclass

import torch

#: The order of :meth:`AnalogCoefficients.values` (what ``TrainConfig.energy_analog`` holds).
ANALOG_FIELDS = ("sourcing_c0_J", "sourcing_c1_J", "sourcing_c2_V", "sinking_c0_J",
                 "sinking_c1_J", "sinking_c2_V", "e_spike_J", "e_spike_per_unit_J",
                 "p_static_W", "e_idle_J", "charge_fixed_C", "charge_per_input_C", "dt_s")
#: Where the estimate clips ``|w|`` for its scale of weight units: the quantization's
#: calibration (``mapping.quantize.CLIP_PERCENTILES``) picked the 99.99th percentile for most
#: layers of the trained networks measured in docs/energy.md, 100 for most others.
CLIP_QUANTILE = 0.9999
#: Working tensors ``[pairs, n_in]`` are split to stay below this many elements.
_CHUNK_ELEMENTS = 1 << 23


@dataclass(frozen=True)
class AnalogCoefficients:
    """The analog neuron's per-event energies as plain numbers (SI units).

    Members
    -------
    synop_sourcing, synop_sinking : ``(c0 J, c1 J per weight unit, c2 V)`` of a synapse
        with a positive / negative weight
    e_spike_J, e_spike_per_unit_J : a spike's energy, and its part per weight unit of the
        neuron
    p_static_W : power of a neuron while it waits; e_idle_J : per neuron and window
    charge_fixed_C, charge_per_input_C : ``Q(n) = charge_fixed_C + n charge_per_input_C``
    dt_s : the circuit's time step
    steps : ``K`` of the integer network; weight_bits : its signed weight width
    softness : width of the smooth firing of the gradient, model time units
    """

    synop_sourcing: tuple
    synop_sinking: tuple
    e_spike_J: float
    e_spike_per_unit_J: float
    p_static_W: float
    e_idle_J: float
    charge_fixed_C: float
    charge_per_input_C: float
    dt_s: float
    steps: int = 256
    weight_bits: int = 8
    softness: float = 2.0

    def __post_init__(self):
        for name in ("synop_sourcing", "synop_sinking"):
            values = tuple(float(v) for v in getattr(self, name))
            object.__setattr__(self, name, values)
            if len(values) != 3 or not all(math.isfinite(v) and v >= 0 for v in values):
                raise ValueError(f"{name} must be three non-negative finite numbers "
                                 f"(c0, c1, c2), not {getattr(self, name)!r}")
        for name in ANALOG_FIELDS[6:]:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a non-negative finite number, not {value!r}")
        if self.dt_s <= 0:
            raise ValueError(f"dt_s must be positive, not {self.dt_s}")
        for name, minimum in (("steps", 3), ("weight_bits", 2)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ValueError(f"{name} must be an integer of at least {minimum}, "
                                 f"not {value!r}")
        if not (math.isfinite(self.softness) and self.softness > 0):
            raise ValueError(f"softness must be positive, not {self.softness}")

    def values(self):
        """The per-event energies as a tuple in the order of :data:`ANALOG_FIELDS`."""
        return (*self.synop_sourcing, *self.synop_sinking, self.e_spike_J,
                self.e_spike_per_unit_J, self.p_static_W, self.e_idle_J, self.charge_fixed_C,
                self.charge_per_input_C, self.dt_s)

    @classmethod
    def from_values(cls, values, **options):
        """The coefficients of a tuple in the order of :data:`ANALOG_FIELDS`, with the
        other members (``steps``, ``weight_bits``, ``softness``) as keywords."""
        values = tuple(values)
        if len(values) != len(ANALOG_FIELDS):
            raise ValueError(f"expected {len(ANALOG_FIELDS)} values "
                             f"({', '.join(ANALOG_FIELDS)}), not {len(values)}")
        return cls(values[0:3], values[3:6], *values[6:], **options)

    def estimate_pJ(self, times, weights, *, t_max, threshold, scales=None):
        """:func:`estimate_pJ` with these coefficients."""
        return estimate_pJ(times, weights, self, t_max=t_max, threshold=threshold,
                           scales=scales)


def _fired(times, cutoff, softness):
    """Per neuron, 1 if it spiked by ``cutoff``: exact value, smooth gradient."""
    hard = (times <= cutoff).to(times.dtype)
    if not times.requires_grad:
        return hard
    safe = torch.where(torch.isfinite(times), times, torch.full_like(times, cutoff + 1e3))
    soft = torch.sigmoid((cutoff - safe) / softness)
    return hard + (soft - soft.detach())


def _input_steps(times, first, K, dt, softness):
    """(steps, delivered) of a layer's input times: the encoding's nearest step for the
    network's inputs (data: no gradient), ``t / dt + 1/2`` for hidden spikes; delivered
    up to step ``K - 2`` (hidden: with the smooth gradient of :func:`_fired`)."""
    safe = torch.where(torch.isfinite(times), times, torch.zeros_like(times))
    if first:
        return (safe / dt).detach(), (times < (K - 1.5) * dt).to(times.dtype).detach()
    return safe / dt + 0.5, _fired(times, (K - 2) * dt, softness)


def _charge_steps(weight, delivered, steps_in, end, neurons):
    """``sum_j delivered_j w_j (end_i - s_j)^+`` per sample and neuron ``[batch, n_out]``
    for non-negative ``weight`` ``[n_out, n_in]`` (the charge in weight-unit steps),
    computed for the (sample, neuron) pairs where ``neurons`` is true, 0 elsewhere."""
    rows, cols = torch.nonzero(neurons, as_tuple=True)
    chunk = max(1, _CHUNK_ELEMENTS // weight.shape[1])
    values = []
    for start in range(0, len(rows), chunk):
        r, o = rows[start:start + chunk], cols[start:start + chunk]
        on = torch.relu(end[r, o][:, None] - steps_in[r]) * delivered[r]
        values.append((on * weight[o]).sum(dim=1))
    out = end.new_zeros(end.shape)
    return out.index_put((rows, cols), torch.cat(values)) if values else out


def layer_energy_J(inputs, output_times, weight, coefficients, *, t_max, threshold,
                   scale=None):
    """Estimated analog energy of one layer's neurons per sample ``[batch]``, J.

    ``inputs`` is ``(steps, delivered)`` of the layer's inputs ``[batch, n_in]`` (a silent
    input: any finite step, delivered 0), ``output_times`` the layer's spike times,
    ``scale`` the float weight of one integer unit (None: the :data:`CLIP_QUANTILE` of
    ``|w|`` over ``2^(bits-1) - 1``).
    """
    c = coefficients
    K, dt = c.steps, t_max / c.steps
    n_out, n_in = weight.shape
    steps_in, delivered = inputs
    top = 2 ** (c.weight_bits - 1) - 1
    if scale is None:
        with torch.no_grad():
            clip = torch.quantile(weight.detach().abs().flatten().double(), CLIP_QUANTILE)
            scale = float(clip.clamp_min(1e-30)) / top
    units = torch.clamp(weight.abs() / scale, max=top)  # clipped weights saturate
    positive, negative = (weight > 0).to(weight.dtype), (weight < 0).to(weight.dtype)
    nonzero = (units >= 0.5).to(weight.dtype)  # the weights that do not round to 0
    switch = (nonzero * (c.synop_sourcing[0] * positive + c.synop_sinking[0] * negative)
              + units * (c.synop_sourcing[1] * positive + c.synop_sinking[1] * negative))
    energy = n_out * c.e_idle_J + delivered @ switch.sum(dim=0)
    charge_per_step = (c.charge_fixed_C + n_in * c.charge_per_input_C) * dt / threshold
    finite = torch.isfinite(output_times)
    end_fire = torch.clamp(torch.where(finite, output_times, torch.zeros_like(output_times))
                           / dt + 0.5, max=K - 1)
    fire = c.p_static_W * c.dt_s * (end_fire + 1)
    silent = torch.full_like(end_fire, c.p_static_W * c.dt_s * K)
    for (_, _, c2), mask in ((c.synop_sourcing, positive), (c.synop_sinking, negative)):
        if c2 > 0:
            w = weight.abs() * mask
            # only where the neuron spiked at all: elsewhere the fired branch weighs 0
            fire = fire + c2 * charge_per_step * _charge_steps(w, delivered, steps_in,
                                                               end_fire, finite)
            # silent: every delivered input (step <= K - 2) flows until K - 1, two products
            silent = silent + c2 * charge_per_step * (
                (K - 1) * (delivered @ w.T) - (delivered * steps_in) @ w.T)
    per_neuron = (fire, silent)
    spike = c.e_spike_J + c.e_spike_per_unit_J * units.sum(dim=1)
    fired = _fired(output_times, (K - 1) * dt, c.softness)
    return energy + (fired * (per_neuron[0] + spike) + (1 - fired) * per_neuron[1]).sum(dim=1)


def estimate_pJ(times, weights, coefficients, *, t_max, threshold, scales=None):
    """Estimated analog energy per inference ``[batch]``, pJ, differentiable in the spike
    times and the weights.

    Parameters
    ----------
    times : the spike times of every layer, input first (``TTFSNetwork.forward``)
    weights : the layers' weights ``[n_out, n_in]``, input side first
    coefficients : :class:`AnalogCoefficients`
    t_max, threshold : the float model's window and firing threshold ``V_th``
    scales : per layer, the float weight of one integer unit when the quantization is known
        (an integer network's ``V_th / (theta dt)``); None: the clip value
        :data:`CLIP_QUANTILE` of ``|w|`` over ``2^(bits-1) - 1`` (the quantization
        calibrates its clip per layer; training cannot know which it will pick)
    """
    if len(times) != len(weights) + 1:
        raise ValueError(f"{len(weights)} weight matrices for the times of {len(times)} "
                         f"layers (input first)")
    scales = [None] * len(weights) if scales is None else list(scales)
    if len(scales) != len(weights):
        raise ValueError(f"{len(scales)} scales for {len(weights)} layers")
    K, dt = coefficients.steps, t_max / coefficients.steps
    total = 0.0
    for index, (weight, scale) in enumerate(zip(weights, scales)):
        inputs = _input_steps(times[index], index == 0, K, dt, coefficients.softness)
        total = total + layer_energy_J(inputs, times[index + 1], weight, coefficients,
                                       t_max=t_max, threshold=threshold, scale=scale)
    return total * 1e12
