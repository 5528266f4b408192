"""Cost tables of the digital core: cited per-access energies and leakage, and the models
that carry them to any memory size and operand width.

A cost table (JSON, ``schema_version`` 2, default :data:`DEFAULT_COSTS`) holds exactly the
entries of :data:`COST_KEYS`, each ``{"value", "node_nm", "source"}``; the leakage entries
also hold ``low`` and ``high`` (``low <= value <= high``), because no single leakage figure
describes a node. Three models turn the entries into prices:

* SRAM access: the 64-bit reads of the three published SRAMs are fitted by a power law in
  the capacity, ``E64(C) = e_8KB * (C / 8 KB) ** p`` (least squares in log-log space;
  :class:`SramModel` keeps the error at each published point), and an access of ``W`` bits
  costs ``E64(C) * W / 64`` (the bitline, sense-amplifier and output energy scale with the
  bits moved). A write costs ``sram_write_per_read`` reads.
* add / compare of ``w`` bits: affine in ``w`` through the published 8- and 32-bit adds (a
  ripple-carry adder's energy grows linearly with its width); a compare is a subtraction.
* flip-flop registers: ``register_bit_J`` per bit written, and per bit read through the
  multiplexer of a register array (a one-word register's output drives the datapath
  directly: its read costs nothing the adds do not already carry).
* leakage: ``sram_leakage_per_bit_W`` per stored bit and ``logic_leakage_per_cell_W`` per
  generic logic cell, each in a low / nominal / high range.

Version 1 tables (one SRAM read per synaptic operation at the next-larger published size,
one ``static_power_W``) are refused with a message that says what changed: their
``static_power_W`` has no per-bit equivalent, so they cannot be converted faithfully.
"""
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["COSTS_SCHEMA_VERSION", "DEFAULT_COSTS", "COST_KEYS", "Cost", "CostTable",
           "CostTableError", "SramModel", "load_costs"]

COSTS_SCHEMA_VERSION = 2
DEFAULT_COSTS = Path(__file__).parent / "costs" / "horowitz_45nm.json"

#: SRAM read entries (one 64-bit word), by the capacity in bytes of the memory read.
SRAM_READS = {"sram_read_64b_8KB_J": 8 << 10, "sram_read_64b_32KB_J": 32 << 10,
              "sram_read_64b_1MB_J": 1 << 20}
#: Adder entries, by their operand width in bits.
ADDERS = {"add_8b_J": 8, "add_32b_J": 32}
#: Entries given as a range: ``value`` is the nominal figure, ``low`` and ``high`` bound it.
RANGED = ("sram_leakage_per_bit_W", "logic_leakage_per_cell_W")
#: Every entry a version-2 cost table must have, and nothing else.
COST_KEYS = (tuple(SRAM_READS) + ("sram_write_per_read",) + tuple(ADDERS)
             + ("register_bit_J",) + RANGED + ("clock_Hz",))
SRAM_WORD_BITS = 64
V1_CHANGE = ("version 2 fits SRAM energy over capacity and word width instead of stepping "
             "to the next table entry, prices writes (sram_write_per_read), and replaces "
             "static_power_W by sram_leakage_per_bit_W and logic_leakage_per_cell_W with "
             "low/high ranges; start from hardware/costs/horowitz_45nm.json (docs/energy.md)")


class CostTableError(ValueError):
    """A cost table is missing an entry, names an unknown one, or has a bad value."""


def _number(value):
    return (not isinstance(value, bool) and isinstance(value, (int, float))
            and math.isfinite(value))


@dataclass(frozen=True)
class Cost:
    """One figure of a cost table.

    Members
    -------
    value : the (nominal) figure in the SI unit its key ends with (``_J``, ``_W``, ``_Hz``;
        a ratio has no suffix)
    node_nm : technology node the figure was published for, in nanometres
    source : where the figure comes from (publication and table), never empty
    low, high : for :data:`RANGED` entries, the bounds of the range; None otherwise
    """

    value: float
    node_nm: float
    source: str
    low: float = None
    high: float = None

    def check(self, key):
        """Raise :class:`CostTableError` naming ``key`` if a field is invalid."""
        if not _number(self.value):
            raise CostTableError(f"{key}: value must be a finite number, not {self.value!r}")
        positive = key in ("clock_Hz", "sram_write_per_read") or key in SRAM_READS
        if self.value < 0 or (positive and self.value == 0):
            raise CostTableError(f"{key}: value must be {'positive' if positive else 'non-negative'}"
                                 f", not {self.value!r}")
        if not _number(self.node_nm) or not self.node_nm > 0:
            raise CostTableError(f"{key}: node_nm must be a positive number, not {self.node_nm!r}")
        if not isinstance(self.source, str) or not self.source.strip():
            raise CostTableError(f"{key}: missing source (say where the figure comes from)")
        if key in RANGED:
            if not (_number(self.low) and _number(self.high)
                    and 0 <= self.low <= self.value <= self.high):
                raise CostTableError(f"{key}: needs low <= value <= high, all non-negative, "
                                     f"not low {self.low!r}, value {self.value!r}, "
                                     f"high {self.high!r}")
        elif self.low is not None or self.high is not None:
            raise CostTableError(f"{key}: only {' and '.join(RANGED)} take low and high")

    def to_json(self):
        doc = {"value": self.value, "node_nm": self.node_nm, "source": self.source}
        if self.low is not None:
            doc.update(low=self.low, high=self.high)
        return doc


@dataclass(frozen=True)
class SramModel:
    """Energy of one SRAM access: ``e_ref_J * (capacity / ref_bytes) ** exponent * W / 64``.

    Members
    -------
    e_ref_J : fitted energy of a 64-bit read of ``ref_bytes``
    exponent : power of the capacity (about 0.5: energy grows with the square root of it)
    ref_bytes : capacity of the smallest published point, below which the fit extrapolates
    points : per published point, ``(capacity_bytes, published_J, fitted_J)``
    """

    e_ref_J: float
    exponent: float
    ref_bytes: int
    points: tuple

    @classmethod
    def fit(cls, points):
        """Least-squares fit of ``log E = log a + p log C`` through ``(bytes, J)`` points."""
        capacity = np.array([c for c, _ in points], dtype=np.float64)
        energy = np.array([e for _, e in points], dtype=np.float64)
        ref = float(capacity.min())
        exponent, log_a = np.polyfit(np.log(capacity / ref), np.log(energy), 1)
        fitted = np.exp(log_a) * (capacity / ref) ** exponent
        return cls(e_ref_J=float(np.exp(log_a)), exponent=float(exponent), ref_bytes=int(ref),
                   points=tuple((int(c), float(e), float(f))
                                for c, e, f in zip(capacity, energy, fitted)))

    @property
    def max_error(self):
        """Largest relative error of the fit at a published point."""
        return max(abs(f / e - 1) for _, e, f in self.points)

    def read_J(self, capacity_bytes, width_bits):
        """Energy of reading one ``width_bits`` word of a ``capacity_bytes`` SRAM."""
        if not capacity_bytes > 0 or not width_bits > 0:
            raise ValueError(f"an SRAM needs a positive capacity and width, not "
                             f"{capacity_bytes!r} bytes of {width_bits!r}-bit words")
        scale = (capacity_bytes / self.ref_bytes) ** self.exponent
        return self.e_ref_J * scale * width_bits / SRAM_WORD_BITS


@dataclass(frozen=True)
class CostTable:
    """Cited per-access energies and leakage of a digital implementation.

    Parameters
    ----------
    name : a short name of the table
    costs : mapping of each key of :data:`COST_KEYS` to a :class:`Cost`

    Raises
    ------
    CostTableError
        for a missing or unknown key or an invalid figure (see :meth:`Cost.check`).
    """

    name: str
    costs: dict

    def __post_init__(self):
        unknown = sorted(set(self.costs) - set(COST_KEYS))
        if unknown:
            raise CostTableError(f"unknown entry {unknown[0]!r}: a version-2 cost table holds "
                                 f"exactly {', '.join(COST_KEYS)}")
        missing = [key for key in COST_KEYS if key not in self.costs]
        if missing:
            raise CostTableError(f"missing entry {missing[0]!r}")
        for key, cost in self.costs.items():
            if not isinstance(cost, Cost):
                raise CostTableError(f"{key}: expected a Cost, not {type(cost).__name__}")
            cost.check(key)

    def __getitem__(self, key):
        return self.costs[key].value

    def range(self, key):
        """``{"low", "nominal", "high"}`` of a :data:`RANGED` entry."""
        cost = self.costs[key]
        return {"low": cost.low, "nominal": cost.value, "high": cost.high}

    @property
    def sram(self):
        """The :class:`SramModel` fitted through the table's SRAM reads."""
        return SramModel.fit([(size, self[key]) for key, size in SRAM_READS.items()])

    def add_J(self, width_bits):
        """Energy of one add (or compare) of ``width_bits``: affine through the two adders."""
        (k8, w8), (k32, w32) = sorted(ADDERS.items(), key=lambda item: item[1])
        slope = (self[k32] - self[k8]) / (w32 - w8)
        return max(0.0, self[k8] + slope * (width_bits - w8))

    @classmethod
    def from_json(cls, doc, *, origin="cost table"):
        """Build a table from its JSON document; ``origin`` names it in error messages."""
        found = doc.get("schema_version") if isinstance(doc, dict) else None
        if found == 1:
            raise CostTableError(f"{origin}: a version-1 cost table; {V1_CHANGE}")
        if found != COSTS_SCHEMA_VERSION:
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
            costs[key] = Cost(entry["value"], entry.get("node_nm"), entry.get("source"),
                              entry.get("low"), entry.get("high"))
        try:
            return cls(name=str(doc.get("name", origin)), costs=costs)
        except CostTableError as exc:
            raise CostTableError(f"{origin}: {exc}") from None

    def to_json(self):
        return {"schema_version": COSTS_SCHEMA_VERSION, "name": self.name,
                "costs": {key: c.to_json() for key, c in self.costs.items()}}


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
