"""What the digital core does, counted access by access: the contract between the RTL's
access counters, the model of them here, and the energy report that prices them.

Status: this module holds the data types only. The model that fills them from an
allocation and a reference :class:`mapping.reference.Trace` (``count_accesses``) is built
together with the RTL counters that must equal it, sample by sample; the energy report
prices whatever these types hold, so neither side needs to know the other's internals.

Every physical memory of the design is one :class:`MemoryAccesses` (a core's weight
memory, its state memory, a spike list between two layers, ...), with its shape and its
reads and writes per sample; every datapath operation class is one :class:`OpCounts` (the
adds of slope accumulation, of ``v += slope``, the threshold compares, ...), with its width
and its count per sample. Pricing needs nothing else: a memory is priced by its capacity
(``depth_words * width_bits``) and word width, an operation by its kind and width.
"""
from dataclasses import dataclass

import numpy as np

__all__ = ["AccessCounts", "MemoryAccesses", "OpCounts", "MEMORY_KINDS", "OP_KINDS"]

#: What a memory holds; the energy report groups its breakdown by these.
MEMORY_KINDS = ("weight", "state", "spike_list")
#: What an operation does; ``compare`` is a magnitude comparison (priced as a subtraction).
OP_KINDS = ("add", "compare")


def _counts(name, values, samples=None):
    values = np.asarray(values)
    if values.ndim != 1 or not np.issubdtype(values.dtype, np.integer) or (values < 0).any():
        raise ValueError(f"{name} must be a 1-D array of non-negative integers (one per "
                         f"sample), not {values.dtype} of shape {values.shape}")
    if samples is not None and len(values) != samples:
        raise ValueError(f"{name} has {len(values)} samples, expected {samples}")
    return values.astype(np.int64)


def _positive(name, value):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, not {value!r}")


@dataclass(frozen=True)
class MemoryAccesses:
    """One physical memory and its accesses.

    Members
    -------
    name : unique within an :class:`AccessCounts`, e.g. ``"l1.c0.weight"``
    kind : one of :data:`MEMORY_KINDS`
    layer : computing layer it belongs to (1..L, as in ``Trace``); a spike list belongs to
        the layer that writes it (0 for the input's list)
    core : index of the core within its layer, or ``None`` for memories outside cores
    depth_words, width_bits : its shape
    reads, writes : int64 [samples], word accesses per sample
    """

    name: str
    kind: str
    layer: int
    core: object
    depth_words: int
    width_bits: int
    reads: np.ndarray
    writes: np.ndarray

    def __post_init__(self):
        if self.kind not in MEMORY_KINDS:
            raise ValueError(f"memory kind must be one of {', '.join(MEMORY_KINDS)}, "
                             f"not {self.kind!r}")
        _positive(f"{self.name} depth_words", self.depth_words)
        _positive(f"{self.name} width_bits", self.width_bits)
        reads = _counts(f"{self.name} reads", self.reads)
        object.__setattr__(self, "reads", reads)
        object.__setattr__(self, "writes", _counts(f"{self.name} writes", self.writes,
                                                   len(reads)))

    @property
    def capacity_bits(self):
        return self.depth_words * self.width_bits


@dataclass(frozen=True)
class OpCounts:
    """One class of datapath operations and how many ran per sample.

    Members
    -------
    name : unique within an :class:`AccessCounts`, e.g. ``"l1.c0.slope_add"``
    kind : one of :data:`OP_KINDS`
    layer, core : as for :class:`MemoryAccesses`
    width_bits : operand width
    count : int64 [samples], single-lane operations per sample
    """

    name: str
    kind: str
    layer: int
    core: object
    width_bits: int
    count: np.ndarray

    def __post_init__(self):
        if self.kind not in OP_KINDS:
            raise ValueError(f"op kind must be one of {', '.join(OP_KINDS)}, not {self.kind!r}")
        _positive(f"{self.name} width_bits", self.width_bits)
        object.__setattr__(self, "count", _counts(f"{self.name} count", self.count))


@dataclass(frozen=True)
class AccessCounts:
    """Everything the digital design does for a batch of samples.

    Members
    -------
    memories : tuple of :class:`MemoryAccesses`, every physical memory of the design
    ops : tuple of :class:`OpCounts`
    input_beats, output_beats : int64 [samples], handshakes taken on the spike ports
    cycles : int64 [samples], clock cycles from the first input beat to ``done``
    """

    memories: tuple
    ops: tuple
    input_beats: np.ndarray
    output_beats: np.ndarray
    cycles: np.ndarray

    def __post_init__(self):
        cycles = _counts("cycles", self.cycles)
        samples = len(cycles)
        object.__setattr__(self, "cycles", cycles)
        for name in ("input_beats", "output_beats"):
            object.__setattr__(self, name, _counts(name, getattr(self, name), samples))
        names = [m.name for m in self.memories] + [o.name for o in self.ops]
        if len(set(names)) != len(names):
            raise ValueError("memory and op names must be unique")
        for item in (*self.memories, *self.ops):
            length = len(item.reads) if isinstance(item, MemoryAccesses) else len(item.count)
            if length != samples:
                raise ValueError(f"{item.name} has {length} samples, expected {samples}")
        object.__setattr__(self, "memories", tuple(self.memories))
        object.__setattr__(self, "ops", tuple(self.ops))

    @property
    def samples(self):
        return len(self.cycles)
