"""Sizing of the transistor-level neuron: bias voltages from the level-1 square law, the
charge the membrane node's devices take, the unit current, the per-layer :class:`Trim`, and
where an open synapse's DAC nodes rest.
"""
from dataclasses import dataclass

import numpy as np

from .cells import num
from .technology import DEFAULT


def bias_voltages(tech, i_unit_A, max_units=1):
    """Ideal bias voltages (level-1 square law with ``lambda`` and body effect):

    ``vbp``/``vbn`` set ``i_unit_A`` in the PMOS/NMOS unit source devices, saturated with
    ``cascode_margin_V`` to spare; ``vcp``/``vcn`` are the gates of the synapse cascodes that
    hold the DAC's node there while the largest synapse (``max_units`` units) conducts (a
    smaller one needs less gate drive, so its DAC node sits deeper in saturation); ``vbt``
    sets the comparator tail current ``i_tail_A``. The spike switch between DAC and cascode
    drops well under a millivolt at these currents and is neglected."""
    w, l = tech.w_cs_m, tech.l_cs_m
    wc, lc = tech.w_cas_m, tech.l_cas_m
    v_mid = tech.v_rest_V + tech.v_swing_V / 2
    i_max = max(1, int(max_units)) * i_unit_A
    pcs, ncs, nsw = tech.model("pcs"), tech.model("ncs"), tech.model("nsw")
    pcas, ncas = tech.model("pcas"), tech.model("ncas")
    vsd = pcs.overdrive_V(i_unit_A, w, l) + tech.cascode_margin_V
    x_p = tech.vdd_V - vsd
    vcp = x_p - pcas.gate_drive_V(i_max, wc, lc, x_p - v_mid, vsb_V=vsd)
    vds = ncs.overdrive_V(i_unit_A, w, l) + tech.cascode_margin_V
    vcn = vds + ncas.gate_drive_V(i_max, wc, lc, v_mid - vds, vsb_V=vds)
    return {"vbp": num(tech.vdd_V - pcs.gate_drive_V(i_unit_A, w, l, vsd)),
            "vcp": num(vcp),
            "vbn": num(ncs.gate_drive_V(i_unit_A, w, l, vds)),
            "vcn": num(vcn),
            "vbt": num(nsw.gate_drive_V(tech.i_tail_A, 2 * tech.w_min_m, tech.l_min_m, 0.5))}


def neuron_bias_voltages(neuron, tech=DEFAULT, trim=None):
    """:func:`bias_voltages` of ``neuron``: its unit current and its largest weight; with a
    :class:`Trim`, each polarity's source bias set for the unit current divided by the
    ratio the calibration measured (measured / designed current)."""
    max_units = int(np.abs(neuron.weights).max(initial=1))
    i_unit = neuron_unit_current_A(neuron, tech, trim)
    bias = bias_voltages(tech, i_unit, max_units)
    if trim is not None:
        for pol, ratio in (("p", trim.source_ratio), ("n", trim.sink_ratio)):
            bias[f"vb{pol}"] = bias_voltages(tech, i_unit / ratio, max_units)[f"vb{pol}"]
    return bias


def membrane_parasitics(neuron, tech=DEFAULT):
    """Charge (C) that the devices on the membrane node take as it rises from rest to the
    threshold: the drain junctions and gate-drain overlaps of both output cascodes of every
    synapse (each synapse has a sourcing and a sinking DAC), of the reset switch and of the
    comparator input. The junctions follow the SPICE depletion model of the cards, the
    overlaps are linear (their gates sit on a bias or a rail)."""
    n_in = len(neuron.weights)
    lo, hi = tech.v_rest_V, tech.v_fire_V
    area = lambda w: w * tech.l_diff_m  # noqa: E731
    perim = lambda w: 2 * (w + tech.l_diff_m)  # noqa: E731
    charge = 0.0
    for model, w, count in (("ncas", tech.w_cas_m, n_in), ("pcas", tech.w_cas_m, n_in),
                            ("nsw", tech.w_reset_m, 1), ("psw", tech.w_reset_m, 1),
                            ("nsw", tech.w_pair_m, 1)):
        card = tech.model(model)
        if card.polarity == "nmos":
            q = (card.junction_charge_C(hi, area(w), perim(w))
                 - card.junction_charge_C(lo, area(w), perim(w)))
        else:
            q = (card.junction_charge_C(tech.vdd_V - lo, area(w), perim(w))
                 - card.junction_charge_C(tech.vdd_V - hi, area(w), perim(w)))
        charge += count * (q + card.cgdo_F_per_m * w * (hi - lo))
    return charge


def neuron_unit_current_A(neuron, tech=DEFAULT, trim=None):
    """The unit current of ``neuron`` at the transistor level: ``theta`` unit-steps deliver
    the charge that takes the membrane from rest to the threshold: ``trim.charge_C``
    (a :class:`Trim`, measured by :mod:`hardware.spice.calibration`), by default estimated
    as the capacitor's plus :func:`membrane_parasitics`."""
    if trim is None:
        charge = tech.charge_to_fire_C(membrane_parasitics(neuron, tech))
    else:
        charge = trim.charge_C
    return charge / (neuron.threshold * tech.dt_s)


@dataclass(frozen=True)
class Trim:
    """The per-layer trims of the transistor level (what a chip trims once per layer).

    Members
    -------
    charge_C : charge from rest to the threshold, sets the unit current
    comparator_offset_V : the comparator's reference sits this far below the threshold: the
        static overdrive its finite gain needs before the latch sets (on any ramp)
    comparator_delay_s : the comparator's and latch's delay once that overdrive is reached:
        a time, so it is trimmed as one (every spike driver switches this much earlier), not
        as a voltage, which would be worth more time on a slower ramp
    source_ratio, sink_ratio : measured over designed unit current of the sourcing and the
        sinking DACs with the untrimmed biases (a chip trims each polarity's bias)
    source_advance_s, sink_advance_s : the spike drivers of each polarity switch this much
        earlier besides: the time a DAC's cascode node takes to reach its working point
        (the charge it keeps, over the DAC's current)
    """

    charge_C: float
    comparator_offset_V: float = 0.0
    comparator_delay_s: float = 0.0
    source_ratio: float = 1.0
    sink_ratio: float = 1.0
    source_advance_s: float = 0.0
    sink_advance_s: float = 0.0

    def advance_s(self, sinking):
        """How much earlier than ``(s + 1) dt_s`` the spike drivers of the sinking (or
        sourcing) DACs switch."""
        return self.comparator_delay_s + (self.sink_advance_s if sinking
                                          else self.source_advance_s)


def dac_rest_voltages(bias, tech):
    """Where an open synapse's DAC nodes rest, per polarity ``(x, s)``: after the previous
    window the switched sources ``s`` and the cascode's source ``x`` have fallen (risen)
    until the unit sources and the cascode cut off. Without these initial conditions the
    operating point leaves the floating nodes anywhere (at ground), and the unit current
    then spends steps recharging them."""
    start = {}
    for pol, sign, rail in (("p", -1.0, tech.vdd_V), ("n", 1.0, 0.0)):
        cs, cas = tech.model(f"{pol}cs"), tech.model(f"{pol}cas")
        s, x = rail, rail
        for _ in range(20):   # fixed point of the body effect: V_SB = |rail - node|
            s = bias[f"vb{pol}"] - sign * cs.gate_drive_V(1e-30, 1, 1, 0, abs(rail - s))
            x = bias[f"vc{pol}"] - sign * cas.gate_drive_V(1e-30, 1, 1, 0, abs(rail - x))
        start[pol] = (x, s)
    return start

