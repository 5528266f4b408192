"""A computing layer: its cores in lockstep and the controller that runs one step.

The layer takes its groups one after the other (group-major). With spikes to deliver (those
the previous layer emitted one step earlier, read from its
:class:`~hardware.rtl.spikelist.SpikeList`), group ``g`` receives one deliver operation per
spike and then its update, and the list is rewound for the next group; so each group's
state is read once and written once per step, whatever the number of spikes. Without
spikes the groups are updated in one sweep. The cores of a layer share the group counter;
a core whose own groups are exhausted sits the extra groups out. Fired lanes of all cores of
one group form one spike-list entry. The counters are the sums over the cores.
"""
from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["Layer"]


class Layer(wiring.Component):
    """The cores of one computing layer and their step controller.

    Parameters
    ----------
    cores : sequence of :class:`SpikingCore`
        the layer's cores in neuron order, all with the same lanes, inputs and steps
    starts : sequence of int
        the first neuron of each core within the layer
    track_argmax : bool
        keep the lowest index of the largest potential after the last step's update (for
        the output layer's decoding)

    Members
    -------
    clear : In(1)
        zero the cores and counters
    start : In(1), step : In(range(K))
        begin step ``step``
    busy : Out(1)
        the step begun by ``start`` still issues operations (from the cycle after
        ``start``); the spikes of its last update are written in the cycle after ``busy``
        falls, which may be the next ``start``
    source_valid, source_index, source_ready, source_done, source_last, source_pending
        the spikes to deliver, from the previous layer's spike list
    source_rewind : Out(1)
        with the last spike of a group's pass: read the spikes again for the next group
    write, write_group, write_mask : Out
        an entry of spikes emitted now, for this layer's spike list
    argmax : Out(range(n_neurons))
        with ``track_argmax``: the neuron with the largest potential after the update of
        step K - 1, ties to the lowest index
    spikes, synops, membrane_updates : Out
        event counts since ``clear``
    argmax_compares : Out
        with ``track_argmax``: single-lane comparisons of the argmax since ``clear`` (every
        lane of every core updated in step K - 1)
    """

    def __init__(self, cores, starts, *, track_argmax=False):
        cores, starts = tuple(cores), tuple(int(s) for s in starts)
        if not cores or len(cores) != len(starts):
            raise ValueError(f"{len(cores)} cores for {len(starts)} starts")
        first = cores[0]
        for core in cores:
            if (core.lanes, core.n_inputs, core.steps) != (first.lanes, first.n_inputs,
                                                           first.steps):
                raise ValueError("the cores of a layer must share lanes, inputs and steps")
        for core, a, b in zip(cores, starts, starts[1:] + (None,)):
            if b is not None and a + core.n_neurons != b:
                raise ValueError(f"core starting at {a} with {core.n_neurons} neurons does not "
                                 f"reach the next core at {b}")
        self._cores, self._starts, self._track = cores, starts, bool(track_argmax)
        n = self.n_neurons
        potential_bits = max(len(c.potential[0]) for c in cores)
        self._potential_bits = potential_bits
        super().__init__({
            "clear": In(1),
            "start": In(1),
            "step": In(range(first.steps)),
            "busy": Out(1),
            "source_valid": In(1),
            "source_index": In(range(max(first.n_inputs, 2))),
            "source_ready": Out(1),
            "source_done": In(1),
            "source_last": In(1),
            "source_pending": In(1),
            "source_rewind": Out(1),
            "write": Out(1),
            "write_group": Out(range(max(self.groups, 2))),
            "write_mask": Out(len(cores) * first.lanes),
            "argmax": Out(range(max(n, 2))),
            "spikes": Out(range(n + 1)),
            "synops": Out(range(first.n_inputs * n + 1)),
            "membrane_updates": Out(range(n * first.steps + 1)),
            **({"argmax_compares": Out(range(first.lanes * sum(c.groups for c in cores) + 1))}
               if self._track else {}),
        })

    @property
    def n_neurons(self):
        return sum(core.n_neurons for core in self._cores)

    @property
    def groups(self):
        """Cycles per sweep: the largest group count of the cores."""
        return max(core.groups for core in self._cores)

    @property
    def starts(self):
        return self._starts

    @property
    def lanes(self):
        return self._cores[0].lanes

    @property
    def cores(self):
        return self._cores

    def elaborate(self, platform):
        m = Module()
        groups = self.groups
        last_step = self._cores[0].steps - 1
        group = Signal(range(max(groups, 2)))
        step = Signal.like(self.step)
        deliver = Signal()
        update = Signal()
        s2_update = Signal()
        s2_group = Signal.like(group)
        m.d.sync += [s2_update.eq(update & ~self.clear), s2_group.eq(group)]

        load = Signal()
        first = Signal()
        # the step of the operations issued now: the register, or the new step in the
        # cycle that starts it
        op_step = Signal.like(step)
        m.d.comb += op_step.eq(step)
        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += op_step.eq(self.step)
                with m.If(self.start & ~self.clear):
                    m.d.sync += [step.eq(self.step), group.eq(0), first.eq(1)]
                    with m.If(self.source_pending):
                        m.next = "DELIVER"
                    with m.Else():
                        # nothing to deliver: the update sweep starts in the start cycle
                        m.d.comb += [update.eq(1), load.eq(1)]
                        if groups > 1:
                            m.d.sync += group.eq(1)
                            m.next = "SWEEP"
            with m.State("DELIVER"):
                # every spike of the step to this group, then its update (CLOSE)
                m.d.comb += self.busy.eq(1)
                with m.If(self.source_valid):
                    m.d.comb += [deliver.eq(1), load.eq(first), self.source_ready.eq(1)]
                    m.d.sync += first.eq(0)
                    with m.If(self.source_last):
                        m.d.comb += self.source_rewind.eq(group != groups - 1)
                        m.next = "CLOSE"
            with m.State("CLOSE"):
                m.d.comb += [self.busy.eq(1), update.eq(1)]
                m.d.sync += first.eq(1)
                with m.If(group == groups - 1):
                    m.d.sync += group.eq(0)
                    m.next = "IDLE"
                with m.Else():
                    m.d.sync += group.eq(group + 1)
                    m.next = "DELIVER"
            with m.State("SWEEP"):
                m.d.comb += [self.busy.eq(1), update.eq(1), load.eq(1)]
                with m.If(group == groups - 1):
                    m.d.sync += group.eq(0)
                    m.next = "IDLE"
                with m.Else():
                    m.d.sync += group.eq(group + 1)

        masks, s2_lanes = [], []
        for i, core in enumerate(self._cores):
            m.submodules[f"core{i}"] = core
            mine = group < core.groups
            s2_mine = Signal(name=f"s2_mine{i}")
            m.d.sync += s2_mine.eq(mine)
            s2_lanes.append(Mux(s2_mine, core.lanes, 0))
            m.d.comb += [core.clear.eq(self.clear), core.deliver.eq(deliver & mine),
                         core.update.eq(update & mine), core.load.eq(load),
                         core.step.eq(op_step),
                         core.input.eq(self.source_index),
                         core.group.eq(group)]
            masks.append(core.fired)
        mask = Cat(*masks)
        m.d.comb += [self.write.eq(s2_update & (mask != 0)), self.write_group.eq(s2_group),
                     self.write_mask.eq(mask)]
        m.d.comb += [self.spikes.eq(sum(c.spikes for c in self._cores)),
                     self.synops.eq(sum(c.synops for c in self._cores)),
                     self.membrane_updates.eq(sum(c.membrane_updates for c in self._cores))]
        if self._track:
            last_update = s2_update & (step == last_step)
            self._elaborate_argmax(m, last_update, s2_group)
            with m.If(self.clear):
                m.d.sync += self.argmax_compares.eq(0)
            with m.Elif(last_update):
                m.d.sync += self.argmax_compares.eq(self.argmax_compares + sum(s2_lanes))
        return m

    def _elaborate_argmax(self, m, enable, s2_group):
        """Running argmax over the candidates of each update cycle, lowest index on ties."""
        best_v = Signal(signed(self._potential_bits))
        best_i = Signal.like(self.argmax)
        found = Signal()
        v, i, ok = best_v, best_i, found
        for core, start in zip(self._cores, self._starts):
            for b in range(core.lanes):
                index = Const(start + b, len(self.argmax)) + s2_group * core.lanes
                cand_v, cand_i = core.potential[b], index[:len(self.argmax)]
                better = core.neuron_valid[b] & (~ok | (cand_v > v) |
                                                 ((cand_v == v) & (cand_i < i)))
                v_next, i_next, ok_next = (Signal.like(best_v), Signal.like(best_i), Signal())
                m.d.comb += [v_next.eq(v), i_next.eq(i), ok_next.eq(ok)]
                with m.If(better):
                    m.d.comb += [v_next.eq(cand_v), i_next.eq(cand_i), ok_next.eq(1)]
                v, i, ok = v_next, i_next, ok_next
        with m.If(enable):
            m.d.sync += [best_v.eq(v), best_i.eq(i), found.eq(ok)]
        with m.If(self.clear):
            m.d.sync += [best_v.eq(0), best_i.eq(0), found.eq(0)]
        m.d.comb += self.argmax.eq(best_i)
