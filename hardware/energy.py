"""Energy per inference from event counts and per-event costs.

The energy of one inference is, per computing layer ``l`` (1 = first hidden layer)::

    E_l = synops[l] * e_synop[l] + membrane_updates[l] * e_update[l] + spikes[l] * e_spike[l]

summed over layers, plus ``static_power_W * latency_cycles / clock_Hz`` for the whole core.
The counts are those of :mod:`mapping.reference` (design section 3); they are never
re-derived here. The per-event energies come from one of two places:

* the digital core: :meth:`EventEnergies.from_costs` prices each event with a
  :class:`CostTable` of published per-operation energies (default: Horowitz, ISSCC 2014,
  45 nm, in ``hardware/costs/horowitz_45nm.json``)::

      e_synop[l]  = one weight read + one add of slope_bits
      weight read = E(64-bit read of the smallest SRAM in the table that holds one core's
                    weights of layer l) / floor(64 / weight_bits)   (64-bit words, packed)
      e_update[l] = two adds of potential_bits  (v += slope, and the comparison v >= theta)
      e_spike[l]  = 0  (a spike costs the weight reads it causes downstream)

  where an add of ``b`` bits is priced as the narrowest published adder of at least ``b``
  bits, so no figure is interpolated;
* the analog neuron: energies measured in SPICE, passed in as an :class:`EventEnergies`.

Only NumPy: :mod:`hardware` never imports torch.
"""
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

COSTS_SCHEMA_VERSION = 1
DEFAULT_COSTS = Path(__file__).parent / "costs" / "horowitz_45nm.json"

#: Adder entries of a cost table, by the widest operand they price.
ADDERS = {"add_8b_J": 8, "add_32b_J": 32}
#: SRAM read entries (one 64-bit word), by the capacity in bytes of the memory read.
SRAM_READS = {"sram_read_64b_8KB_J": 8 << 10, "sram_read_64b_32KB_J": 32 << 10,
              "sram_read_64b_1MB_J": 1 << 20}
#: Every entry a cost table must have, and nothing else.
COST_KEYS = tuple(ADDERS) + tuple(SRAM_READS) + ("static_power_W", "clock_Hz")
SRAM_WORD_BITS = 64


class CostTableError(ValueError):
    """A cost table is missing an entry, names an unknown one, or has a bad value."""


@dataclass(frozen=True)
class Cost:
    """One figure of a cost table.

    Members
    -------
    value : the figure in the SI unit its key ends with (``_J``, ``_W``, ``_Hz``)
    node_nm : technology node the figure was published for, in nanometres
    source : where the figure comes from (publication and table), never empty
    """

    value: float
    node_nm: float
    source: str


@dataclass(frozen=True)
class CostTable:
    """Per-operation costs of a digital implementation, each with its source and node.

    Parameters
    ----------
    name : a short name of the table
    costs : mapping of each key of :data:`COST_KEYS` to a :class:`Cost`

    Raises
    ------
    CostTableError
        for a missing or unknown key, a value that is not a finite number, a negative
        value (a zero clock), a node that is not positive, or an empty source.
    """

    name: str
    costs: dict

    def __post_init__(self):
        unknown = sorted(set(self.costs) - set(COST_KEYS))
        if unknown:
            raise CostTableError(f"unknown operation {unknown[0]!r}: a cost table holds "
                                 f"exactly {', '.join(COST_KEYS)}")
        missing = [key for key in COST_KEYS if key not in self.costs]
        if missing:
            raise CostTableError(f"missing operation {missing[0]!r}")
        for key, cost in self.costs.items():
            if not isinstance(cost, Cost):
                raise CostTableError(f"{key}: expected a Cost, not {type(cost).__name__}")
            if (isinstance(cost.value, bool) or not isinstance(cost.value, (int, float))
                    or not math.isfinite(cost.value)):
                raise CostTableError(f"{key}: value must be a finite number, not {cost.value!r}")
            if cost.value < 0 or (key == "clock_Hz" and cost.value == 0):
                raise CostTableError(f"{key}: value must be {'positive' if key == 'clock_Hz' else 'non-negative'}, "
                                     f"not {cost.value!r}")
            if (isinstance(cost.node_nm, bool) or not isinstance(cost.node_nm, (int, float))
                    or not cost.node_nm > 0):
                raise CostTableError(f"{key}: node_nm must be a positive number, "
                                     f"not {cost.node_nm!r}")
            if not isinstance(cost.source, str) or not cost.source.strip():
                raise CostTableError(f"{key}: missing source (say where the figure comes from)")

    def __getitem__(self, key):
        return self.costs[key].value

    @classmethod
    def from_json(cls, doc, *, origin="cost table"):
        """Build a table from its JSON document; ``origin`` names it in error messages."""
        if not isinstance(doc, dict) or doc.get("schema_version") != COSTS_SCHEMA_VERSION:
            found = doc.get("schema_version") if isinstance(doc, dict) else None
            raise CostTableError(f"{origin}: schema_version {found!r}, this version reads "
                                 f"{COSTS_SCHEMA_VERSION}")
        entries = doc.get("costs")
        if not isinstance(entries, dict):
            raise CostTableError(f"{origin}: no \"costs\" object")
        costs = {}
        for key, entry in entries.items():
            if not isinstance(entry, dict) or "value" not in entry:
                raise CostTableError(f"{origin}: {key}: expected an object with value, node_nm "
                                     f"and source")
            costs[key] = Cost(entry["value"], entry.get("node_nm"), entry.get("source"))
        try:
            return cls(name=str(doc.get("name", origin)), costs=costs)
        except CostTableError as exc:
            raise CostTableError(f"{origin}: {exc}") from None

    def to_json(self):
        return {"schema_version": COSTS_SCHEMA_VERSION, "name": self.name,
                "costs": {key: {"value": c.value, "node_nm": c.node_nm, "source": c.source}
                          for key, c in self.costs.items()}}


def load_costs(path=None):
    """Read a cost table (default: :data:`DEFAULT_COSTS`).

    Raises
    ------
    CostTableError
        if the file is missing, not JSON, or not a valid table; the message names the file.
    """
    path = Path(path) if path is not None else DEFAULT_COSTS
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise CostTableError(f"{path}: cost table not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CostTableError(f"{path}: not a readable JSON cost table ({exc})") from None
    return CostTable.from_json(doc, origin=str(path))


def _smallest(sizes, need, what):
    """The key of ``sizes`` with the smallest size that is at least ``need``."""
    for key, size in sorted(sizes.items(), key=lambda item: item[1]):
        if need <= size:
            return key
    raise CostTableError(what.format(largest=max(sizes.values())))


def _adder(bits):
    return _smallest(ADDERS, bits, f"a {bits}-bit register is wider than the widest adder in "
                                   "the table ({largest} bits)")


def _sram(capacity_bytes):
    return _smallest(SRAM_READS, capacity_bytes, f"a core's weight memory of {capacity_bytes} "
                     "bytes is larger than the largest SRAM in the table ({largest} bytes)")


@dataclass(frozen=True)
class EventEnergies:
    """Energy per event of one implementation, per computing layer.

    Members
    -------
    synop_J : per layer, energy of one synaptic operation (weight accumulation)
    membrane_update_J : per layer, energy of one ``v += slope`` update
    spike_J : per layer, energy of one spike emitted by the layer
    static_power_W : power drawn for the whole latency of an inference
    clock_Hz : clock that the latency in cycles is counted in (None: no static term)
    notes : per layer, how the figures were obtained (which table entries)
    """

    synop_J: tuple
    membrane_update_J: tuple
    spike_J: tuple
    static_power_W: float = 0.0
    clock_Hz: float = None
    notes: tuple = ()

    def __post_init__(self):
        layers = len(self.synop_J)
        for name in ("membrane_update_J", "spike_J"):
            if len(getattr(self, name)) != layers:
                raise ValueError(f"{name} has {len(getattr(self, name))} layers, synop_J "
                                 f"{layers}")
        for name in ("synop_J", "membrane_update_J", "spike_J"):
            values = np.asarray(getattr(self, name), dtype=np.float64)
            if not np.all(np.isfinite(values)) or (values < 0).any():
                raise ValueError(f"{name} must be finite and non-negative, not {values.tolist()}")
        if not (math.isfinite(self.static_power_W) and self.static_power_W >= 0):
            raise ValueError(f"static_power_W must be non-negative, not {self.static_power_W!r}")
        if self.clock_Hz is not None and not (math.isfinite(self.clock_Hz) and self.clock_Hz > 0):
            raise ValueError(f"clock_Hz must be positive, not {self.clock_Hz!r}")

    @property
    def layers(self):
        return len(self.synop_J)

    @classmethod
    def from_costs(cls, network, costs, *, core_neurons):
        """Price the digital core of ``network`` with a :class:`CostTable`.

        Parameters
        ----------
        network : :class:`mapping.network.IntNetwork`
        costs : :class:`CostTable`
        core_neurons : per computing layer, the most neurons one core of it holds (its
            weight memory holds ``n_in * core_neurons`` weights)

        Raises
        ------
        CostTableError
            if a register is wider than the widest adder or a core's weights do not fit the
            largest SRAM of the table.
        """
        if len(core_neurons) != len(network.layers):
            raise ValueError(f"core_neurons has {len(core_neurons)} layers, the network "
                             f"{len(network.layers)}")
        per_word = SRAM_WORD_BITS // network.weight_bits
        if per_word < 1:
            raise CostTableError(f"{network.weight_bits}-bit weights do not fit a "
                                 f"{SRAM_WORD_BITS}-bit SRAM word")
        synop, update, notes = [], [], []
        for layer, widths, neurons in zip(network.layers, network.widths, core_neurons):
            memory = math.ceil(layer.n_in * neurons * network.weight_bits / 8)
            sram = _sram(memory)
            slope_add = _adder(widths.slope_bits)
            potential_add = _adder(widths.potential_bits)
            synop.append(costs[sram] / per_word + costs[slope_add])
            update.append(2 * costs[potential_add])
            notes.append(f"weight read: {sram} / {per_word} weights per word "
                         f"({memory} bytes per core); slope add ({widths.slope_bits} bits): "
                         f"{slope_add}; membrane update and threshold compare "
                         f"({widths.potential_bits} bits): 2 x {potential_add}")
        zeros = (0.0,) * len(synop)
        return cls(synop_J=tuple(synop), membrane_update_J=tuple(update), spike_J=zeros,
                   static_power_W=float(costs["static_power_W"]),
                   clock_Hz=float(costs["clock_Hz"]), notes=tuple(notes))


@dataclass(frozen=True)
class InferenceEnergy:
    """Energy of each inference of a batch, by event kind and layer.

    Members
    -------
    per_kind_J : dict of kind name to float64 [batch, L] energy per computing layer, in the
        order the kinds are reported
    static_J : float64 [batch], energy not attributed to a layer (static power times
        latency; zero where no latency is known)
    """

    per_kind_J: dict
    static_J: np.ndarray

    @property
    def per_layer_J(self):
        """float64 [batch, L], the dynamic energy of each computing layer."""
        return sum(self.per_kind_J.values())

    @property
    def total_J(self):
        """float64 [batch], dynamic plus static energy per inference."""
        return self.per_layer_J.sum(axis=1) + self.static_J


def inference_energy(trace, energies, *, latency_cycles=None):
    """Energy per inference of the samples of a reference-simulator trace.

    Parameters
    ----------
    trace : :class:`mapping.reference.Trace` (or anything with ``synops``,
        ``membrane_updates`` and ``spikes`` int arrays [batch, L + 1], column 0 the input)
    energies : :class:`EventEnergies` with one entry per computing layer
    latency_cycles : scalar or [batch] clock cycles per inference; None leaves the static
        term at zero (for example when no co-simulation measured the latency)

    Returns
    -------
    :class:`InferenceEnergy` with kinds ``synop_J``, ``membrane_update_J`` and ``spike_J``

    Raises
    ------
    ValueError
        if the layer counts disagree, or a latency is given without a clock.
    """
    synops = np.asarray(trace.synops, dtype=np.float64)[:, 1:]
    if synops.shape[1] != energies.layers:
        raise ValueError(f"the counts have {synops.shape[1]} computing layers, the energies "
                         f"{energies.layers}")
    kinds = {
        "synop_J": synops * np.asarray(energies.synop_J),
        "membrane_update_J": (np.asarray(trace.membrane_updates, dtype=np.float64)[:, 1:]
                              * np.asarray(energies.membrane_update_J)),
        "spike_J": (np.asarray(trace.spikes, dtype=np.float64)[:, 1:]
                    * np.asarray(energies.spike_J)),
    }
    static = np.zeros(len(synops))
    if latency_cycles is not None:
        if energies.clock_Hz is None:
            raise ValueError("a latency in cycles needs energies with a clock_Hz")
        cycles = np.broadcast_to(np.asarray(latency_cycles, dtype=np.float64), static.shape)
        static = cycles * energies.static_power_W / energies.clock_Hz
    return InferenceEnergy(per_kind_J=kinds, static_J=np.array(static))


#: Neuron-chunk work arrays of :func:`analog_inference_energy` stay below this many elements.
_ANALOG_CHUNK_ELEMENTS = 1 << 22


def analog_inference_energy(model, network, trace):
    """Energy per inference of the analog neurons, from a fitted per-neuron energy model.

    The model (:class:`hardware.spice.energy_model.AnalogEnergies`, or anything with the same
    members) gives the energy of one neuron of fan-in ``n`` and threshold ``theta`` over one
    window as::

        e_idle_J + p_static_W * t_wait
        + sum over delivered inputs j, per polarity, of
              c0 + c1 |w_j| + c2 |w_j| u_j Q(n) / theta
        + (e_spike_J + e_spike_per_unit_J * sum_j |w_j|) if it fired

    with ``t_wait = (end + 1) dt_s``, ``u_j = max(0, end - s_j)`` steps, ``end`` the firing
    step (``K - 1`` for a silent neuron), ``Q(n) = model.charge_to_fire_C(n)`` and ``dt_s``
    ``model.technology["dt_s"]``. Firing and input steps are the integer ones of ``trace``:
    the circuit crosses threshold up to one step before the integer firing step, so ``u_j``
    and ``t_wait`` are upper bounds, by less than one step each.

    Returns
    -------
    (:class:`InferenceEnergy`, synaptic_events) with kinds ``synapse_switch_J`` (the
    ``c0 + c1 |w|`` terms), ``synapse_current_J`` (the ``c2`` terms), ``spike_J``, ``idle_J``
    and ``wait_J``; ``synaptic_events`` is int64 [batch, L], the delivered input spikes times
    the neurons they reach through a non-zero weight (the analog synapses switch whether or
    not their neuron has fired).
    """
    dt = float(model.technology["dt_s"])
    K = trace.steps
    batch, L = len(trace.spike_steps[0]), len(network.layers)
    names = ("synapse_switch_J", "synapse_current_J", "spike_J", "idle_J", "wait_J")
    kinds = {name: np.zeros((batch, L)) for name in names}
    events = np.zeros((batch, L), dtype=np.int64)
    for l, layer in enumerate(network.layers):
        w = np.asarray(layer.weight, dtype=np.int64)
        s = trace.spike_steps[l]
        fire = trace.spike_steps[l + 1]
        delivered = s <= K - 2
        end = np.where(fire < K, fire, K - 1)
        q_unit_step = model.charge_to_fire_C(w.shape[1]) / layer.threshold
        spike = model.e_spike_J + model.e_spike_per_unit_J * np.abs(w).sum(axis=1)
        kinds["idle_J"][:, l] = layer.n_out * model.e_idle_J
        kinds["wait_J"][:, l] = model.p_static_W * dt * (end + 1).sum(axis=1)
        kinds["spike_J"][:, l] = ((fire < K) * spike[None, :]).sum(axis=1)
        chunk = max(1, _ANALOG_CHUNK_ELEMENTS // (w.size or 1))
        for start in range(0, batch, chunk):
            rows = slice(start, start + chunk)
            d = delivered[rows].astype(np.float64)
            on = np.maximum(0, end[rows][:, :, None] - s[rows][:, None, :]) * d[:, None, :]
            for (c0, c1, c2), mask in ((model.synop_sourcing, w > 0),
                                       (model.synop_sinking, w < 0)):
                units = np.where(mask, np.abs(w), 0).astype(np.float64)
                count = d @ mask.T.astype(np.float64)
                events[rows, l] += count.sum(axis=1).astype(np.int64)
                kinds["synapse_switch_J"][rows, l] += (c0 * count + c1 * (d @ units.T)).sum(axis=1)
                kinds["synapse_current_J"][rows, l] += c2 * q_unit_step * np.einsum(
                    "ij,bij->b", units, on)
    return InferenceEnergy(per_kind_J=kinds, static_J=np.zeros(batch)), events


def statistics(values):
    """Mean, median and 95th percentile (linear interpolation) of a 1-D sample."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"statistics need a non-empty 1-D array, not shape {values.shape}")
    return {"mean": float(values.mean()), "median": float(np.median(values)),
            "p95": float(np.percentile(values, 95))}


def neurobench_counts(trace, sizes):
    """Per-layer event counts under NeuroBench's names, averaged over the batch.

    Returns one dict per layer (index 0 = input) with ``neurons``, ``spikes``,
    ``spikes_per_neuron`` (the firing rate), ``activation_sparsity`` (NeuroBench: the share
    of zero activations over neurons x time steps, ``1 - spikes / (neurons * K)``),
    ``synaptic_operations`` (NeuroBench's effective accumulates), ``dense_synaptic_operations``
    (``n_in * n_out * K``, what a dense clocked layer would do) and ``membrane_updates``.
    """
    K = trace.steps
    if len(sizes) != trace.spikes.shape[1]:
        raise ValueError(f"{len(sizes)} layer sizes for counts of {trace.spikes.shape[1]} layers")
    rows = []
    for l, n in enumerate(sizes):
        spikes = float(np.mean(trace.spikes[:, l]))
        rows.append({
            "layer": l, "neurons": int(n), "spikes": spikes,
            "spikes_per_neuron": spikes / n,
            "activation_sparsity": 1.0 - spikes / (n * K),
            "synaptic_operations": float(np.mean(trace.synops[:, l])),
            "dense_synaptic_operations": int(sizes[l - 1] * n * K) if l else 0,
            "membrane_updates": float(np.mean(trace.membrane_updates[:, l])),
        })
    return rows
