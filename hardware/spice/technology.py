"""The technology the analog neuron is built in: supply, membrane, time scale, MOSFET models.

Mapping from the integer model (see :mod:`mapping.reference`) to the circuit, per layer of
integer threshold ``theta``:

* one model step lasts ``dt_s`` seconds; an input spike at step ``s`` switches its synapse
  on at ``t = (s + 1) * dt_s`` and it stays on until the neuron fires or the window ends;
* the membrane capacitor ``c_mem_F`` is fixed (1 pF by default) and rests at
  ``v_rest_V``; the comparator fires ``v_swing_V`` above rest; the charge to fire is
  ``c_mem_F * v_swing_V`` plus what the devices on the membrane node take over that swing;
* a weight ``w`` becomes a current ``w * I_unit`` (sourcing for ``w > 0``, sinking for
  ``w < 0``) with ``I_unit = Q_fire / (theta * dt_s)`` (:meth:`Technology.i_unit_A`);
* below rest the membrane holds ``floor_thresholds()`` thresholds before the sinking
  sources leave saturation at ``v_floor_V``.

The MOSFET models are SPICE level-1 (Shichman-Hodges) cards written for this project, with
the junction and overlap capacitances of a published 0.18 um extraction;
:data:`GENERIC_180NM_MODELS` documents where each parameter comes from (see also
``docs/spice.md``).
"""
import math
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class MosModel:
    """A level-1 MOSFET model card.

    Members
    -------
    name : model name in the deck
    polarity : ``"nmos"`` or ``"pmos"``
    vto_V : zero-bias threshold voltage (negative for PMOS)
    kp_A_per_V2 : transconductance parameter ``mu * C_ox``
    lambda_per_V : channel-length modulation (output conductance) for the length it is used at
    gamma_sqrtV : body-effect coefficient
    phi_V : surface potential
    tox_m : gate-oxide thickness (gives the Meyer gate capacitances)
    cgso_F_per_m, cgdo_F_per_m : gate-source / gate-drain overlap capacitance per width
    cgbo_F_per_m : gate-bulk overlap capacitance per length
    cj_F_per_m2, mj : zero-bias bottom junction capacitance per area, grading coefficient
    cjsw_F_per_m, mjsw : zero-bias sidewall junction capacitance per perimeter, grading
    pb_V : junction built-in potential
    js_A_per_m2 : junction saturation current per diffusion area (so a junction's leakage
        scales with its area; without it level 1 gives every junction 1e-14 A)
    """

    name: str
    polarity: str
    vto_V: float
    kp_A_per_V2: float
    lambda_per_V: float
    gamma_sqrtV: float = 0.4
    phi_V: float = 0.8
    tox_m: float = 4.1e-9
    cgso_F_per_m: float = 8.58e-10
    cgdo_F_per_m: float = 8.58e-10
    cgbo_F_per_m: float = 1e-12
    cj_F_per_m2: float = 9.47e-4
    mj: float = 0.373
    cjsw_F_per_m: float = 1.91e-10
    mjsw: float = 0.137
    pb_V: float = 0.8
    js_A_per_m2: float = 1e-4

    def __post_init__(self):
        if self.polarity not in ("nmos", "pmos"):
            raise ValueError(f"polarity must be 'nmos' or 'pmos', not {self.polarity!r}")
        if (self.vto_V > 0) != (self.polarity == "nmos"):
            raise ValueError(f"{self.name}: vto_V {self.vto_V} has the wrong sign for "
                             f"{self.polarity}")
        for key in ("kp_A_per_V2", "tox_m"):
            if not getattr(self, key) > 0:
                raise ValueError(f"{self.name}: {key} must be positive, not {getattr(self, key)}")

    def parameters(self):
        """The card's parameters as SPICE keywords (for ``Circuit.model``)."""
        return {"level": 1, "vto": self.vto_V, "kp": self.kp_A_per_V2,
                "lambda": self.lambda_per_V, "gamma": self.gamma_sqrtV, "phi": self.phi_V,
                "tox": self.tox_m, "cgso": self.cgso_F_per_m, "cgdo": self.cgdo_F_per_m,
                "cgbo": self.cgbo_F_per_m, "cj": self.cj_F_per_m2, "mj": self.mj,
                "cjsw": self.cjsw_F_per_m, "mjsw": self.mjsw, "pb": self.pb_V,
                "js": self.js_A_per_m2}

    def junction_charge_C(self, reverse_V, area_m2, perimeter_m):
        """Depletion charge of a drain junction of ``area_m2`` and ``perimeter_m`` at
        reverse bias ``reverse_V`` (the SPICE junction model integrated from zero bias:
        ``C(V) = C0 / (1 + V / pb)^m``)."""
        def part(c0, m):
            return c0 * self.pb_V / (1 - m) * ((1 + reverse_V / self.pb_V) ** (1 - m) - 1)
        return (part(self.cj_F_per_m2 * area_m2, self.mj)
                + part(self.cjsw_F_per_m * perimeter_m, self.mjsw))

    def gate_drive_V(self, current_A, w_m, l_m, vds_V, vsb_V=0.0):
        """``|V_GS|`` at which a saturated device of ``w_m/l_m`` carries ``current_A``
        with ``|V_DS| = vds_V`` and ``|V_SB| = vsb_V`` (level-1 square law with ``lambda``
        and the body effect)."""
        if current_A <= 0:
            raise ValueError(f"current_A must be positive, not {current_A}")
        beta = self.kp_A_per_V2 * w_m / l_m
        overdrive = math.sqrt(2.0 * current_A / (beta * (1.0 + self.lambda_per_V * vds_V)))
        body = self.gamma_sqrtV * (math.sqrt(self.phi_V + vsb_V) - math.sqrt(self.phi_V))
        return abs(self.vto_V) + body + overdrive

    def overdrive_V(self, current_A, w_m, l_m):
        """Overdrive of a saturated device carrying ``current_A`` (ignoring ``lambda``)."""
        return math.sqrt(2.0 * current_A / (self.kp_A_per_V2 * w_m / l_m))


#: Generic 0.18 um CMOS, level 1. Not a foundry model: the DC numbers are the textbook
#: figures of that node. t_ox = 4.1 nm gives C_ox = 8.4 fF/um^2; with low-field mobilities of
#: about 330 (electrons) and 85 (holes) cm^2/Vs, KP = mu*C_ox = 280 and 70 uA/V^2; |V_T0| =
#: 0.45 V at V_DD = 1.8 V. Channel-length modulation scales as 1/L: lambda = 0.04 um/V / L,
#: so 0.2 /V at the minimum L = 0.18 um (switches, logic), 0.08 /V at L = 0.5 um (cascodes)
#: and 0.01 /V at L = 4 um (current sources). Capacitances (overlap CGSO/CGDO/CGBO, junction
#: CJ/MJ/CJSW/MJSW/PB) are those of the MOSIS wafer-test BSIM3v3 extraction of TSMC 0.18 um
#: (NMOS CJ 0.947 fF/um^2, MJ 0.373, CJSW 0.191 fF/um, MJSW 0.137, PB 0.8, CGDO 0.858 fF/um;
#: PMOS CJ 1.21 fF/um^2, MJ 0.419, CJSW 0.217 fF/um, MJSW 0.320, PB 0.846, CGDO 0.782 fF/um),
#: see docs/spice.md.
_N_CAPS = {}
_P_CAPS = {"cgso_F_per_m": 7.82e-10, "cgdo_F_per_m": 7.82e-10, "cj_F_per_m2": 1.214e-3,
           "mj": 0.419, "cjsw_F_per_m": 2.166e-10, "mjsw": 0.320, "pb_V": 0.846}
GENERIC_180NM_MODELS = (
    MosModel("nsw", "nmos", 0.45, 280e-6, 0.2, **_N_CAPS),
    MosModel("psw", "pmos", -0.45, 70e-6, 0.2, **_P_CAPS),
    MosModel("ncas", "nmos", 0.45, 280e-6, 0.08, **_N_CAPS),
    MosModel("pcas", "pmos", -0.45, 70e-6, 0.08, **_P_CAPS),
    MosModel("ncs", "nmos", 0.45, 280e-6, 0.01, **_N_CAPS),
    MosModel("pcs", "pmos", -0.45, 70e-6, 0.01, **_P_CAPS),
)

_POSITIVE = ("vdd_V", "c_mem_F", "dt_s", "v_swing_V", "v_floor_V", "edge_s", "reset_s",
             "readout_s", "c_load_F", "i_tail_A", "l_min_m", "w_min_m", "l_diff_m", "l_cs_m",
             "w_cs_m", "l_cas_m", "w_cas_m", "w_spike_m", "w_reset_m", "cascode_margin_V",
             "w_pair_m", "l_pair_m", "w_mirror_m", "l_mirror_m")


@dataclass(frozen=True)
class Technology:
    """Everything the netlist builders need besides the neuron itself. SI units.

    Members
    -------
    name : a label recorded in every result
    vdd_V : supply voltage
    c_mem_F : the membrane capacitor (a MIM capacitor of fixed size, the same in every layer)
    dt_s : physical length of one model step
    v_rest_V : membrane voltage after reset
    v_swing_V : threshold voltage above rest (the comparator fires at v_rest_V + v_swing_V)
    v_floor_V : the lowest membrane voltage at which the sinking sources stay saturated;
        potentials below ``-floor_thresholds() * theta`` are clipped
    edge_s : rise/fall time of the input spike and reset edges
    reset_s : how long the membrane and latch are held in reset at the start (< dt_s)
    readout_s : the window closes (the latch can no longer set) this long after model time
        ``K - 1``, when the synapses stop: the comparator's and latch's time to decide on a
        crossing in the last instant (< dt_s)
    c_load_F : comparator output load of the behavioral level
    i_tail_A : comparator bias current of each of its two stages (transistor level)
    models : level-1 MOSFET models ``nsw``, ``psw`` (min length), ``ncas``, ``pcas``
        (cascodes), ``ncs``, ``pcs`` (long current sources)
    l_min_m, w_min_m : length and width of logic devices
    l_diff_m : length of a contacted source/drain diffusion (gives AD/AS/PD/PS)
    l_cs_m, w_cs_m : length and width of one unit current-source device of a DAC branch
    l_cas_m, w_cas_m : length and width of a synapse's output cascode (one per DAC)
    w_spike_m : width of the spike switch of one unit current source (a DAC branch's switch
        is scaled with its units)
    w_reset_m : width of the two devices of the membrane's reset transmission gate
    cascode_margin_V : how far the current-source device sits beyond the edge of saturation
    w_pair_m, l_pair_m : the comparator's NMOS input pair (its offset:
        :func:`hardware.spice.mismatch.comparator_offset_V`)
    w_mirror_m, l_mirror_m : the comparator's PMOS mirror load
    characterization_threshold : integer threshold at which per-event energies are measured
    """

    name: str = "generic-180nm"
    vdd_V: float = 1.8
    c_mem_F: float = 1e-12
    dt_s: float = 100e-9
    v_rest_V: float = 1.1
    v_swing_V: float = 0.25
    v_floor_V: float = 0.4
    edge_s: float = 1e-9
    reset_s: float = 50e-9
    readout_s: float = 10e-9
    c_load_F: float = 10e-15
    i_tail_A: float = 2e-6
    models: tuple = GENERIC_180NM_MODELS
    l_min_m: float = 0.18e-6
    w_min_m: float = 0.5e-6
    l_diff_m: float = 0.48e-6
    l_cs_m: float = 8e-6
    w_cs_m: float = 0.22e-6
    l_cas_m: float = 0.5e-6
    w_cas_m: float = 1e-6
    w_spike_m: float = 0.22e-6
    w_reset_m: float = 0.22e-6
    cascode_margin_V: float = 0.1
    w_pair_m: float = 1e-6
    l_pair_m: float = 0.18e-6
    w_mirror_m: float = 1e-6
    l_mirror_m: float = 0.18e-6
    characterization_threshold: int = 256

    def __post_init__(self):
        for key in _POSITIVE:
            value = getattr(self, key)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{key} must be a positive number, not {value!r}")
        if not 0 < self.v_floor_V < self.v_rest_V < self.v_fire_V < self.vdd_V:
            raise ValueError(f"need 0 < v_floor_V < v_rest_V < v_rest_V + v_swing_V < vdd_V, "
                             f"got v_floor_V={self.v_floor_V}, v_rest_V={self.v_rest_V}, "
                             f"v_swing_V={self.v_swing_V}, vdd_V={self.vdd_V}")
        if not self.edge_s < self.reset_s < self.dt_s:
            raise ValueError(f"need edge_s < reset_s < dt_s, got {self.edge_s}, "
                             f"{self.reset_s}, {self.dt_s}")
        if not self.edge_s < self.readout_s < self.dt_s:
            raise ValueError(f"need edge_s < readout_s < dt_s, got {self.edge_s}, "
                             f"{self.readout_s}, {self.dt_s}")
        names = {m.name for m in self.models}
        missing = {"nsw", "psw", "ncas", "pcas", "ncs", "pcs"} - names
        if missing:
            raise ValueError(f"models lack {sorted(missing)}")
        if not (isinstance(self.characterization_threshold, int)
                and self.characterization_threshold >= 1):
            raise ValueError(f"characterization_threshold must be a positive integer, not "
                             f"{self.characterization_threshold!r}")

    @property
    def v_fire_V(self):
        """Comparator reference: the membrane voltage at which the neuron fires."""
        return self.v_rest_V + self.v_swing_V

    def floor_thresholds(self):
        """The floor in thresholds below rest: ``(v_rest_V - v_floor_V) / v_swing_V``."""
        return (self.v_rest_V - self.v_floor_V) / self.v_swing_V

    def model(self, name):
        """The MOSFET model called ``name``."""
        for m in self.models:
            if m.name == name:
                return m
        raise KeyError(f"no MOSFET model {name!r} in technology {self.name}")

    def charge_to_fire_C(self, parasitic_C=0.0):
        """Charge that lifts the membrane from rest to the threshold: the capacitor's
        ``c_mem_F * v_swing_V`` plus ``parasitic_C``, the charge of the junctions and overlaps
        on the membrane node over the same swing (:func:`hardware.spice.netlist.membrane_parasitics`)."""
        return self.c_mem_F * self.v_swing_V + parasitic_C

    def i_unit_A(self, threshold, parasitic_C=0.0):
        """Unit current of a layer of integer ``threshold``: ``theta`` units for one step
        deliver the charge to fire, ``I_unit = Q_fire / (theta * dt_s)``."""
        if threshold < 1:
            raise ValueError(f"threshold must be at least 1, not {threshold}")
        return self.charge_to_fire_C(parasitic_C) / (threshold * self.dt_s)

    def time_s(self, step):
        """Circuit time at which model time ``step`` (possibly fractional) is reached."""
        return (step + 1.0) * self.dt_s

    def step(self, time_s):
        """Model time (in steps) of circuit time ``time_s``: inverse of :meth:`time_s`."""
        return time_s / self.dt_s - 1.0

    def with_(self, **changes):
        """A copy with some fields changed (and checked again)."""
        return replace(self, **changes)

    def to_json(self):
        """A JSON-ready description (recorded in every result and energy model)."""
        doc = {key: getattr(self, key) for key in (
            "name", "v_rest_V", "characterization_threshold") + _POSITIVE}
        doc["models"] = [{"name": m.name, "polarity": m.polarity, **m.parameters()}
                         for m in self.models]
        return doc


#: The default technology: 1.8 V, a 1 pF membrane, 100 ns per step, generic 180 nm.
DEFAULT = Technology()
