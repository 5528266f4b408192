"""The per-event energies that energy-aware training needs, taken from the report's own
cost model, and the estimate's check against the report.

:func:`energy_coefficients` prices a network shape with the digital core's access model
(:func:`mapping.access.count_accesses`) and the cost table (:mod:`hardware.costs`, priced by
:func:`hardware.digital_energy.price`) and returns the plain numbers of
:class:`model.energy.EnergyCoefficients`:

* ``fixed_pJ``: the priced energy of an inference in which nothing spikes on a core that
  updates every group in every step (``count_accesses(..., skip_idle=False)``: every group's
  state word read and written and its lanes updated and compared on every step, the
  decoder's compares, leakage over ``K * G_max + 3`` cycles);
* ``spike_pJ[l]`` for a layer ``l`` below the output: what one delivered spike adds, per
  ``docs/rtl.md``: for every core ``c`` of layer ``l + 1`` (``g_c`` groups) ``g_c`` weight-word
  reads, ``lanes * g_c`` slope adds and ``g_c`` writes of the register that carries a
  group's slopes (the carried potentials, written once per group and step with spikes, are
  left out: an under-estimate, smaller than the two upper bounds below); one spike-list entry written and read once per group
  pass (``G = max g_c`` times); and ``G`` more cycles of the step, priced at the design's
  leakage power. For the output layer: its list entry written and read once.

The default core drops the updates of groups that cannot fire (docs/rtl.md, "Skipping
groups that cannot fire"), so its state traffic depends on when which neuron can fire; the
estimate prices the core without that skipping, an upper bound of the default core's
energy (tests/flow/test_codesign.py checks both). :func:`skipping_saving_pJ` is what the
skipping saves on given events (the access model priced with and without it), so that
``estimate - saving`` estimates the default core; :func:`float_events` gives a float
model's events for it. :func:`analog_values` reads the analog neuron's per-event energies
(``analog_energy.json``) for the analog energy term (``model.energy_analog``). Two more approximations, both upper
bounds, measured in docs/energy.md: an entry per spike
(the core writes one entry per (step, group) with a spike, so two spikes of one group on
one step share it), and cycles added per layer (layers run in lockstep, so a step lasts as
long as its slowest layer, not the sum of them). Register widths, which set the state word
and the adders, come from a quantized network when one is given, else from
:func:`default_widths`.
"""
from types import SimpleNamespace

import numpy as np

from hardware import costs as cost_tables
from hardware.digital_energy import DEFAULT_BANK_BYTES, estimate_logic_cells, price
from mapping import access, reference
from mapping.allocation import CoreLimits, allocate
from mapping.network import IntLayer, IntNetwork, RegisterWidths, register_widths
from model.energy import EnergyCoefficients
from model.network import parse_arch

__all__ = ["analog_values", "default_widths", "energy_coefficients", "estimate_from_trace",
           "float_events", "skipping_saving_pJ", "with_energy_coefficients"]

J_TO_PJ = 1e12


def default_widths(sizes, weight_bits, steps):
    """Register widths of trained networks, by a rule fitted to the quantized MNIST networks
    of docs/energy.md (784-100-10 to 784-400-400-400-10, 8-bit, ``K = 64``: exact for 11 of
    their 14 layers, one bit narrower for the others): per layer of ``n_in`` inputs, the
    slope ``weight_bits + ceil(log2(n_in)) - 3`` bits and the potential ``ceil(log2(K))``
    more (it accumulates the slope over up to ``K`` steps)."""
    widths = []
    for n_in in sizes[:-1]:
        slope = max(2, weight_bits + int(np.ceil(np.log2(max(n_in, 2)))) - 3)
        widths.append(RegisterWidths(slope, slope + int(np.ceil(np.log2(steps)))))
    return tuple(widths)


def _priced_shape(sizes, *, lanes, bank_bytes, weight_bits, steps, costs, limits, widths):
    """The core priced for a silent inference of a network of ``sizes``."""
    layers = tuple(IntLayer(np.zeros((n_out, n_in), dtype=np.int64), 1)
                   for n_in, n_out in zip(sizes[:-1], sizes[1:]))
    network = IntNetwork(layers=layers, weight_bits=weight_bits, steps=steps, widths=widths)
    allocation = allocate(network, limits)
    silent = np.full((1, sizes[0]), steps, dtype=np.int64)
    trace = reference.simulate(network, silent)
    per_layer = access.lanes_per_layer(lanes, len(layers))
    counts = access.count_accesses(network, allocation, trace, lanes=per_layer,
                                   skip_idle=False)
    cells, source = estimate_logic_cells(network, allocation, list(per_layer))
    priced = price(counts, costs, bank_bytes=bank_bytes, logic_cells=cells, logic_source=source)
    return network, allocation, per_layer, priced


def energy_coefficients(arch, *, lanes=8, bank_bytes=DEFAULT_BANK_BYTES, weight_bits=8,
                        steps=256, costs=None, limits=CoreLimits(), network=None,
                        softness=2.0):
    """:class:`model.energy.EnergyCoefficients` of the digital core for a network shape.

    Parameters
    ----------
    arch : layer sizes (``"784-400-10"`` or a sequence), input first
    lanes, bank_bytes : the core (as ``ttfs energy --lanes --bank-bytes``)
    weight_bits, steps : the integer network's weight width and ``K``
    costs : a :class:`hardware.costs.CostTable` (default: the 45 nm table)
    limits : the cores' :class:`mapping.allocation.CoreLimits`
    network : a quantized :class:`mapping.network.IntNetwork` of this shape whose register
        widths to use (default: :func:`default_widths`)
    softness : see :class:`model.energy.EnergyCoefficients`
    """
    sizes = parse_arch(arch)
    costs = cost_tables.load_costs() if costs is None else costs
    widths = default_widths(sizes, weight_bits, steps) if network is None else network.widths
    if network is not None and network.sizes != list(sizes):
        raise ValueError(f"network has sizes {network.sizes}, not the arch {list(sizes)}")
    _, allocation, per_layer, priced = _priced_shape(
        sizes, lanes=lanes, bank_bytes=bank_bytes, weight_bits=weight_bits, steps=steps,
        costs=costs, limits=limits, widths=widths)
    items = {item.name: item for item in priced.items}
    per_cycle_J = priced.static_W["nominal"] * float(priced.latency_s[0] / priced.cycles[0])
    spike = []
    for l in range(len(sizes)):
        entry = items[f"l{l}.spikes"]
        if l == len(sizes) - 1:
            spike.append((entry.write_J + entry.read_J) * J_TO_PJ)
            continue
        groups = access.core_groups(allocation, l, per_layer[l])
        # per group: the weight word, the slope adds and the carried slopes written (the
        # carried potentials, written once per group pass of a step with spikes, are left
        # out: a step's spikes share them)
        deliver = 0.0
        for c, g in enumerate(groups):
            name = f"l{l + 1}.c{c}"
            deliver += g * (items[f"{name}.weight"].read_J
                            + per_layer[l] * items[f"{name}.slope_add"].read_J
                            + items[f"{name}.carry_slope"].read_J
                            + items[f"{name}.carry_slope"].write_J)
        passes = max(groups)
        spike.append((deliver + entry.write_J + passes * (entry.read_J + per_cycle_J))
                     * J_TO_PJ)
    return EnergyCoefficients(tuple(spike), float(priced.total_J()[0]) * J_TO_PJ,
                              steps=steps, softness=softness)


def analog_values(path):
    """The per-event energies of the analog neuron's model in ``path`` (an
    ``analog_energy.json`` of ``ttfs spice``, or its folder), as the tuple
    ``TrainConfig.energy_analog`` holds (:data:`model.energy_analog.ANALOG_FIELDS`)."""
    from hardware.spice import energy_model

    model = energy_model.load(path)
    return (*model.synop_sourcing, *model.synop_sinking, model.e_spike_J,
            model.e_spike_per_unit_J, model.p_static_W, model.e_idle_J, model.charge_fixed_C,
            model.charge_per_input_C, float(model.technology["dt_s"]))


def with_energy_coefficients(config, *, costs=None):
    """``config`` (a :class:`model.train.TrainConfig`) with its digital energy coefficients
    computed from its ``energy_lanes``, ``energy_bank_bytes``, ``energy_weight_bits`` and
    ``energy_steps`` when ``energy_weight > 0``, the target is digital and none are set;
    else ``config`` itself. Raises ``ValueError`` for an analog target without
    ``energy_analog`` (they come from a file: :func:`analog_values`)."""
    from dataclasses import replace

    if config.energy_weight > 0 and config.energy_target == "analog" \
            and not config.energy_analog:
        raise ValueError("--energy-target analog needs the analog neuron's energies: pass "
                         "--energy-analog-model FILE (an analog_energy.json of `ttfs spice`)")
    if config.energy_weight == 0 or config.energy_spike_pJ or config.energy_target != "digital":
        return config
    found = energy_coefficients(config.arch, lanes=config.energy_lanes,
                                bank_bytes=config.energy_bank_bytes,
                                weight_bits=config.energy_weight_bits, steps=config.energy_steps,
                                costs=costs, softness=config.energy_softness)
    return replace(config, energy_spike_pJ=found.spike_pJ, energy_fixed_pJ=found.fixed_pJ)


def estimate_from_trace(coefficients, trace):
    """The estimate of :mod:`model.energy` on an integer :class:`mapping.reference.Trace`,
    pJ per sample (float64 [samples]): the delivered spikes counted from the spike steps."""
    K = trace.steps
    if K != coefficients.steps:
        raise ValueError(f"the coefficients are for K = {coefficients.steps}, the trace has {K}")
    last = len(trace.spike_steps) - 1
    counts = np.stack([(steps <= K - (1 if l == last else 2)).sum(axis=1)
                       for l, steps in enumerate(trace.spike_steps)], axis=1)
    return coefficients.fixed_pJ + counts @ np.asarray(coefficients.spike_pJ)


def float_events(weights, times, *, weight_bits, steps, t_max, threshold=1.0):
    """The events of a float model as the integer network would have them, for
    :func:`skipping_saving_pJ`: per layer an :class:`mapping.network.IntLayer` (weights
    rounded on the scale ``max |w| / (2^(bits - 1) - 1)``, no clipping, threshold
    ``V_th / (scale dt)`` rounded), and the spike steps of ``times`` (input first; inputs to
    the nearest step, spikes to ``ceil(t / dt)``, ``steps`` for none or after the window).

    ``weights`` and ``times`` are NumPy arrays or CPU tensors; ``threshold`` is ``V_th``.
    """
    from mapping.quantize import time_to_step

    dt = t_max / steps
    top = 2 ** (weight_bits - 1) - 1
    layers = []
    for w in weights:
        w = np.asarray(w, dtype=np.float64)
        scale = np.abs(w).max() / top
        layers.append(IntLayer(np.rint(w / scale).astype(np.int64),
                               max(1, int(round(threshold / (scale * dt))))))
    first = np.asarray(times[0], dtype=np.float64)
    inputs = np.where(np.isfinite(first), np.rint(first / dt), steps)
    spike_steps = [np.clip(inputs, 0, steps).astype(np.int64)]
    spike_steps += [time_to_step(np.asarray(t, dtype=np.float64), dt, steps) for t in times[1:]]
    return layers, spike_steps


def skipping_saving_pJ(layers, spike_steps, *, steps, lanes=8, bank_bytes=DEFAULT_BANK_BYTES,
                       weight_bits=8, costs=None, limits=CoreLimits(), widths=None):
    """What the default core saves per sample by skipping the updates of groups that cannot
    fire (docs/rtl.md), against the core without skipping that :func:`energy_coefficients`
    prices, pJ (float64 [samples]): the access model (:func:`mapping.access.count_accesses`)
    priced with and without skipping on the same events, so the saving follows whatever
    the core skips. ``estimate - saving`` is the estimate of the default core.

    Parameters
    ----------
    layers : the :class:`mapping.network.IntLayer` of each computing layer (what the core
        skips depends on the weights and thresholds): an integer network's, or a float
        model's as :func:`float_events` rounds them
    spike_steps : per layer (input first) int [samples, n], ``steps`` for no spike: a
        trace's, or a float model's (:func:`float_events`)
    steps : ``K``
    lanes, bank_bytes, weight_bits, costs, limits : the core, as for
        :func:`energy_coefficients`
    widths : the register widths (default: :func:`default_widths` of ``weight_bits``),
        widened where the layers need more
    """
    sizes = [layers[0].n_in] + [layer.n_out for layer in layers]
    costs = cost_tables.load_costs() if costs is None else costs
    widths = default_widths(sizes, weight_bits, steps) if widths is None else widths
    # a float model's rounded layers may need a bit more than the rule gives
    widths = tuple(RegisterWidths(max(w.slope_bits, need.slope_bits),
                                  max(w.potential_bits, need.potential_bits))
                   for w, need in ((w, register_widths(l.weight, l.threshold, steps))
                                   for w, l in zip(widths, layers)))
    network = IntNetwork(layers=tuple(layers), weight_bits=weight_bits, steps=steps,
                         widths=widths)
    allocation = allocate(network, limits)
    trace = SimpleNamespace(spike_steps=tuple(np.asarray(s, dtype=np.int64)
                                              for s in spike_steps), steps=steps)
    per_layer = access.lanes_per_layer(lanes, len(layers))
    cells, source = estimate_logic_cells(network, allocation, list(per_layer))
    totals = [price(access.count_accesses(network, allocation, trace, lanes=per_layer,
                                          skip_idle=skip), costs, bank_bytes=bank_bytes,
                    logic_cells=cells, logic_source=source).total_J()
              for skip in (False, True)]
    return (totals[0] - totals[1]) * J_TO_PJ
