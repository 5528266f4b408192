"""Area estimate of the analog neuron: devices and capacitor per synapse and per neuron.

Counted from the transistor-level circuit of :mod:`hardware.spice.netlist` (its cells in
:mod:`hardware.spice.cells`), with layout densities that are assumptions (see
``docs/spice.md``, "Area"), not a layout:

* a MOSFET occupies ``(L + 2 l_diff) * (W + 2 * GATE_EXTENSION_M)`` of active area and poly
  end caps, times :data:`ROUTING_OVERHEAD` for wells, spacing and wiring;
* the membrane capacitor is a MIM capacitor of :data:`MIM_F_PER_M2` (it can sit above the
  transistors, but is counted in full here);
* each weight bit is a 6T SRAM cell of :data:`SRAM_BIT_M2`.

A synapse has two DACs (sourcing, sinking) of ``2^(bits-1) - 1`` unit sources, each with
its own spike switch (a branch's switch scales with its units), each DAC an output cascode
and ``bits - 1`` branch-select switches, plus ``bits`` weight bits. A neuron adds its
capacitor, comparator (8 devices and an inverter), window gate (an
inverter and a NOR2), latch (two NOR2), reset gate and bias-line gates and buffers (counted
for the largest bias gates, one per 32 weight units of each polarity).
"""
from .cells import BIAS_UNITS_PER_GATE
from .technology import DEFAULT

#: Poly extension beyond the active area on each side of a gate (m).
GATE_EXTENSION_M = 0.22e-6
#: Layout area over the sum of device footprints (wells, spacing, contacts, wiring).
ROUTING_OVERHEAD = 2.0
#: MIM capacitance per area (F/m^2): 1 fF/um^2.
MIM_F_PER_M2 = 1e-3
#: Area of one 6T SRAM bit cell (m^2): 5 um^2.
SRAM_BIT_M2 = 5e-12


def device_m2(w_m, l_m, tech=DEFAULT):
    """Footprint of one MOSFET with its overhead (m^2)."""
    return ROUTING_OVERHEAD * (l_m + 2 * tech.l_diff_m) * (w_m + 2 * GATE_EXTENSION_M)


def synapse(weight_bits, tech=DEFAULT):
    """``{"transistors", "area_m2"}`` of one synapse of ``weight_bits`` signed bits."""
    if not isinstance(weight_bits, int) or weight_bits < 2:
        raise ValueError(f"weight_bits must be an integer of at least 2, not {weight_bits!r}")
    units = (1 << (weight_bits - 1)) - 1
    per_dac = (units * device_m2(tech.w_cs_m, tech.l_cs_m, tech)
               + units * device_m2(tech.w_spike_m, tech.l_min_m, tech)
               + device_m2(tech.w_cas_m, tech.l_cas_m, tech)
               + (weight_bits - 1) * device_m2(tech.w_min_m, tech.l_min_m, tech))
    transistors = 2 * (2 * units + 1 + weight_bits - 1) + 6 * weight_bits
    return {"transistors": transistors,
            "area_m2": 2 * per_dac + weight_bits * SRAM_BIT_M2}


def neuron(n_in, weight_bits, tech=DEFAULT):
    """Area of one neuron with ``n_in`` synapses: its own circuit, its synapses, the total."""
    if n_in < 1:
        raise ValueError(f"n_in must be at least 1, not {n_in}")
    wn, wp, l = tech.w_min_m, 4 * tech.w_min_m, tech.l_min_m
    inverter = device_m2(wn, l, tech) + device_m2(wp, l, tech)
    comparator = (2 * device_m2(tech.w_pair_m, tech.l_pair_m, tech)
                  + 2 * device_m2(tech.w_mirror_m, tech.l_mirror_m, tech)
                  + 3 * device_m2(2 * wn, l, tech) + device_m2(4 * wn, l, tech) + inverter)
    # the window gate (an inverter and a NOR) and the latch (two NORs); a NOR2 has the
    # devices of two inverters
    latch = inverter + 2 * inverter + 2 * 2 * inverter
    reset = device_m2(tech.w_reset_m, l, tech) * 2
    max_units = n_in * ((1 << (weight_bits - 1)) - 1)
    gates = 2 * -(-max_units // BIAS_UNITS_PER_GATE) + 1
    bias = gates * 2 * device_m2(20 * wn, l, tech) + 3 * gates * inverter
    capacitor = tech.c_mem_F / MIM_F_PER_M2
    own = {"capacitor_m2": capacitor, "comparator_latch_reset_m2": comparator + latch + reset,
           "bias_gates_m2": bias}
    syn = synapse(weight_bits, tech)
    own_total = sum(own.values())
    return {**own, "synapses_m2": n_in * syn["area_m2"], "synapse_m2": syn["area_m2"],
            "synapse_transistors": syn["transistors"],
            "total_m2": own_total + n_in * syn["area_m2"]}
