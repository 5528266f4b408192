"""The network top: layers of spiking cores per the allocation, with an address-event interface.

All layers run the steps of :mod:`mapping.reference` in lockstep. Step ``k`` begins for
every layer at once; layer ``l`` delivers the spikes its inputs emitted at step ``k - 1``
and updates its neurons, writing the spikes of step ``k`` into its spike list; the input
stream fills the input list with the spikes of step ``k`` meanwhile. Step ``k + 1`` begins
when every layer is done, the input has presented all spikes of step ``k``, and the output
stream has taken the output spikes of step ``k - 1``. The protocol is documented in
``docs/rtl.md``.

Input beats ``(index, step, last)`` arrive in non-decreasing ``step`` order; a beat whose
step is ``K`` or more is no spike (an input with no spikes is one such beat with ``last``).
The first beat presented starts an inference; ``done`` rises once the beat with ``last``
has been taken and all steps have run, and stays high, with the prediction and the counters,
until the next inference starts. Output beats ``(index, step)`` are the output layer's
spikes in non-decreasing step order.
"""
from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from mapping.access import lanes_per_layer
from mapping.allocation import allocate, CoreLimits

from .core import SpikingCore
from .layer import Layer
from .scoreboard import counter_member
from .spikelist import SpikeList

__all__ = ["NetworkTop", "CYCLE_BITS"]

#: Width of the clock-cycle counter.
CYCLE_BITS = 32


class NetworkTop(wiring.Component):
    """An integer TTFS network in hardware.

    Parameters
    ----------
    network : :class:`mapping.network.IntNetwork`
    allocation : :class:`mapping.allocation.Allocation`, optional
        the cores of each layer (default: :func:`mapping.allocation.allocate` with default
        limits)
    lanes : int or sequence of int
        neurons per core updated per cycle, for all layers or per layer
    skip_idle : bool
        the cores drop the updates of groups that cannot fire (default; see
        :class:`~hardware.rtl.core.SpikingCore`)

    Members
    -------
    spike_in : valid, ready, index, step, last
        input spikes (see the module docstring)
    spike_out : valid, ready, index, step
        output-layer spikes
    done : Out(1)
        the inference has finished; the members below hold its results
    prediction : Out(range(n_out))
        the decoded class (:func:`mapping.reference.decode`)
    spikes, synops, membrane_updates : Out(...).array(L + 1)
        event counts per layer, index 0 the input layer (whose synops and membrane updates
        are zero), as in :class:`mapping.reference.Trace`
    cycles : Out(CYCLE_BITS)
        clock cycles from the cycle an inference's first beat is presented to ``done``
    counters : Out(...)
        the accesses of :func:`mapping.access.count_accesses` since the inference began:
        per core ``l<l>_c<c>_weight_reads``, ``_state_reads``, ``_state_writes``,
        ``_wake_reads``, ``_wake_writes``, ``_stamp_reads``, ``_stamp_writes``,
        ``_carry_slope_reads``, ``_carry_slope_writes``, ``_carry_potential_reads``,
        ``_carry_potential_writes``, ``_slope_add``,
        ``_potential_add``, ``_threshold_compare``, ``_catch_up_add``; per spike list
        ``l<l>_spikes_reads``, ``_writes``; ``l<L>_argmax_compare``; ``input_beats`` and
        ``output_beats`` (see :func:`hardware.rtl.scoreboard.counter_member`)
    error : Out(1)
        the input broke the protocol (a step lower than an earlier one, an index beyond the
        inputs, or more spikes of one step than inputs); the results are then meaningless
    """

    def __init__(self, network, allocation=None, *, lanes=1, skip_idle=True):
        try:
            self._build_layers(network, allocation, lanes, skip_idle)
        except ValueError:
            self._MustUse__silence = True   # a rejected component is not an unused one
            raise
        K, sizes, n_layers = network.steps, network.sizes, len(network.layers)
        spike_in = wiring.Signature({
            "valid": Out(1), "ready": In(1), "index": Out(range(max(sizes[0], 2))),
            "step": Out(range(K + 1)), "last": Out(1)})
        spike_out = wiring.Signature({
            "valid": Out(1), "ready": In(1), "index": Out(range(max(sizes[-1], 2))),
            "step": Out(range(K))})
        super().__init__({
            "spike_in": In(spike_in),
            "spike_out": Out(spike_out),
            "done": Out(1),
            "prediction": Out(range(max(sizes[-1], 2))),
            "spikes": Out(range(max(sizes) + 1)).array(n_layers + 1),
            "synops": Out(range(max(a * b for a, b in zip(sizes, sizes[1:])) + 1)
                          ).array(n_layers + 1),
            "membrane_updates": Out(range(max(sizes[1:]) * K + 1)).array(n_layers + 1),
            "cycles": Out(CYCLE_BITS),
            "error": Out(1),
            "counters": Out(wiring.Signature({
                name: Out(len(value)) for name, value in self._counter_sources().items()})),
        })

    def _build_layers(self, network, allocation, lanes, skip_idle):
        allocation = allocate(network, CoreLimits()) if allocation is None else allocation
        n_layers = len(network.layers)
        self._lanes = lanes_per_layer(lanes, n_layers)
        self._skip_idle = bool(skip_idle)
        self._network, self._allocation = network, allocation
        self._layers = []
        for index, (layer, widths) in enumerate(zip(network.layers, network.widths)):
            slices = allocation.layer_cores(index)
            if not slices or slices[0].start != 0 or slices[-1].stop != layer.n_out:
                raise ValueError(f"the allocation does not cover layer {index}")
            cores = [SpikingCore(layer.weight[s.start:s.stop], threshold=layer.threshold,
                                 weight_bits=network.weight_bits, slope_bits=widths.slope_bits,
                                 potential_bits=widths.potential_bits,
                                 lanes=self._lanes[index], steps=network.steps,
                                 skip_idle=skip_idle)
                     for s in slices]
            self._layers.append(Layer(cores, [s.start for s in slices],
                                      track_argmax=index == n_layers - 1))
        # a list is read once per group of the layer it feeds (the output list once)
        n_in = network.sizes[0]
        passes = [layer.groups for layer in self._layers] + [1]
        self._lists = [SpikeList(groups=n_in, lanes=1, starts=[0], n_neurons=n_in,
                                 passes=passes[0])]
        for layer, reads in zip(self._layers, passes[1:]):
            self._lists.append(SpikeList(groups=layer.groups, lanes=layer.lanes,
                                         starts=layer.starts, n_neurons=layer.n_neurons,
                                         passes=reads))
        sizes = network.sizes
        self._input_beats = Signal(range(sizes[0] + 2), name="input_beats")
        self._output_beats = Signal(range(sizes[-1] + 1), name="output_beats")

    def _counter_sources(self):
        """The access counters of the layers, cores and lists, by member of ``counters``."""
        sources = {}
        for l, (layer, spikes) in enumerate(zip([None, *self._layers], self._lists)):
            for c, core in enumerate(layer.cores if layer else ()):
                name = f"l{l}.c{c}"
                sources.update({
                    counter_member(f"{name}.weight", "reads"): core.weight_reads,
                    counter_member(f"{name}.state", "reads"): core.state_reads,
                    counter_member(f"{name}.state", "writes"): core.state_writes,
                    counter_member(f"{name}.slope_add"): core.slope_adds,
                    counter_member(f"{name}.potential_add"): core.potential_adds,
                    counter_member(f"{name}.threshold_compare"): core.threshold_compares,
                    counter_member(f"{name}.catch_up_add"): core.catch_up_adds,
                    counter_member(f"{name}.wake", "reads"): core.wake_reads,
                    counter_member(f"{name}.wake", "writes"): core.wake_writes,
                    counter_member(f"{name}.stamp", "reads"): core.stamp_reads,
                    counter_member(f"{name}.stamp", "writes"): core.stamp_writes,
                    counter_member(f"{name}.carry_slope", "reads"): core.carry_slope_reads,
                    counter_member(f"{name}.carry_slope", "writes"): core.carry_slope_writes,
                    counter_member(f"{name}.carry_potential", "reads"):
                        core.carry_potential_reads,
                    counter_member(f"{name}.carry_potential", "writes"):
                        core.carry_potential_writes})
            sources[counter_member(f"l{l}.spikes", "reads")] = spikes.reads
            sources[counter_member(f"l{l}.spikes", "writes")] = spikes.writes
        sources[counter_member(f"l{len(self._layers)}.argmax_compare")] = \
            self._layers[-1].argmax_compares
        sources["input_beats"], sources["output_beats"] = self._input_beats, self._output_beats
        return sources

    @property
    def network(self):
        return self._network

    @property
    def allocation(self):
        return self._allocation

    @property
    def lanes(self):
        """Lanes per computing layer."""
        return self._lanes

    def groups(self):
        """Groups (cycles per sweep) of every core, per computing layer."""
        return [[core.groups for core in layer._cores] for layer in self._layers]

    def parameters(self):
        """The parameters of this top, as recorded in the export sidecar."""
        net = self._network
        return {
            "sizes": net.sizes, "steps": net.steps, "weight_bits": net.weight_bits,
            "lanes": list(self._lanes), "skip_idle": self._skip_idle,
            "wake_step": True,   # the cores keep a wake step per group, not a live bit
            "thresholds": [l.threshold for l in net.layers],
            "slope_bits": [w.slope_bits for w in net.widths],
            "potential_bits": [w.potential_bits for w in net.widths],
            "cores": [[c.layer, c.start, c.stop] for c in self._allocation.cores],
            "groups": self.groups(),
            "cycle_bits": CYCLE_BITS,
        }

    def elaborate(self, platform):
        m = Module()
        K = self._network.steps
        n_in = self._network.sizes[0]
        lists = self._lists
        for i, spike_list in enumerate(lists):
            m.submodules[f"list{i}"] = spike_list
        for i, layer in enumerate(self._layers):
            m.submodules[f"layer{i}"] = layer

        clear = Signal()
        start = Signal()
        layer_start = Signal()
        next_step = Signal(range(K + 1))
        step = Signal(range(K + 1))
        last_taken = Signal()
        for i, layer in enumerate(self._layers):
            source, sink = lists[i], lists[i + 1]
            m.d.comb += [layer.clear.eq(clear), layer.start.eq(layer_start),
                         layer.step.eq(next_step),
                         layer.source_valid.eq(source.read_valid),
                         layer.source_index.eq(source.read_index),
                         layer.source_done.eq(source.read_done),
                         layer.source_last.eq(source.read_last),
                         layer.source_pending.eq(source.pending),
                         source.read_ready.eq(layer.source_ready),
                         source.rewind.eq(layer.source_rewind),
                         sink.write.eq(layer.write), sink.write_group.eq(layer.write_group),
                         sink.write_mask.eq(layer.write_mask)]
        # after the last step only the output list is read (drained): the others stay put
        for spike_list in lists:
            m.d.comb += [spike_list.clear.eq(clear), spike_list.bank.eq(next_step[0]),
                         spike_list.start.eq(start if spike_list is lists[-1] else layer_start)]

        beat = self.spike_in
        taken = Signal()
        late = beat.step < step
        current = beat.step == step
        spike = taken & current & (beat.step < K)
        stray = beat.index >= n_in
        m.d.comb += [lists[0].write.eq(spike & ~stray),
                     lists[0].write_group.eq(beat.index), lists[0].write_mask.eq(1)]
        with m.If(taken & beat.last):
            m.d.sync += last_taken.eq(1)
        with m.If(taken & late | spike & stray | lists[0].overflow):
            m.d.sync += self.error.eq(1)
        with m.If(spike & ~stray):
            m.d.sync += self.spikes[0].eq(self.spikes[0] + 1)
        with m.If(taken):
            m.d.sync += self._input_beats.eq(self._input_beats + 1)

        out, tail = self.spike_out, lists[-1]
        out_step = Signal.like(out.step)
        first = Signal()
        first_step = Signal.like(out.step)
        first_index = Signal.like(out.index)
        m.d.comb += [out.valid.eq(tail.read_valid), out.index.eq(tail.read_index),
                     out.step.eq(out_step), tail.read_ready.eq(out.ready)]
        with m.If(out.valid & out.ready):
            m.d.sync += self._output_beats.eq(self._output_beats + 1)
        with m.If(out.valid & out.ready & (~first | ((out.step == first_step) &
                                                     (out.index < first_index)))):
            m.d.sync += [first.eq(1), first_step.eq(out.step), first_index.eq(out.index)]

        for l, layer in enumerate(self._layers, start=1):
            m.d.comb += [self.spikes[l].eq(layer.spikes), self.synops[l].eq(layer.synops),
                         self.membrane_updates[l].eq(layer.membrane_updates)]
        for name, value in self._counter_sources().items():
            m.d.comb += getattr(self.counters, name).eq(value)
        m.d.comb += self.prediction.eq(first_index)
        with m.If(~first):
            m.d.comb += self.prediction.eq(self._layers[-1].argmax)

        layers_idle = Signal()
        m.d.comb += layers_idle.eq(1)
        for layer in self._layers:
            with m.If(layer.busy):
                m.d.comb += layers_idle.eq(0)
        input_complete = last_taken | (beat.valid & (beat.step > step))

        barrier = layers_idle & tail.read_done & input_complete
        m.d.comb += next_step.eq(step)
        with m.If(start):
            m.d.sync += out_step.eq(step)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(beat.valid):
                    m.d.sync += [self.done.eq(0), self.error.eq(0), self.cycles.eq(1),
                                 self.spikes[0].eq(0), last_taken.eq(0), first.eq(0),
                                 self._input_beats.eq(0), self._output_beats.eq(0),
                                 first_index.eq(0), step.eq(0)]
                    m.d.comb += clear.eq(1)
                    m.next = "START"
            with m.State("START"):
                m.d.comb += [start.eq(1), layer_start.eq(1)]
                m.d.sync += self.cycles.eq(self.cycles + 1)
                m.next = "RUN"
            with m.State("RUN"):
                m.d.sync += self.cycles.eq(self.cycles + 1)
                m.d.comb += [beat.ready.eq(~last_taken & (current | late | (beat.step >= K))),
                             taken.eq(beat.valid & beat.ready)]
                with m.If(barrier):
                    m.d.comb += [next_step.eq(step + 1), start.eq(1)]
                    m.d.sync += step.eq(step + 1)
                    with m.If(step == K - 1):
                        m.next = "DRAIN"
                    with m.Else():
                        m.d.comb += layer_start.eq(1)
            with m.State("DRAIN"):
                m.d.sync += self.cycles.eq(self.cycles + 1)
                m.d.comb += [beat.ready.eq(~last_taken), taken.eq(beat.valid & beat.ready)]
                with m.If(tail.read_done & last_taken):
                    m.d.sync += self.done.eq(1)
                    m.next = "IDLE"
        return m
