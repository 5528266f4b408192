"""Energy of the digital core, priced access by access from :class:`mapping.access.AccessCounts`.

Every physical memory is split into banks of at most ``bank_bytes`` (equal depth, the full
word width), and each access is priced as one access of one bank: ``read_J`` =
:meth:`hardware.costs.SramModel.read_J` of the bank's capacity and the word width, ``write_J``
= ``sram_write_per_read`` times that. Every operation of ``w`` bits costs
:meth:`hardware.costs.CostTable.add_J` of ``w``. Per sample::

    E = sum over memories (reads * read_J + writes * write_J) + sum over ops (count * op_J)
        + (stored bits * sram_leakage_per_bit_W + logic cells * logic_leakage_per_cell_W)
          * cycles / clock_Hz

where ``clock_Hz`` is the table's unless the caller passes the design's (the Fmax that
place and route achieved). The terms are grouped into :data:`COMPONENTS`. The static term is computed at the low,
nominal and high ends of the table's leakage ranges; the total uses the nominal one.
Banks below the smallest published SRAM are priced by extrapolating the fit; the result
says how far and what the energy would be with such banks priced at the smallest point.

Only NumPy: :mod:`hardware` never imports torch.
"""
import math
from dataclasses import dataclass

import numpy as np

__all__ = ["COMPONENTS", "DEFAULT_BANK_BYTES", "Item", "DigitalEnergy", "price",
           "estimate_logic_cells"]

#: Groups of the breakdown, in report order.
COMPONENTS = ("weight_reads", "state_traffic", "arithmetic", "spike_routing", "static")
#: Memory kind of :mod:`mapping.access` to its component.
MEMORY_COMPONENT = {"weight": "weight_reads", "state": "state_traffic",
                    "spike_list": "spike_routing"}
#: Default bank size: the smallest SRAM Horowitz publishes, so no weight access is
#: priced by extrapolating below it.
DEFAULT_BANK_BYTES = 8 << 10
#: The logic-size rule of :func:`estimate_logic_cells`.
CELLS_PER_ADDER_BIT = 5     # a full adder: 2 XOR, 2 AND, 1 OR generic gates
CELLS_PER_CORE_CONTROL = 200


@dataclass(frozen=True)
class Item:
    """One priced memory or operation class.

    Members
    -------
    name, kind, layer, core : as in :mod:`mapping.access`
    component : one of :data:`COMPONENTS`
    width_bits : word or operand width
    read_J, write_J : per access (memories; ``write_J`` is 0 for operations)
    reads, writes : int64 [samples] (operations: ``reads`` is the count, ``writes`` zeros)
    capacity_bytes, banks, bank_bytes : the memory's size and its split (None for ops)
    """

    name: str
    kind: str
    component: str
    layer: int
    core: object
    width_bits: int
    read_J: float
    write_J: float
    reads: np.ndarray
    writes: np.ndarray
    capacity_bytes: float = None
    banks: int = None
    bank_bytes: float = None

    @property
    def energy_J(self):
        """float64 [samples]."""
        return self.reads * self.read_J + self.writes * self.write_J


@dataclass(frozen=True)
class DigitalEnergy:
    """The priced accesses of a batch.

    Members
    -------
    items : tuple of :class:`Item`
    stored_bits : bits of every memory (leaking for the whole latency)
    logic_cells, logic_source : logic size and where it comes from
    cycles : int64 [samples]; latency_s : float64 [samples] at the clock given to
        :func:`price` (default the table's ``clock_Hz``)
    static_W : ``{"low", "nominal", "high"}`` leakage power of the whole design
    sram_ref_bytes : smallest published SRAM; banks below it are extrapolated
    """

    items: tuple
    stored_bits: int
    logic_cells: int
    logic_source: str
    cycles: np.ndarray
    latency_s: np.ndarray
    static_W: dict
    sram_leakage_per_bit_W: float
    sram_ref_bytes: int

    def static_J(self, corner="nominal"):
        """float64 [samples], leakage energy at one end of the range."""
        return self.static_W[corner] * self.latency_s

    def sram_static_J(self, item):
        """float64 [samples], nominal leakage of one memory item."""
        return item.capacity_bytes * 8 * self.sram_leakage_per_bit_W * self.latency_s

    @property
    def dynamic_J(self):
        """float64 [samples], every access and operation."""
        return sum((item.energy_J for item in self.items), np.zeros(len(self.cycles)))

    def total_J(self, corner="nominal"):
        return self.dynamic_J + self.static_J(corner)

    def component_J(self, component):
        """float64 [samples] of one component (``static``: nominal)."""
        if component == "static":
            return self.static_J()
        return sum((i.energy_J for i in self.items if i.component == component),
                   np.zeros(len(self.cycles)))

    @property
    def extrapolated(self):
        """Memory items whose banks are smaller than the smallest published SRAM."""
        return [i for i in self.items if i.bank_bytes is not None
                and i.bank_bytes < self.sram_ref_bytes]


def _banks(memory, bank_bytes):
    """(banks, bytes of one bank) of a memory split into banks of at most ``bank_bytes``."""
    if memory.width_bits > bank_bytes * 8:
        raise ValueError(f"{memory.name}: a {memory.width_bits}-bit word does not fit a bank "
                         f"of {bank_bytes} bytes")
    banks = math.ceil(memory.capacity_bits / (bank_bytes * 8))
    return banks, math.ceil(memory.depth_words / banks) * memory.width_bits / 8


def _memory_item(memory, costs, sram, bank_bytes):
    banks, bank = _banks(memory, bank_bytes)
    read = sram.read_J(bank, memory.width_bits)
    return Item(name=memory.name, kind=memory.kind, component=MEMORY_COMPONENT[memory.kind],
                layer=memory.layer, core=memory.core, width_bits=memory.width_bits,
                read_J=read, write_J=read * costs["sram_write_per_read"], reads=memory.reads,
                writes=memory.writes, capacity_bytes=memory.capacity_bits / 8, banks=banks,
                bank_bytes=bank)


def price(counts, costs, *, bank_bytes=DEFAULT_BANK_BYTES, logic_cells, logic_source,
          clock_Hz=None):
    """Price an :class:`mapping.access.AccessCounts` with a :class:`hardware.costs.CostTable`.

    Parameters
    ----------
    counts : :class:`mapping.access.AccessCounts`
    costs : :class:`hardware.costs.CostTable`
    bank_bytes : largest bank a memory is built from, in bytes
    logic_cells : generic logic cells of the design (leaking for the whole latency)
    logic_source : where ``logic_cells`` comes from (synthesis or a stated rule)
    clock_Hz : clock that turns cycles into the latency (and the leaking time); None: the
        table's ``clock_Hz``

    Raises
    ------
    ValueError
        for a bank smaller than one word, a negative logic size or a non-positive clock.
    """
    if not isinstance(bank_bytes, (int, np.integer)) or bank_bytes < 1:
        raise ValueError(f"bank_bytes must be a positive integer, not {bank_bytes!r}")
    if not isinstance(logic_cells, (int, np.integer)) or logic_cells < 0:
        raise ValueError(f"logic_cells must be a non-negative integer, not {logic_cells!r}")
    clock_Hz = costs["clock_Hz"] if clock_Hz is None else clock_Hz
    if isinstance(clock_Hz, bool) or not isinstance(clock_Hz, (int, float)) \
            or not math.isfinite(clock_Hz) or clock_Hz <= 0:
        raise ValueError(f"clock_Hz must be a positive finite number, not {clock_Hz!r}")
    sram = costs.sram
    items = [_memory_item(m, costs, sram, bank_bytes) for m in counts.memories]
    zeros = np.zeros(counts.samples, dtype=np.int64)
    items += [Item(name=op.name, kind=op.kind, component="arithmetic", layer=op.layer,
                   core=op.core, width_bits=op.width_bits, read_J=costs.add_J(op.width_bits),
                   write_J=0.0, reads=op.count, writes=zeros) for op in counts.ops]
    bits = int(sum(m.capacity_bits for m in counts.memories))
    sram_leak, logic_leak = (costs.range("sram_leakage_per_bit_W"),
                             costs.range("logic_leakage_per_cell_W"))
    static = {corner: bits * sram_leak[corner] + int(logic_cells) * logic_leak[corner]
              for corner in ("low", "nominal", "high")}
    return DigitalEnergy(items=tuple(items), stored_bits=bits, logic_cells=int(logic_cells),
                         logic_source=logic_source, cycles=counts.cycles,
                         latency_s=counts.cycles / clock_Hz, static_W=static,
                         sram_leakage_per_bit_W=sram_leak["nominal"],
                         sram_ref_bytes=sram.ref_bytes)


def estimate_logic_cells(network, allocation, lanes):
    """Generic logic cells of the cores by a stated rule (when no synthesis ran).

    Per core: per lane, :data:`CELLS_PER_ADDER_BIT` cells per bit of the slope add, the
    potential add and the threshold compare, plus one cell per bit of the pipeline register
    holding a weight and a state word; plus :data:`CELLS_PER_CORE_CONTROL` for the
    controller and counters. Returns ``(cells, description)``.
    """
    per_layer = list(lanes) if isinstance(lanes, (list, tuple)) else [lanes] * len(network.layers)
    if len(per_layer) != len(network.layers):
        raise ValueError(f"{len(per_layer)} lane counts for {len(network.layers)} layers")
    cells = 0
    for core in allocation.cores:
        widths = network.widths[core.layer]
        adder_bits = widths.slope_bits + 2 * widths.potential_bits
        register_bits = network.weight_bits + widths.slope_bits + widths.potential_bits + 1
        cells += (per_layer[core.layer] * (CELLS_PER_ADDER_BIT * adder_bits + register_bits)
                  + CELLS_PER_CORE_CONTROL)
    return cells, (f"estimate: per core, lanes x ({CELLS_PER_ADDER_BIT} cells per bit of the "
                   f"slope add, potential add and threshold compare + 1 per pipeline register "
                   f"bit) + {CELLS_PER_CORE_CONTROL} for control; run `ttfs synth` for a count")
