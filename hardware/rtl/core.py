"""The spiking core: a slice of one layer's neurons, their weights, and their event counters.

The arithmetic is that of :mod:`mapping.reference` (slopes accumulate delivered input
spikes, potentials accumulate slopes, a neuron fires once at ``v >= threshold`` and is frozen
from then on); this module only states how the core schedules it. Neurons are processed in
*groups* of ``lanes``: neuron ``n`` is lane ``n % lanes`` of group ``n // lanes``. The weight
memory holds one word of ``lanes`` weights per (input, group) at address
``input * groups + group``. Each operation is a two-stage pipeline: stage 1 reads the weight
word, stage 2 updates the registers of the group, so one operation issues every cycle. The
layer runs a group's operations back to back (its deliveries, then its update), so the
group's state word is read from the state memory by the first operation only, carried in
registers through the others and written back by the update: a delivery costs one weight
read and one add per lane, no state traffic.

Every update also computes the group's *wake step*: the earliest step at which one of its
lanes that has not fired could reach the threshold without new input, by a lower bound
per lane (:func:`mapping.access.wake_bound`: two priority encoders and a subtraction, no
divider); the last step when no open lane has a positive slope. The core keeps it per
group (flip-flops) and drops an update issued without deliveries (``load`` on an update)
to a group before its wake step: the state is neither read nor written. The potentials of
such a group fall behind by their slope per step; a stamp per group (the step of its last
update) tells the next operation that loads it how many steps it missed, and that
operation first catches up ``v += slope * missed`` on the lanes that have not fired. Since
no lane can reach the threshold before the wake step, fired lanes and potentials are
exactly those of the reference; the membrane-update counter adds the missed updates of
lanes with a non-zero slope when it catches them up.
"""
import math

import numpy as np
from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from mapping.access import missed_bits, step_bits

__all__ = ["SpikingCore", "pack_weights", "popcount", "bit_length"]


def _check_int(name, value, lo, hi=None):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < lo or (
            hi is not None and value > hi):
        bound = f"in [{lo}, {hi}]" if hi is not None else f"of at least {lo}"
        raise ValueError(f"{name} must be an integer {bound}, not {value!r}")


def _check_parameters(weight, threshold, weight_bits, slope_bits, potential_bits, lanes, steps):
    weight = np.asarray(weight)
    if weight.ndim != 2 or weight.size == 0 or not np.issubdtype(weight.dtype, np.integer):
        raise ValueError(f"weight must be a non-empty 2-D integer array, not "
                         f"{weight.dtype} of shape {weight.shape}")
    _check_int("weight_bits", weight_bits, 2, 32)
    _check_int("slope_bits", slope_bits, 2, 64)
    _check_int("potential_bits", potential_bits, 2, 64)
    _check_int("lanes", lanes, 1, 64)
    _check_int("steps", steps, 2)
    _check_int("threshold", threshold, 1)
    lo, hi = -(1 << (weight_bits - 1)), (1 << (weight_bits - 1)) - 1
    if weight.min() < lo or weight.max() > hi:
        raise ValueError(f"weights span [{weight.min()}, {weight.max()}], outside "
                         f"{weight_bits}-bit [{lo}, {hi}]")
    if threshold > (1 << (potential_bits - 1)) - 1:
        raise ValueError(f"threshold {threshold} does not fit a {potential_bits}-bit potential")
    return weight


def pack_weights(weight, lanes, weight_bits):
    """The weight memory's contents: a list of ``n_inputs * groups`` unsigned words.

    Word ``input * groups + group`` holds, in lane ``b`` (bits ``b * weight_bits`` up), the
    two's-complement weight from ``input`` to neuron ``group * lanes + b``; lanes beyond the
    last neuron hold zero.
    """
    weight = np.asarray(weight, dtype=np.int64)
    n_neurons, n_inputs = weight.shape
    groups = math.ceil(n_neurons / lanes)
    padded = np.zeros((groups * lanes, n_inputs), dtype=np.int64)
    padded[:n_neurons] = weight
    field = padded.T.reshape(n_inputs, groups, lanes) & ((1 << weight_bits) - 1)
    shifts = np.arange(lanes, dtype=object) * weight_bits
    return [int(sum(int(v) << int(s) for v, s in zip(word, shifts)))
            for word in field.reshape(n_inputs * groups, lanes)]


def popcount(bits):
    """Number of set bits of an Amaranth value, as an adder tree."""
    terms = [bits[i] for i in range(len(bits))]
    if not terms:
        return Const(0, 1)
    while len(terms) > 1:
        terms = [terms[i] + terms[i + 1] if i + 1 < len(terms) else terms[i]
                 for i in range(0, len(terms), 2)]
    return terms[0]


def bit_length(value):
    """``int.bit_length`` of an unsigned Amaranth value: the position of its leading one
    (a priority encoder)."""
    out = Const(0, range(len(value) + 1))
    for i in range(len(value)):
        out = Mux(value[i], i + 1, out)
    return out


def _minimum(values):
    """The least of unsigned Amaranth values, as a tree of comparators."""
    while len(values) > 1:
        values = [Mux(values[i] < values[i + 1], values[i], values[i + 1])
                  if i + 1 < len(values) else values[i] for i in range(0, len(values), 2)]
    return values[0]


class SpikingCore(wiring.Component):
    """A slice of integer TTFS neurons with all of their layer's inputs.

    The core executes operations issued by its layer's controller, one per cycle: *deliver*
    input ``input`` to group ``group`` (``slope += w`` on lanes that have not fired) or
    *update* group ``group`` for step ``step`` (``v += slope`` on lanes that have not fired,
    then fire if ``v >= threshold``). Results appear one cycle after issue (stage 2). The
    first operation on a group is issued with ``load``, the following ones on the same group
    without, and the last one is its update, which writes the state back.

    Parameters
    ----------
    weight : int array [n_neurons, n_inputs]
        the slice's weights, each within ``weight_bits``
    threshold : int
        firing threshold, at least 1
    weight_bits, slope_bits, potential_bits : int
        signed register widths (see :class:`mapping.network.RegisterWidths`)
    lanes : int
        neurons updated per cycle, in [1, 64]
    steps : int
        time steps K, at least 2
    skip_idle : bool
        drop the updates issued before a group's wake step (default); without, every update
        runs (the wake steps and stamps are kept and counted all the same)

    Members
    -------
    clear : In(1)
        zero all neurons and counters (operations issued in the same cycle are dropped)
    deliver, update : In(1)
        issue a deliver or an update operation (not both)
    load : In(1)
        the operation is the first on its group: read the group's state word from memory
        (otherwise it continues from the previous operation's result, on the same group)
    input : In(range(n_inputs))
        input index of a deliver operation
    group : In(range(groups))
        target group of the operation
    step : In(range(steps))
        the step of the operation: an update without ``load`` in the last step is never
        dropped, and an update stamps its group with it
    fired : Out(lanes)
        stage 2 of an update: lanes that fire now
    fired_group : Out(range(groups))
        the group of ``fired`` and ``potential``
    potential : Out(signed(potential_bits)).array(lanes)
        stage 2 of an update: the potential of each lane after the update
    neuron_valid : Out(lanes)
        stage 2 of an update: lanes that hold a neuron (the last group may be partial)
    spikes, synops, membrane_updates : Out
        event counts since the last ``clear``, as defined by :mod:`mapping.reference`
    weight_reads, state_reads, state_writes : Out
        enabled memory ports since the last ``clear``: one weight word per deliver, one
        state word read per ``load`` and written per update (dropped updates excluded)
    wake_reads, wake_writes, stamp_reads, stamp_writes : Out
        flip-flop accesses: a group's wake step is read by every update issued with ``load``
        and written by every update; its stamp (written flag and step) read by every
        operation that loads it and written by every update
    carry_slope_reads, carry_slope_writes, carry_potential_reads, carry_potential_writes : Out
        accesses of the registers that carry a group's slopes (written by every deliver, read
        by every operation that does not load) and its potentials and fired flags (written
        by the deliver that loads the group, read by the update that follows the delivers)
    slope_adds, potential_adds, threshold_compares, catch_up_adds : Out
        single-lane operations since the last ``clear``: every lane's slope adder runs on a
        deliver, its ``v + slope`` adder and threshold comparator on an update, and its
        catch-up ``v += slope * missed`` (one add per bit of ``missed``) on a load that
        catches up

    Raises
    ------
    ValueError
        if a parameter is out of range or a weight does not fit ``weight_bits``.
    """

    def __init__(self, weight, *, threshold, weight_bits, slope_bits, potential_bits, lanes,
                 steps, skip_idle=True):
        try:
            weight = _check_parameters(weight, threshold, weight_bits, slope_bits,
                                       potential_bits, lanes, steps)
        except ValueError:
            self._MustUse__silence = True   # a rejected component is not an unused one
            raise
        self._weight = weight.astype(np.int64)
        self._threshold = int(threshold)
        self._weight_bits = int(weight_bits)
        self._slope_bits = int(slope_bits)
        self._potential_bits = int(potential_bits)
        self._lanes = int(lanes)
        self._steps = int(steps)
        self._skip_idle = bool(skip_idle)
        n_neurons, n_inputs = weight.shape
        super().__init__({
            "clear": In(1),
            "deliver": In(1),
            "update": In(1),
            "load": In(1),
            "step": In(range(self._steps)),
            "input": In(range(max(n_inputs, 2))),
            "group": In(range(max(self.groups, 2))),
            "fired": Out(self._lanes),
            "fired_group": Out(range(max(self.groups, 2))),
            "potential": Out(signed(self._potential_bits)).array(self._lanes),
            "neuron_valid": Out(self._lanes),
            "spikes": Out(range(n_neurons + 1)),
            "synops": Out(range(n_inputs * n_neurons + 1)),
            "membrane_updates": Out(range(n_neurons * self._steps + 1)),
            "weight_reads": Out(range(n_inputs * self.groups + 1)),
            "state_reads": Out(range((n_inputs + self._steps) * self.groups + 1)),
            "state_writes": Out(range((n_inputs + self._steps) * self.groups + 1)),
            "slope_adds": Out(range(self._lanes * n_inputs * self.groups + 1)),
            "potential_adds": Out(range(self._lanes * self._steps * self.groups + 1)),
            "threshold_compares": Out(range(self._lanes * self._steps * self.groups + 1)),
            "wake_reads": Out(range(self._steps * self.groups + 1)),
            "wake_writes": Out(range(self._steps * self.groups + 1)),
            "stamp_reads": Out(range(self._steps * self.groups + 1)),
            "stamp_writes": Out(range(self._steps * self.groups + 1)),
            "carry_slope_reads": Out(range(n_inputs * self.groups + 1)),
            "carry_slope_writes": Out(range(n_inputs * self.groups + 1)),
            "carry_potential_reads": Out(range(self._steps * self.groups + 1)),
            "carry_potential_writes": Out(range(self._steps * self.groups + 1)),
            "catch_up_adds": Out(range(
                self._lanes * missed_bits(self._steps) * self._steps * self.groups + 1)),
        })

    @property
    def n_inputs(self):
        return self._weight.shape[1]

    @property
    def n_neurons(self):
        return self._weight.shape[0]

    @property
    def lanes(self):
        return self._lanes

    @property
    def groups(self):
        """Cycles one sweep over the neurons takes: ``ceil(n_neurons / lanes)``."""
        return math.ceil(self.n_neurons / self._lanes)

    @property
    def threshold(self):
        return self._threshold

    @property
    def steps(self):
        return self._steps

    def elaborate(self, platform):
        m = Module()
        lanes, groups, wb, K = self._lanes, self.groups, self._weight_bits, self._steps
        # memories have depth 2 at least: a zero-width address is not valid Verilog
        m.submodules.weights = weights = memory.Memory(
            shape=unsigned(lanes * wb), depth=max(self.n_inputs * groups, 2),
            init=pack_weights(self._weight, lanes, wb))
        read = weights.read_port()
        deliver = self.deliver & ~self.clear
        # flip-flops per group: written flag (a group not written since `clear` reads as
        # zero, and as waking in the last step: no cycles spent clearing memory), step of the
        # last update and wake step
        written = Signal(groups)
        sbits = step_bits(K)
        stamps, wakes = Signal(groups * sbits), Signal(groups * sbits)
        # the wake step of the group issued now; the update in stage 2 may be writing it
        wake_now, wake_next = Signal(sbits), Signal(sbits)
        sweep = self.update & self.load & ~self.clear
        update = self.update & ~self.clear
        if self._skip_idle:
            update &= ~(self.load & (self.step < wake_now))
        m.d.comb += [read.addr.eq(self.input * groups + self.group), read.en.eq(deliver)]

        sb, pb = self._slope_bits, self._potential_bits
        m.submodules.state = state = memory.Memory(
            shape=unsigned(lanes * (sb + pb + 1)), depth=max(groups, 2), init=[])
        store = state.write_port()
        fetch = state.read_port(transparent_for=(store,))
        m.d.comb += [fetch.addr.eq(self.group), fetch.en.eq((deliver | update) & self.load)]
        s2_deliver, s2_update, s2_load = Signal(), Signal(), Signal()
        s2_group, s2_step = Signal.like(self.group), Signal.like(self.step)
        m.d.sync += [s2_deliver.eq(deliver), s2_update.eq(update), s2_group.eq(self.group),
                     s2_load.eq(self.load), s2_step.eq(self.step)]
        s2_written = written.bit_select(s2_group, 1)
        # steps the loaded group missed since its last update (meaningful once written)
        missed = Signal(missed_bits(K))
        catch = Signal()
        m.d.comb += [missed.eq(s2_step - 1 - stamps.word_select(s2_group, sbits)),
                     catch.eq(s2_load & (s2_deliver | s2_update) & s2_written & (missed != 0))]
        word = Signal.like(fetch.data)
        carry_slope = Signal(lanes * sb)          # the group's slopes between its operations
        carry_potential = Signal(lanes * (pb + 1))    # its potentials and fired flags
        carried = Cat(*(Cat(carry_slope[b * sb:(b + 1) * sb],
                            carry_potential[b * (pb + 1):(b + 1) * (pb + 1)])
                        for b in range(lanes)))
        m.d.comb += word.eq(Mux(s2_load, Mux(s2_written, fetch.data, 0), carried))

        s2 = (s2_deliver, s2_update, s2_group, catch, missed)
        per_lane = [self._elaborate_lane(m, b, s2, word, read.data) for b in range(lanes)]
        slopes, potentials, open_lanes, fire_lanes, busy_lanes, caught_lanes, bounds = (
            list(column) for column in zip(*per_lane))
        m.d.comb += [wake_next.eq(self._wake_step(_minimum(bounds), s2_step)),
                     wake_now.eq(Mux(s2_update & (s2_group == self.group), wake_next,
                                     Mux(written.bit_select(self.group, 1),
                                         wakes.word_select(self.group, sbits), K - 1)))]
        m.d.comb += [store.addr.eq(s2_group),
                     store.data.eq(Cat(*(Cat(s_, p_) for s_, p_ in zip(slopes, potentials)))),
                     store.en.eq(s2_update)]
        with m.If(s2_deliver):
            m.d.sync += carry_slope.eq(Cat(*slopes))
            with m.If(s2_load):
                m.d.sync += carry_potential.eq(Cat(*potentials))
        with m.If(s2_update):
            m.d.sync += [written.bit_select(s2_group, 1).eq(1),
                         wakes.word_select(s2_group, sbits).eq(wake_next),
                         stamps.word_select(s2_group, sbits).eq(s2_step)]

        events = [(self.weight_reads, read.en, 1), (self.state_reads, fetch.en, 1),
                  (self.state_writes, store.en, 1), (self.slope_adds, s2_deliver, lanes),
                  (self.potential_adds, s2_update, lanes),
                  (self.threshold_compares, s2_update, lanes),
                  (self.wake_reads, sweep, 1), (self.wake_writes, s2_update, 1),
                  (self.stamp_reads, s2_load & (s2_deliver | s2_update), 1),
                  (self.stamp_writes, s2_update, 1),
                  (self.carry_slope_reads, (s2_deliver | s2_update) & ~s2_load, 1),
                  (self.carry_slope_writes, s2_deliver, 1),
                  (self.carry_potential_reads, s2_update & ~s2_load, 1),
                  (self.carry_potential_writes, s2_deliver & s2_load, 1),
                  (self.catch_up_adds, catch, lanes * missed_bits(K))]
        self._elaborate_event_counters(m, s2, (fire_lanes, open_lanes, busy_lanes, caught_lanes))
        self._elaborate_access_counters(m, events)
        with m.If(self.clear):
            m.d.sync += written.eq(0)
        return m

    def _wake_step(self, e, step):
        """The group's wake step after an update at ``step`` whose open lanes' least wake
        exponent is ``e`` (:func:`mapping.access.wake_bound`): ``step + 1`` for ``e = 0``,
        ``step + 2 ** (e - 1) + 1`` otherwise, at most the last step."""
        K, top = self._steps, step_bits(self._steps) + 1
        ahead = Mux(e == 0, 1, (Const(1, top + 1) << (e - 1)[:len(e)]) + 1)
        total = step + ahead
        return Mux(total >= K - 1, K - 1, total)

    def _elaborate_lane(self, m, b, s2, word, weights):
        """Stage 2 of lane ``b``: the catch-up, the delivery or update, the fire decision.
        Returns its next slope, its next potential and fired flag, and whether it is open,
        fires, updates a non-zero slope, is caught up with a non-zero slope, and its wake
        exponent (:func:`mapping.access.wake_bound`; the largest when it cannot fire without
        new input)."""
        s2_deliver, s2_update, s2_group, catch, missed = s2
        sb, pb, wb = self._slope_bits, self._potential_bits, self._weight_bits
        # lane b of group g holds a neuron iff g < ceil((n_neurons - b) / lanes)
        last = max(0, -(-(self.n_neurons - b) // self._lanes))
        real = Const(0) if last == 0 else Const(1) if last == self.groups else s2_group < last
        w = weights[b * wb:(b + 1) * wb].as_signed()
        field = word[b * (sb + pb + 1):(b + 1) * (sb + pb + 1)]
        s, v, f = field[:sb].as_signed(), field[sb:sb + pb].as_signed(), field[-1]
        v_now, s_next, v_next = Signal(signed(pb)), Signal(signed(sb)), Signal(signed(pb))
        m.d.comb += v_now.eq(Mux(catch & ~f, v + s * missed, v))
        v_sum = v_now + s
        fire = s2_update & ~f & (v_sum >= self._threshold)
        m.d.comb += [s_next.eq(Mux(s2_deliver & ~f, s + w, s)),
                     v_next.eq(Mux(s2_update & ~f, v_sum, v_now)),
                     self.potential[b].eq(v_next), self.neuron_valid[b].eq(s2_update & real)]
        # steps to the threshold at this slope, at least: x = threshold - 1 - v, exponent
        # bit_length(x) - bit_length(slope), meaningful on the lanes that can fire later
        top = step_bits(self._steps) + 1
        x, e = Signal(pb + 1), Signal(range(top + 1))
        x_bits, s_bits = bit_length(x), bit_length(s_next[:sb - 1])
        gap = Mux(x_bits > s_bits, x_bits - s_bits, 0)
        m.d.comb += [x.eq(self._threshold - 1 - v_sum),
                     e.eq(Mux(~(f | fire) & (s_next > 0), Mux(gap > top, top, gap), top))]
        return (s_next, Cat(v_next, f | fire), real & ~f, fire, s2_update & ~f & (s != 0),
                catch & ~f & (s != 0), e)

    def _elaborate_event_counters(self, m, s2, lanes):
        """The reference's event counters: spikes, synaptic operations, membrane updates
        (with the missed updates of the lanes a catch-up brings forward)."""
        s2_deliver, _, s2_group, _, missed = s2
        fired, open_mask, busy, caught = (Signal(self._lanes) for _ in range(4))
        m.d.comb += [fired.eq(Cat(*lanes[0])), open_mask.eq(Cat(*lanes[1])),
                     busy.eq(Cat(*lanes[2])), caught.eq(Cat(*lanes[3])),
                     self.fired.eq(fired), self.fired_group.eq(s2_group)]
        m.d.sync += [self.spikes.eq(self.spikes + popcount(fired)),
                     self.membrane_updates.eq(self.membrane_updates + popcount(busy)
                                              + popcount(caught) * missed)]
        with m.If(s2_deliver):
            m.d.sync += self.synops.eq(self.synops + popcount(open_mask))
        with m.If(self.clear):
            m.d.sync += [self.spikes.eq(0), self.synops.eq(0), self.membrane_updates.eq(0)]

    def _elaborate_access_counters(self, m, events):
        """Counters of the priced events (:func:`mapping.access.count_accesses`):
        ``(counter, event, amount)``."""
        for counter, event, amount in events:
            with m.If(self.clear):
                m.d.sync += counter.eq(0)
            with m.Elif(event):
                m.d.sync += counter.eq(counter + amount)
