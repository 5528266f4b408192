"""What the hardware must produce for a sample, and the comparison with what it did produce.

Shared by the Amaranth testbench, the cocotb benches and the plain Verilog testbench of
:mod:`hardware.rtl.testbench` (and usable by any other bench):
the input beats of a sample (:func:`input_beats`), the expected results from the reference
simulator and the access model (:func:`expected`, and :func:`expected_counters`: every
counter port's value at ``done``), the first difference between expected and observed
(:func:`first_mismatch`), and the architecture's lower bound on clock cycles
(:func:`lower_bound_cycles`).
"""
from dataclasses import asdict, dataclass, field

import numpy as np

__all__ = ["Observed", "input_beats", "expected", "expected_counters", "counter_member",
           "counter_ports", "first_mismatch", "cycle_budget", "lower_bound_cycles"]

COUNTERS = ("spikes", "synops", "membrane_updates")
#: Output ports of the address-event protocol; every other output port is a counter.
PROTOCOL_OUTPUTS = ("spike_in__ready", "spike_out__valid", "spike_out__index",
                    "spike_out__step", "done", "prediction", "error")
#: Prefix of the access counters' ports (members of ``NetworkTop.counters``).
ACCESS_PREFIX = "counters__"


def counter_member(name, field=None):
    """The member of ``NetworkTop.counters`` that counts ``field`` ("reads", "writes") of the
    memory, or the operations, called ``name`` in :func:`mapping.access.count_accesses`:
    ``("l1.c0.weight", "reads")`` is ``l1_c0_weight_reads``, its port
    ``counters__l1_c0_weight_reads``."""
    return name.replace(".", "_") + (f"_{field}" if field else "")


def expected_counters(trace, access, sample):
    """Every counter port of the top at ``done`` for ``sample``: ``{port name: value}``.

    ``trace`` is the reference's :class:`mapping.reference.Trace` and ``access`` the
    :func:`mapping.access.count_accesses` of the same samples. Holds ``spikes__<l>``,
    ``synops__<l>``, ``membrane_updates__<l>``, every ``counters__...`` port and
    ``cycles`` (exact when input beats come one per cycle and the output is always ready).
    The weight memories are ROMs: they have no ``_writes`` port.
    """
    ports = {f"{name}__{l}": int(value) for name in COUNTERS
             for l, value in enumerate(getattr(trace, name)[sample])}
    for memory in access.memories:
        ports[ACCESS_PREFIX + counter_member(memory.name, "reads")] = int(memory.reads[sample])
        if memory.kind != "weight":
            ports[ACCESS_PREFIX + counter_member(memory.name, "writes")] = int(
                memory.writes[sample])
    for op in access.ops:
        ports[ACCESS_PREFIX + counter_member(op.name)] = int(op.count[sample])
    ports[ACCESS_PREFIX + "input_beats"] = int(access.input_beats[sample])
    ports[ACCESS_PREFIX + "output_beats"] = int(access.output_beats[sample])
    ports["cycles"] = int(access.cycles[sample])
    return ports


@dataclass
class Observed:
    """The results of one inference as seen on the top's ports.

    Members
    -------
    out_spikes : list of (index, step) output beats in the order they were taken
    prediction : the ``prediction`` port at ``done``
    spikes, synops, membrane_updates : per layer (0 = input), the counter ports at ``done``
    cycles : the ``cycles`` port at ``done``
    error : the ``error`` port at ``done``
    counters : the ``counters__...`` ports at ``done``, by port name
    """

    out_spikes: list = field(default_factory=list)
    prediction: int = -1
    spikes: list = field(default_factory=list)
    synops: list = field(default_factory=list)
    membrane_updates: list = field(default_factory=list)
    cycles: int = 0
    error: int = 0
    counters: dict = field(default_factory=dict)

    def to_json(self):
        doc = asdict(self)
        doc["out_spikes"] = [list(map(int, s)) for s in self.out_spikes]
        return doc


def input_beats(steps_row, K, *, silent=False):
    """Beats ``(index, step, last)`` presenting one sample's input spike steps.

    Spikes are sorted by step, then index. Inputs that do not spike (step ``K``) are not
    sent, unless ``silent``: then they follow the spikes as beats of step ``K``. A sample
    with no beat left is one beat ``(0, K, 1)``.
    """
    steps_row = np.asarray(steps_row, dtype=np.int64)
    shown = np.arange(len(steps_row)) if silent else np.flatnonzero(steps_row < K)
    order = shown[np.lexsort((shown, steps_row[shown]))]
    beats = [(int(i), int(min(steps_row[i], K)), 0) for i in order]
    if not beats:
        return [(0, int(K), 1)]
    index, step, _ = beats[-1]
    beats[-1] = (index, step, 1)
    return beats


def expected(trace, sample, access=None):
    """The results the hardware must produce for ``sample`` of a reference ``trace``, with
    the access counters and cycles of ``access`` (:func:`mapping.access.count_accesses` of
    the same samples) when given."""
    K = trace.steps
    out = trace.spike_steps[-1][sample]
    fired = np.flatnonzero(out < K)
    ports = {} if access is None else expected_counters(trace, access, sample)
    return {
        "out_spikes": sorted((int(out[i]), int(i)) for i in fired),
        "prediction": int(trace.prediction[sample]),
        **{name: [int(x) for x in getattr(trace, name)[sample]] for name in COUNTERS},
        "counters": {k: v for k, v in ports.items() if k.startswith(ACCESS_PREFIX)},
        **({"cycles": ports["cycles"]} if ports else {}),
    }


def first_mismatch(want, got, *, ignore=()):
    """A sentence naming the first difference between ``expected(...)`` and an
    :class:`Observed`, or None when they agree; ports named in ``ignore`` (for example
    ``cycles`` when the streams stall) are not compared."""
    if got.error:
        return "the top raised its protocol error flag"
    steps = [step for _, step in got.out_spikes]
    if any(b < a for a, b in zip(steps, steps[1:])):
        return f"output spikes out of step order: {got.out_spikes}"
    have = sorted((int(step), int(index)) for index, step in got.out_spikes)
    if have != want["out_spikes"]:
        missing = sorted(set(want["out_spikes"]) - set(have))
        extra = sorted(set(have) - set(want["out_spikes"]))
        if missing:
            step, index = missing[0]
            return (f"output neuron {index} should spike at step {step}"
                    + (f"; the hardware emitted (index {extra[0][1]}, step {extra[0][0]}) "
                       f"instead" if extra else "; the hardware did not"))
        step, index = extra[0] if extra else have[0]
        return f"output neuron {index} spiked at step {step}, the reference says it does not"
    if got.prediction != want["prediction"]:
        return f"prediction {got.prediction}, the reference predicts {want['prediction']}"
    for name in COUNTERS:
        for layer, (w, g) in enumerate(zip(want[name], getattr(got, name))):
            if w != g:
                return f"{name}[{layer}] is {g}, the reference counts {w}"
        if len(getattr(got, name)) != len(want[name]):
            return f"{len(getattr(got, name))} {name} counters for {len(want[name])} layers"
    for port, w in want.get("counters", {}).items():
        if port not in ignore and got.counters.get(port) != w:
            return f"{port} is {got.counters.get(port)}, the access model counts {w}"
    if "cycles" in want and "cycles" not in ignore and got.cycles != want["cycles"]:
        return f"cycles is {got.cycles}, the access model counts {want['cycles']}"
    return None


def counter_ports(ports):
    """Names of the counter ports among ``ports`` (dicts with ``name`` and ``direction``, as
    in the Verilog sidecar): every output that is not part of the protocol."""
    return [p["name"] for p in ports
            if p["direction"] == "output" and p["name"] not in PROTOCOL_OUTPUTS]


def cycle_budget(groups, sizes, steps):
    """A generous bound on the clock cycles of one inference, after which a bench declares the
    top hung: eight times the work of delivering every input and updating every group in
    every step (``groups`` as for :func:`lower_bound_cycles`, ``sizes`` the layer sizes)."""
    work = sum(max(cores) * (n + steps) for cores, n in zip(groups, sizes))
    return 8 * work + 20 * steps + 100


def lower_bound_cycles(groups, trace, sample):
    """Cycles the architecture needs at least for ``sample``.

    ``groups[l]`` lists the groups of each core of computing layer ``l`` (see
    :meth:`hardware.rtl.top.NetworkTop.groups`). In step ``k`` a core sweeps its groups
    once per input spike of step ``k - 1`` and once more to update; all layers work in
    parallel, so a step lasts at least as long as its slowest core.
    """
    K = trace.steps
    total = 0
    for k in range(K):
        slowest = 0
        for l, cores in enumerate(groups):
            delivered = int((trace.spike_steps[l][sample] == k - 1).sum()) if k else 0
            slowest = max(slowest, max(cores) * (delivered + 1))
        total += slowest
    return total
