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

from mapping import access

__all__ = ["COMPONENTS", "DEFAULT_BANK_BYTES", "Item", "DigitalEnergy", "price",
           "estimate_logic_cells"]

#: Groups of the breakdown, in report order.
COMPONENTS = ("weight_reads", "state_traffic", "arithmetic", "spike_routing", "static")
#: Memory kind of :mod:`mapping.access` to its component.
MEMORY_COMPONENT = {"weight": "weight_reads", "state": "state_traffic",
                    "spike_list": "spike_routing", "register": "state_traffic"}
#: Default bank size: the smallest SRAM Horowitz publishes, so no weight access is
#: priced by extrapolating below it.
DEFAULT_BANK_BYTES = 8 << 10
#: The logic-size rule of :func:`estimate_logic_cells`.
CELLS_PER_ADDER_BIT = 5     # a full adder: 2 XOR, 2 AND, 1 OR generic gates
#: A priority encoder (the bit length of a value) of ``n`` inputs: about ``n`` gates to find
#: the leading one and as many to encode its position.
CELLS_PER_ENCODER_BIT = 2
CELLS_PER_CORE_CONTROL = 200
#: A flip-flop leaks like 4 generic gates: Aladdin's 40 nm register bit leaks 74.0 nW, its
#: 32-bit bitwise unit 611 nW, 19.1 nW per gate (common/power_func.h), a ratio of 3.9.
CELLS_PER_FLIP_FLOP = 4


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
        """float64 [samples], nominal leakage of one SRAM item (registers leak as logic)."""
        if item.kind == "register":
            return np.zeros(len(self.latency_s))
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
        return [i for i in self.items if i.bank_bytes is not None and i.kind != "register"
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


def _register_item(memory, costs):
    """A flip-flop register: ``register_bit_J`` per bit written, and per bit read through
    the multiplexer of an array (a one-word register is read without one)."""
    bit = costs["register_bit_J"]
    return Item(name=memory.name, kind=memory.kind, component=MEMORY_COMPONENT[memory.kind],
                layer=memory.layer, core=memory.core, width_bits=memory.width_bits,
                read_J=0.0 if memory.depth_words == 1 else memory.width_bits * bit,
                write_J=memory.width_bits * bit, reads=memory.reads, writes=memory.writes,
                capacity_bytes=memory.capacity_bits / 8, banks=1,
                bank_bytes=memory.capacity_bits / 8)


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
    items = [_register_item(m, costs) if m.kind == "register" else
             _memory_item(m, costs, sram, bank_bytes) for m in counts.memories]
    zeros = np.zeros(counts.samples, dtype=np.int64)
    items += [Item(name=op.name, kind=op.kind, component="arithmetic", layer=op.layer,
                   core=op.core, width_bits=op.width_bits, read_J=costs.add_J(op.width_bits),
                   write_J=0.0, reads=op.count, writes=zeros) for op in counts.ops]
    # flip-flop registers leak as logic: they are in ``logic_cells``
    bits = int(sum(m.capacity_bits for m in counts.memories if m.kind != "register"))
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
    potential add, the threshold compare and the catch-up ``v + slope * missed`` (a
    shift-and-add multiplier: one potential-wide adder per bit of ``missed``), plus
    :data:`CELLS_PER_FLIP_FLOP` per flip-flop of the pipeline registers holding a weight and
    a state word, plus the wake bound (:data:`CELLS_PER_ENCODER_BIT` per input bit of the
    two priority encoders of the potential's distance to the threshold and of the slope,
    and an exponent-wide subtraction and comparator of the tree that takes the group's
    least); per core, three step-wide adders and comparators (the wake step, its clamp to
    the last step and the test that drops an update); :data:`CELLS_PER_FLIP_FLOP` per bit
    of each group's written flag, step stamp and wake step; plus
    :data:`CELLS_PER_CORE_CONTROL` for the controller and counters. Returns ``(cells,
    description)``.
    """
    per_layer = list(lanes) if isinstance(lanes, (list, tuple)) else [lanes] * len(network.layers)
    if len(per_layer) != len(network.layers):
        raise ValueError(f"{len(per_layer)} lane counts for {len(network.layers)} layers")
    step = access.step_bits(network.steps)
    exponent = (step + 1).bit_length()      # the wake exponent, clamped to step + 1
    cells = 0
    for core in allocation.cores:
        widths, lane = network.widths[core.layer], per_layer[core.layer]
        adder_bits = (widths.slope_bits + 2 * widths.potential_bits
                      + access.missed_bits(network.steps) * widths.potential_bits)
        register_bits = network.weight_bits + widths.slope_bits + widths.potential_bits + 1
        encoder_bits = widths.potential_bits + 1 + widths.slope_bits - 1
        group_bits = math.ceil(core.neurons / lane) * (1 + 2 * step)
        cells += (lane * (CELLS_PER_ADDER_BIT * (adder_bits + 2 * exponent)
                          + CELLS_PER_FLIP_FLOP * register_bits
                          + CELLS_PER_ENCODER_BIT * encoder_bits)
                  + 3 * CELLS_PER_ADDER_BIT * (step + 1)
                  + CELLS_PER_FLIP_FLOP * group_bits + CELLS_PER_CORE_CONTROL)
    return cells, (f"estimate: per core, lanes x ({CELLS_PER_ADDER_BIT} cells per bit of the "
                   f"slope add, potential add, threshold compare, catch-up multiplier (one add "
                   f"per bit of the missed steps) and the wake bound's subtraction and "
                   f"comparator + {CELLS_PER_ENCODER_BIT} per bit of its two priority encoders "
                   f"+ {CELLS_PER_FLIP_FLOP} per pipeline flip-flop) + three step-wide adders + "
                   f"{CELLS_PER_FLIP_FLOP} per flip-flop of the groups' written flags, stamps "
                   f"and wake steps + {CELLS_PER_CORE_CONTROL} for control; run `ttfs synth` "
                   f"for a count")
