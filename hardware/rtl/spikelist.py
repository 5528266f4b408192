"""The spike list between two layers: a double-buffered memory of spike entries.

During step ``k`` a layer writes the spikes it emits at step ``k`` into bank ``k % 2`` while
the next layer reads the spikes of step ``k - 1`` from the other bank, so that a spike at
step ``k`` is delivered at step ``k + 1`` as :mod:`mapping.reference` prescribes. An entry is
``(group, mask)``: the cores of a layer sweep their groups in lockstep, and bit
``c * lanes + b`` of the mask is lane ``b`` of core ``c``, neuron
``starts[c] + group * lanes + b`` of the layer. The reader expands entries into one spike
index per cycle; a reader that needs the bank several times (once per group of its
neurons) asks for a ``rewind`` with the last spike of each pass.
"""
from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, unsigned
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["SpikeList"]


class SpikeList(wiring.Component):
    """Two banks of spike entries, written by one layer and read as a stream of indices.

    Parameters
    ----------
    groups : int
        entries per bank: at most one entry per group and step
    lanes : int
        lanes of each writing core
    starts : sequence of int
        first neuron of each writing core; the mask has ``len(starts) * lanes`` bits
    n_neurons : int
        neurons of the writing layer (the range of the indices read)
    passes : int
        reads of the bank per step at most (the reading layer's groups; 1 by default)

    Members
    -------
    clear : In(1)
        empty both banks
    start : In(1)
        begin a step: empty bank ``bank`` for writing and read the other bank from its start
        (a write in the same cycle still goes to the previous write bank, and is read)
    bank : In(1)
        the bank written from this ``start`` on
    pending : Out(1)
        in a ``start`` cycle: the bank about to be read holds at least one entry
    write : In(1), write_group : In(range(groups)), write_mask : In(len(starts) * lanes)
        append an entry (``write_mask`` must be non-zero) to the write bank
    overflow : Out(1)
        a write found its bank full (only possible if a protocol is broken); sticky
    read_valid, read_index, read_ready
        the spikes of the read bank, one per cycle, entries in write order and bits from
        the lowest
    read_last : Out(1)
        the spike offered now is the last one of the read bank
    rewind : In(1)
        with the take of the last spike (``read_last``): read the bank again from its first
        entry
    read_done : Out(1)
        every spike of the read bank has been taken (not meaningful in a ``start`` cycle)
    reads, writes : Out
        entries read from and written to the memory since ``clear`` (at most ``n_neurons``
        written per inference, one spike per neuron, each read ``passes`` times at most)
    """

    def __init__(self, *, groups, lanes, starts, n_neurons, passes=1):
        for name, value in (("groups", groups), ("lanes", lanes), ("n_neurons", n_neurons),
                            ("passes", passes)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, not {value!r}")
        starts = tuple(int(s) for s in starts)
        if not starts or starts[0] != 0 or any(b <= a for a, b in zip(starts, starts[1:])):
            raise ValueError(f"starts must begin at 0 and increase, not {starts}")
        if starts[-1] >= n_neurons:
            raise ValueError(f"the last core starts at {starts[-1]}, beyond {n_neurons} neurons")
        self._groups, self._lanes, self._starts, self._n = groups, lanes, starts, n_neurons
        super().__init__({
            "clear": In(1),
            "start": In(1),
            "bank": In(1),
            "write": In(1),
            "write_group": In(range(max(groups, 2))),
            "write_mask": In(self.mask_bits),
            "overflow": Out(1),
            "read_valid": Out(1),
            "read_index": Out(range(max(n_neurons, 2))),
            "read_ready": In(1),
            "read_done": Out(1),
            "read_last": Out(1),
            "rewind": In(1),
            "pending": Out(1),
            # each neuron spikes at most once per inference, so it writes at most one entry
            "reads": Out(range(n_neurons * passes + 1)),
            "writes": Out(range(n_neurons + 1)),
        })

    @property
    def groups(self):
        return self._groups

    @property
    def mask_bits(self):
        return len(self._starts) * self._lanes

    @property
    def stored_mask_bits(self):
        """Mask bits an entry stores: none for a one-bit mask, which is always 1 (a constant
        column would keep Yosys from moving the read register into block RAM)."""
        return self.mask_bits if self.mask_bits > 1 else 0

    def elaborate(self, platform):
        m = Module()
        groups, width = self._groups, self.mask_bits
        group_bits = len(self.write_group)
        m.submodules.entries = entries = memory.Memory(
            shape=unsigned(group_bits + self.stored_mask_bits), depth=2 * groups, init=[])
        wr = entries.write_port()
        rd = entries.read_port(transparent_for=(wr,))

        count = Array(Signal(range(groups + 1), name=f"count_{i}") for i in range(2))
        write_bank = Signal()
        m.d.comb += [wr.addr.eq(write_bank * groups + count[write_bank]),
                     wr.data.eq(Cat(self.write_group, self.write_mask[:self.stored_mask_bits]))]
        with m.If(self.write):
            with m.If(count[write_bank] == groups):
                m.d.sync += self.overflow.eq(1)
            with m.Else():
                m.d.comb += wr.en.eq(1)
                m.d.sync += count[write_bank].eq(count[write_bank] + 1)

        read_bank = Signal()
        pointer = Signal(range(groups + 1))
        have = Signal()
        taken = Signal(width)
        group = rd.data[:group_bits]
        remaining = Signal(width)
        lowest = Signal(width)
        position = Signal(range(max(width, 2)))
        mask = rd.data[group_bits:] if self.stored_mask_bits else Const(1, 1)
        m.d.comb += [remaining.eq(mask & ~taken),
                     lowest.eq(remaining & (~remaining + 1)[:width])]
        for i in reversed(range(width)):
            with m.If(remaining[i]):
                m.d.comb += position.eq(i)
        offset = Array(Const(self._starts[i // self._lanes] + i % self._lanes,
                             range(self._n + self._lanes)) for i in range(width))
        m.d.comb += [self.read_valid.eq(have),
                     self.read_index.eq(offset[position] + group * self._lanes)]

        # a write in the cycle of `start` lands in the bank about to be read: count it
        first_bank = ~self.bank
        arriving = self.write & (write_bank == first_bank) & (count[first_bank] == 0)
        more = pointer < count[read_bank]
        finished = remaining == lowest
        take = have & self.read_ready
        restart = take & finished & ~more & self.rewind
        load = Signal()
        m.d.comb += [self.pending.eq((count[first_bank] != 0) | arriving),
                     load.eq((~have | (take & finished)) & more),
                     self.read_last.eq(have & finished & ~more),
                     self.read_done.eq(~have & ~more)]
        with m.If(self.start):
            m.d.comb += [rd.en.eq(self.pending), rd.addr.eq(first_bank * groups)]
            m.d.sync += [write_bank.eq(self.bank), read_bank.eq(first_bank),
                         count[self.bank].eq(0), taken.eq(0),
                         pointer.eq(self.pending), have.eq(self.pending)]
        with m.Else():
            m.d.comb += [rd.en.eq(load | restart),
                         rd.addr.eq(read_bank * groups + Mux(restart, 0, pointer))]
            with m.If(restart):
                m.d.sync += [pointer.eq(1), have.eq(1), taken.eq(0)]
            with m.Elif(load):
                m.d.sync += [pointer.eq(pointer + 1), have.eq(1), taken.eq(0)]
            with m.Elif(take & finished):
                m.d.sync += have.eq(0)
            with m.Elif(take):
                m.d.sync += taken.eq(taken | lowest)
        for counter, event in ((self.reads, rd.en), (self.writes, wr.en)):
            with m.If(self.clear):
                m.d.sync += counter.eq(0)
            with m.Elif(event):
                m.d.sync += counter.eq(counter + 1)
        with m.If(self.clear):
            m.d.sync += [count[0].eq(0), count[1].eq(0), pointer.eq(0), have.eq(0),
                         self.overflow.eq(0)]
        return m
