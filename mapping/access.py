"""What the digital core does, counted access by access: the contract between the RTL's
access counters, the model of them here, and the energy report that prices them.

:func:`count_accesses` fills them from an allocation and a reference
:class:`mapping.reference.Trace`; the RTL counters (``hardware/rtl``) must equal it, sample
by sample, and the energy report prices whatever these types hold, so neither side needs
to know the other's internals.

Every physical memory of the design is one :class:`MemoryAccesses` (a core's weight
memory, its state memory, a spike list between two layers, ...), with its shape and its
reads and writes per sample; every datapath operation class is one :class:`OpCounts` (the
adds of slope accumulation, of ``v += slope``, the threshold compares, ...), with its width
and its count per sample. Pricing needs nothing else: a memory is priced by its capacity
(``depth_words * width_bits``) and word width, an operation by its kind and width.
"""
from dataclasses import dataclass

import math

import numpy as np

__all__ = ["AccessCounts", "MemoryAccesses", "OpCounts", "MEMORY_KINDS", "OP_KINDS",
           "count_accesses", "lanes_per_layer", "core_groups", "index_bits", "bit_length",
           "wake_bound"]

#: What a memory holds; the energy report groups its breakdown by these. A ``register`` is a
#: small array of flip-flops (a core's per-group wake steps and step stamps), not an SRAM.
MEMORY_KINDS = ("weight", "state", "spike_list", "register")
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


# --- the model of the core (hardware/rtl, docs/rtl.md) ------------------------------------
#
# Per computing layer l with cores c of g_c = ceil(neurons_c / lanes) groups, G = max g_c,
# and D_l(k) the spikes of layer l - 1 at step k - 1 (the ones delivered at step k): each
# step, the layer takes its groups one after the other. In a step with spikes, every group
# is loaded (its state word read once), receives every spike (one weight word read, all
# lanes, fired or not) and is updated and written back once. In a step without spikes the
# layer sweeps its groups with updates, and a core drops the update of a group whose *wake
# step* has not come: every update stores, per group (flip-flops), the earliest step at
# which one of its lanes that has not fired could reach the threshold without new input
# (a lower bound, :func:`wake_bound`; the last step K - 1 when no lane has a positive slope),
# so the group cannot fire before it. The potentials of a skipped group fall behind by
# ``slope`` per step; the next time the group is loaded, the core catches up ``v += slope *
# missed`` on its open lanes (a step stamp per group, in flip-flops, gives ``missed``), so
# results are those of the reference. The last step updates every group (the output layer's
# decoding reads the final potentials, and every missed step is caught up by the end). The
# spike list feeding layer l is read once per group pass (G times per step with spikes); the
# output layer's list is read once (drained). A list holds one entry per (step, group) with
# a spike; entries of step K - 1 are read only from the output list.


def lanes_per_layer(lanes, n_layers):
    """``lanes`` as one integer in [1, 64] per computing layer (from one or a sequence)."""
    lanes = (lanes,) * n_layers if isinstance(lanes, (int, np.integer)) else tuple(lanes)
    if len(lanes) != n_layers or not all(
            isinstance(x, (int, np.integer)) and not isinstance(x, bool) and 1 <= x <= 64
            for x in lanes):
        raise ValueError(f"lanes must be an integer in [1, 64] or one per layer ({n_layers}), "
                         f"not {lanes!r}")
    return tuple(int(x) for x in lanes)


def core_groups(allocation, layer, lanes):
    """Groups of each core of computing layer ``layer`` (0 = first), ``lanes`` neurons each."""
    return [math.ceil(s.neurons / lanes) for s in allocation.layer_cores(layer)]


def index_bits(count):
    """Bits of an index in ``range(max(count, 2))``, as the RTL declares it."""
    return max(1, (max(count, 2) - 1).bit_length())


def _stored_mask_bits(mask_bits):
    """A spike-list entry stores its mask of one bit per lane of each core, unless there is
    one lane in all: then the mask is always 1 and not stored."""
    return mask_bits if mask_bits > 1 else 0


def _per_step(spike_steps, K):
    """Spikes per step: int64 [batch, K + 1], column K counting the silent neurons."""
    batch = len(spike_steps)
    keys = spike_steps + (K + 1) * np.arange(batch, dtype=np.int64)[:, None]
    return np.bincount(keys.ravel(), minlength=batch * (K + 1)).reshape(batch, K + 1)


def _entries_per_step(fire, slices, lanes, K):
    """Spike-list entries per step: the distinct (step, group) pairs with a spike [batch, K]."""
    batch, n = fire.shape
    group = np.concatenate([np.arange(s.neurons) // lanes for s in slices]).astype(np.int64)
    span = int(group.max(initial=0)) + 1
    keys = np.sort(np.where(fire < K, fire * span + group, K * span), axis=1)
    fresh = keys < K * span
    fresh[:, 1:] &= keys[:, 1:] != keys[:, :-1]
    sample, position = np.nonzero(fresh)
    step = keys[sample, position] // span
    return np.bincount(sample * K + step, minlength=batch * K).reshape(batch, K)


def _step_cycles(per_step, groups, K):
    """Cycles layer ``l`` needs in each step: [batch, K] (docs/rtl.md, Timing)."""
    delivered = np.zeros((len(per_step), K), dtype=np.int64)
    delivered[:, 1:] = per_step[:, :K - 1]
    return np.where(delivered > 0, (delivered + 1) * groups + 1, groups)


def step_bits(K):
    """Bits of a core's step stamp: a step in ``range(K)``."""
    return index_bits(K)


def missed_bits(K):
    """Bits of the steps a skipped group misses before it is loaded again: ``range(K - 1)``
    (at most steps 1 .. K - 2 are skipped between two loads)."""
    return index_bits(K - 1)


def bit_length(x):
    """``int.bit_length`` of each element of a non-negative int64 array."""
    x = np.asarray(x, dtype=np.int64)
    e = np.frexp(x.astype(np.float64))[1].astype(np.int64)   # exact up to rounding near 2**e
    e = np.where((e > 0) & ((x >> np.maximum(e - 1, 0)) == 0), e - 1, e)
    return np.where((e < 63) & ((x >> np.minimum(e, 62)) != 0), e + 1, e)


def wake_bound(threshold, potential, slope):
    """Steps ``n >= 1`` a lane needs at least, without new input, to reach ``threshold`` from
    ``potential < threshold`` at ``slope > 0``: the bound the core computes per lane (``x =
    threshold - 1 - potential``, ``e = max(bit_length(x) - bit_length(slope), 0)``, ``n = 1``
    for ``e = 0``, else ``2 ** (e - 1) + 1``). The exact count is ``ceil((x + 1) / slope)``;
    ``slope < 2 ** bit_length(slope)`` makes it at least ``x // 2 ** bit_length(slope) + 1``,
    whose quotient has ``e`` bits, so at least ``2 ** (e - 1) + 1``. Two priority encoders,
    a subtraction and a decoder: no divider and no shifter. int64 arrays, elementwise."""
    e = np.maximum(bit_length(np.asarray(threshold) - 1 - potential) - bit_length(slope), 0)
    return np.where(e == 0, 1, (np.int64(1) << np.maximum(e - 1, 0)) + 1)


def _wake_steps(threshold, slope, potential, open_after, lanes, K):
    """Per step ``k`` and group: the step from which the group must be updated again if no
    spike arrives (``k`` + the least :func:`wake_bound` of its lanes open after step ``k``
    with a positive slope; ``K - 1`` when it has none, the last step being always updated).
    ``slope``, ``potential``, ``open_after``: [K, groups * lanes]. Returns int64 [K, groups]."""
    candidate = open_after & (slope > 0)
    need = np.full(slope.shape, K, dtype=np.int64)
    need[candidate] = wake_bound(threshold, potential[candidate], slope[candidate])
    need = need.reshape(K, -1, lanes).min(axis=2)
    return np.minimum(np.arange(K)[:, None] + need, K - 1)


def _schedule(wake, delivering, K):
    """Which group-steps a core updates, given each group's wake step after an update at
    step ``k`` (``wake`` [batch, K, groups]) and whether spikes arrive (``delivering``
    [batch, K]): a group is updated in every step with spikes, in the last step, and when its
    wake step comes; not-yet-written groups wait for the first of these. bool [batch, K, g]."""
    batch, _, g = wake.shape
    done = np.zeros(wake.shape, dtype=bool)
    due = np.full((batch, g), K - 1, dtype=np.int64)
    for k in range(K):
        done[:, k] = (due <= k) | delivering[:, k, None]
        due = np.where(done[:, k], wake[:, k], due)
    return done


def _activity(layer, in_steps, fire, slices, lanes, K, skip_idle=True):
    """Which groups each core processes, per sample: (processed, catch_ups), each a list
    (one per core) of int64 [batch]: group-steps updated, and loads that catch up missed
    steps (docs/rtl.md, "Skipping groups that cannot fire yet")."""
    weight = np.asarray(layer.weight, dtype=np.int64)
    batch, n_out = len(in_steps), weight.shape[0]
    if not skip_idle:
        # every group is updated in every step: nothing is ever missed
        return ([np.full(batch, K * math.ceil(s.neurons / lanes), dtype=np.int64)
                 for s in slices], [np.zeros(batch, dtype=np.int64) for _ in slices])
    steps = np.arange(K)
    wakes = [np.zeros((batch, K, math.ceil(s.neurons / lanes)), dtype=np.int64) for s in slices]
    delivering = np.zeros((batch, K), dtype=bool)
    for b in range(batch):
        row = in_steps[b]
        idx = np.flatnonzero(row <= K - 2)
        idx = idx[np.argsort(row[idx], kind="stable")]
        # slope after the deliveries of step k: the inputs that spiked at or before k - 1
        arrived = np.searchsorted(row[idx], steps - 1, side="right")
        cumulative = np.zeros((len(idx) + 1, n_out), dtype=np.int64)
        np.cumsum(weight[:, idx].T, axis=0, out=cumulative[1:])
        slope = cumulative[arrived]                                   # [K, n_out]
        potential = np.cumsum(slope, axis=0)       # the reference's v(k) until the neuron fires
        open_after = fire[b][None, :] > steps[:, None]
        delivering[b] = np.diff(np.concatenate([[0], arrived])) > 0   # D(k) > 0
        for c, s in enumerate(slices):
            padded = [np.zeros((K, wakes[c].shape[2] * lanes), dtype=a.dtype)
                      for a in (slope, potential, open_after)]
            for full, part in zip(padded, (slope, potential, open_after)):
                full[:, :s.neurons] = part[:, s.start:s.stop]
            wakes[c][b] = _wake_steps(layer.threshold, *padded, lanes, K)
    processed, catch_ups = [], []
    for wake in wakes:
        done = _schedule(wake, delivering, K)
        seen = np.logical_or.accumulate(done, axis=1)
        processed.append(done.sum(axis=(1, 2)))
        catch_ups.append((done[:, 1:] & ~done[:, :-1] & seen[:, :-1]).sum(axis=(1, 2)))
    return processed, catch_ups


def _core_accesses(name, layer, core, groups, n_in, lanes, widths, weight_bits, K, activity):
    """The memories and operations of one core (:func:`count_accesses`)."""
    delivered, delivery_steps, sweeps, processed, catch_ups = activity
    deliver = delivered * groups
    passes = delivery_steps * groups        # group passes that receive spikes
    sb, pb = widths.slope_bits, widths.potential_bits
    memories = [
        MemoryAccesses(f"{name}.weight", "weight", layer, core, max(n_in * groups, 2),
                       lanes * weight_bits, deliver, np.zeros_like(deliver)),
        MemoryAccesses(f"{name}.state", "state", layer, core, max(groups, 2),
                       lanes * (sb + pb + 1), processed, processed),
        # flip-flops: a group's wake step is read by every sweep update issued to it and
        # written by every update; its stamp (written flag and step of its last update) is
        # read by every load and written by every update
        MemoryAccesses(f"{name}.wake", "register", layer, core, groups, step_bits(K),
                       sweeps * groups, processed),
        MemoryAccesses(f"{name}.stamp", "register", layer, core, groups, 1 + step_bits(K),
                       processed, processed),
        # the group's slopes and its potentials and fired flags carried between the
        # operations of a pass: slopes written by every deliver operation and read by every
        # operation after the first (D - 1 delivers and the update), potentials and flags
        # written by the first and read by the update
        MemoryAccesses(f"{name}.carry_slope", "register", layer, core, 1, lanes * sb,
                       deliver, deliver),
        MemoryAccesses(f"{name}.carry_potential", "register", layer, core, 1,
                       lanes * (pb + 1), passes, passes)]
    ops = [OpCounts(f"{name}.slope_add", "add", layer, core, sb, lanes * deliver),
           OpCounts(f"{name}.potential_add", "add", layer, core, pb, lanes * processed),
           OpCounts(f"{name}.threshold_compare", "compare", layer, core, pb, lanes * processed),
           # v += slope * missed: a shift-and-add multiplier, one add per bit of ``missed``
           OpCounts(f"{name}.catch_up_add", "add", layer, core, pb,
                    lanes * missed_bits(K) * catch_ups)]
    return memories, ops


def count_accesses(network, allocation, trace, *, lanes, skip_idle=True):
    """What the digital core (``hardware/rtl``) does for each sample of a reference trace.

    Parameters
    ----------
    network : :class:`mapping.network.IntNetwork`
    allocation : :class:`mapping.allocation.Allocation` of ``network``
    trace : :class:`mapping.reference.Trace` of ``network``
    lanes : int, or one int per computing layer: neurons per core updated per cycle
    skip_idle : the cores drop the updates of groups that cannot fire (default, as
        ``NetworkTop(skip_idle=True)``); False counts a core that updates every group in
        every step

    Returns an :class:`AccessCounts`: per core its weight memory (``l<l>.c<c>.weight``, a
    ROM), its state memory (``.state``), its flip-flop registers (``.wake``, ``.stamp``,
    ``.carry_slope``, ``.carry_potential``) and its adds and compares (``.slope_add``,
    ``.potential_add``, ``.threshold_compare``, ``.catch_up_add``); per layer its spike list (``l<l>.spikes``,
    ``l0.spikes`` the input's) and, for the output layer, the decoder's
    ``l<L>.argmax_compare``; the input and output beats and the cycles of an inference whose
    input beats come one per cycle, spikes only, and whose output is always ready.
    """
    K, L = network.steps, len(network.layers)
    lanes = lanes_per_layer(lanes, L)
    per_step = [_per_step(np.asarray(s, dtype=np.int64), K) for s in trace.spike_steps]
    groups = [core_groups(allocation, l, lanes[l]) for l in range(L)]
    # entries per step of each spike list: one per input spike for the input's list
    entries = [per_step[0][:, :K]] + [
        _entries_per_step(trace.spike_steps[l], allocation.layer_cores(l - 1), lanes[l - 1], K)
        for l in range(1, L + 1)]
    widths = [index_bits(network.sizes[0])] + [
        index_bits(max(g)) + _stored_mask_bits(len(g) * b) for g, b in zip(groups, lanes)]
    memories, ops = [], []
    for l in range(L + 1):
        # a list feeding a layer is read once per group pass; the output list once
        passes = max(groups[l]) if l < L else 1
        read = entries[l][:, :K - 1] if l < L else entries[l]
        depth = 2 * (network.sizes[0] if l == 0 else max(groups[l - 1]))
        memories.append(MemoryAccesses(f"l{l}.spikes", "spike_list", l, None, depth, widths[l],
                                       passes * read.sum(axis=1), entries[l].sum(axis=1)))
    for l, (layer, width) in enumerate(zip(network.layers, network.widths), start=1):
        delivered = per_step[l - 1][:, :K - 1].sum(axis=1)
        delivery_steps = (per_step[l - 1][:, :K - 1] > 0).sum(axis=1)
        processed, catch_ups = _activity(layer, trace.spike_steps[l - 1],
                                         trace.spike_steps[l], allocation.layer_cores(l - 1),
                                         lanes[l - 1], K, skip_idle)
        for c, g in enumerate(groups[l - 1]):
            more_memories, more_ops = _core_accesses(
                f"l{l}.c{c}", l, c, g, layer.n_in, lanes[l - 1], width, network.weight_bits,
                K, (delivered, delivery_steps, K - delivery_steps, processed[c], catch_ups[c]))
            memories += more_memories
            ops += more_ops
    out = per_step[L][:, :K]
    ops.append(OpCounts(f"l{L}.argmax_compare", "compare", L, None,
                        network.widths[-1].potential_bits,
                        np.full(len(out), lanes[-1] * sum(groups[-1]))))
    step_cycles = [_step_cycles(per_step[l], max(groups[l]), K) for l in range(L)]
    return AccessCounts(memories=tuple(memories), ops=tuple(ops),
                        input_beats=np.maximum(per_step[0][:, :K].sum(axis=1), 1),
                        output_beats=out.sum(axis=1),
                        cycles=_cycles(step_cycles, per_step[0][:, :K], out, K))


def _cycles(step_cycles, inputs, outputs, K):
    """Cycles from the first beat to ``done``: a step lasts as long as its slowest layer, its
    input beats (one per cycle) and the output beats of the step before, plus one; then the
    last step's output beats drain (docs/rtl.md, Timing)."""
    drained = np.zeros_like(outputs)
    drained[:, 1:] = outputs[:, :K - 1]
    length = np.maximum.reduce([np.ones_like(inputs), inputs + 1, drained + 1, *step_cycles])
    return length.sum(axis=1) + outputs[:, K - 1] + 3
