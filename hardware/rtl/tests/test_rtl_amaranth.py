"""The network top in the Amaranth simulator against the reference simulator, many cases."""
import numpy as np
import pytest

from mapping import reference
from mapping.access import count_accesses
from mapping.allocation import CoreLimits, allocate
from mapping.network import IntLayer, IntNetwork
from hardware.rtl import amaranth_sim
from hardware.rtl.cases import CaseSpec, random_inputs, random_network
from hardware.rtl.core import SpikingCore, pack_weights
from hardware.rtl.scoreboard import expected, first_mismatch, lower_bound_cycles
from hardware.rtl.top import NetworkTop

CASES = [
    CaseSpec((6, 5, 3), weight_bits=4, steps=8, lanes=1, seed=1),
    CaseSpec((6, 5, 3), weight_bits=4, steps=8, lanes=2, max_neurons=2, seed=2),
    CaseSpec((8, 7, 4), weight_bits=3, steps=5, lanes=3, max_neurons=3, seed=3),
    CaseSpec((5, 9, 6, 3), weight_bits=5, steps=12, lanes=(2, 4, 1), max_neurons=4, seed=4),
    CaseSpec((10, 4), weight_bits=2, steps=3, lanes=4, seed=5, extremes=True),
    CaseSpec((4, 3), weight_bits=8, steps=2, lanes=1, seed=6, extremes=True),
    CaseSpec((12, 10, 5), weight_bits=6, steps=16, lanes=5, max_neurons=3, seed=7,
             extremes=True),
    CaseSpec((3, 3, 3), weight_bits=4, steps=6, lanes=8, seed=8, input_rate=0.9),
    CaseSpec((7, 6, 2), weight_bits=4, steps=9, lanes=1, max_neurons=1, seed=9),
    CaseSpec((6, 5, 3), weight_bits=4, steps=7, lanes=2, seed=10, silent=True),
]


def _check(network, allocation, lanes, inputs, **options):
    """Outputs, counters, access counters and cycles equal the reference and the model (the
    model's cycles and input beats assume spikes only, one beat per cycle, no stall)."""
    top = NetworkTop(network, allocation, lanes=lanes)
    trace = reference.simulate(network, inputs)
    access = count_accesses(network, allocation, trace, lanes=lanes)
    observed = amaranth_sim.run(top, inputs, **options)
    ignore = ("cycles",) if options.get("stall_seed") is not None else ()
    ignore += ("cycles", "counters__input_beats") if options.get("silent") else ()
    for sample, got in enumerate(observed):
        want = expected(trace, sample, access)
        assert got.counters.keys() == want["counters"].keys()
        mismatch = first_mismatch(want, got, ignore=ignore)
        assert mismatch is None, f"sample {sample} (input {inputs[sample].tolist()}): {mismatch}"
    return observed


@pytest.mark.amaranth
@pytest.mark.parametrize("spec", CASES, ids=lambda s: f"seed{s.seed}")
def test_rtl_top_matches_reference_on_random_networks(spec):
    network = random_network(spec)
    allocation = allocate(network, CoreLimits(max_neurons=spec.max_neurons))
    rng = np.random.default_rng(100 + spec.seed)
    inputs = random_inputs(network.sizes[0], network.steps, 6, rng, spec.input_rate)
    inputs[0] = network.steps
    inputs[1, :] = np.where(inputs[1] < network.steps, network.steps - 1, network.steps)
    _check(network, allocation, spec.lanes, inputs)


def _sweep_spec(seed):
    """A random point of the parameter space: depth, sizes, widths, K, lanes, core size."""
    rng = np.random.default_rng(1000 + seed)
    depth = int(rng.integers(1, 4))
    sizes = tuple(int(n) for n in rng.integers(1, 11, depth + 1))
    lanes = tuple(int(x) for x in rng.integers(1, 9, depth))
    return CaseSpec(sizes, weight_bits=int(rng.integers(2, 9)), steps=int(rng.integers(2, 21)),
                    lanes=lanes, max_neurons=int(rng.integers(1, 8)), seed=2000 + seed,
                    extremes=bool(rng.integers(0, 2)), input_rate=float(rng.uniform(0.2, 1.0)))


@pytest.mark.amaranth
@pytest.mark.parametrize("seed", range(24))
def test_rtl_top_matches_reference_across_the_parameter_space(seed):
    spec = _sweep_spec(seed)
    network = random_network(spec)
    allocation = allocate(network, CoreLimits(max_neurons=spec.max_neurons))
    rng = np.random.default_rng(3000 + seed)
    inputs = random_inputs(network.sizes[0], network.steps, 4, rng, spec.input_rate)
    inputs[0] = np.where(inputs[0] < network.steps, network.steps - 1, network.steps)
    _check(network, allocation, spec.lanes, inputs)


@pytest.mark.amaranth
def test_rtl_top_matches_reference_with_stalled_streams():
    spec = CaseSpec((6, 7, 4), weight_bits=4, steps=8, lanes=2, max_neurons=3, seed=21)
    network = random_network(spec)
    inputs = random_inputs(6, 8, 5, np.random.default_rng(21), 0.7)
    _check(network, allocate(network, CoreLimits(max_neurons=3)), 2, inputs, stall_seed=5)


@pytest.mark.amaranth
def test_rtl_top_ignores_beats_of_step_K_among_the_inputs():
    spec = CaseSpec((7, 5, 3), weight_bits=4, steps=6, lanes=2, max_neurons=2, seed=22)
    network = random_network(spec)
    inputs = random_inputs(7, 6, 4, np.random.default_rng(22), 0.5)
    inputs[0] = 6
    _check(network, allocate(network, CoreLimits(max_neurons=2)), 2, inputs, silent=True)


@pytest.mark.amaranth
def test_rtl_top_flags_beats_out_of_order_or_beyond_the_inputs():
    network = random_network(CaseSpec((5, 3, 2), steps=6, seed=23))
    top = NetworkTop(network, lanes=1)
    in_order, out_of_order = [(0, 1, 0), (1, 3, 1)], [(0, 3, 0), (1, 1, 1)]
    stray = [(0, 1, 0), (6, 2, 1)]
    observed = amaranth_sim.run_beats(top, [in_order, out_of_order, in_order, stray, in_order])
    assert [o.error for o in observed] == [0, 1, 0, 1, 0]


@pytest.mark.amaranth
def test_rtl_top_decodes_ties_to_the_lowest_index():
    weight = np.array([[1, 0], [2, 0], [2, 0], [0, 1]])
    network = IntNetwork(layers=(IntLayer(weight, 4),), weight_bits=3, steps=4)
    inputs = np.array([[0, 4], [4, 4], [2, 4], [4, 0]])
    observed = _check(network, allocate(network, CoreLimits(max_neurons=2)), 1, inputs)
    assert [o.prediction for o in observed] == [1, 0, 1, 3]


@pytest.mark.amaranth
def test_rtl_top_counts_cycles_within_a_bound():
    spec = CaseSpec((16, 12, 4), weight_bits=4, steps=8, lanes=2, seed=30)
    network = random_network(spec)
    inputs = random_inputs(16, 8, 2, np.random.default_rng(30))
    top = NetworkTop(network, allocate(network), lanes=2)
    trace = reference.simulate(network, inputs)
    for sample, got in enumerate(amaranth_sim.run(top, inputs)):
        assert lower_bound_cycles(top.groups(), trace, sample) <= got.cycles
        assert got.cycles <= 8 * (16 * 6 + 6 + 8)


@pytest.mark.amaranth
def test_rtl_top_skips_groups_until_their_wake_step_and_catches_their_potentials_up():
    # the hidden neuron's slope is -2 from step 1: it cannot fire, so its updates of steps 2
    # to 4 are dropped; input 1's spike (delivered at step 5) loads it, catching up 3 missed
    # steps (v = -8), and it fires at step 8 exactly as in the reference (v = 4 >= 3)
    hidden = IntLayer(np.array([[-2, 5]]), 3)
    output = IntLayer(np.array([[1]]), 1)
    network = IntNetwork(layers=(hidden, output), weight_bits=4, steps=10)
    inputs = np.array([[0, 4], [0, 10]])
    observed = _check(network, allocate(network), 1, inputs)
    assert reference.simulate(network, inputs).spike_steps[1].tolist() == [[8], [10]]
    counters = observed[0].counters
    # after step 5, v = -5 and slope 3: x = 3 - 1 + 5 = 7 has 3 bits, the slope 2, so the
    # wake step is 5 + 2 ** 0 + 1 = 7 (step 6 dropped); after step 7 (v = 1) it is 8.
    # Updates at steps 1, 5, 7, 8 and the last; two catch-ups of 1 lane x 4 bits
    assert counters["counters__l1_c0_state_reads"] == 5
    assert counters["counters__l1_c0_catch_up_add"] == 8
    # without the second spike the neuron can never fire again: steps 1 and 9 only
    assert observed[1].counters["counters__l1_c0_state_reads"] == 2


@pytest.mark.amaranth
def test_rtl_top_without_skipping_updates_every_group_in_every_step():
    spec = CaseSpec((6, 5, 3), weight_bits=4, steps=8, lanes=2, max_neurons=3, seed=4)
    network = random_network(spec)
    allocation = allocate(network, CoreLimits(max_neurons=3))
    inputs = random_inputs(6, 8, 3, np.random.default_rng(4), 0.5)
    trace = reference.simulate(network, inputs)
    access = count_accesses(network, allocation, trace, lanes=2, skip_idle=False)
    top = NetworkTop(network, allocation, lanes=2, skip_idle=False)
    for sample, got in enumerate(amaranth_sim.run(top, inputs)):
        assert first_mismatch(expected(trace, sample, access), got) is None
        for c, groups in enumerate(top.groups()[0]):
            assert got.counters[f"counters__l1_c{c}_state_reads"] == 8 * groups
            assert got.counters[f"counters__l1_c{c}_catch_up_add"] == 0


@pytest.mark.amaranth
def test_rtl_top_reports_an_access_counter_that_differs_from_the_model():
    spec = CaseSpec((6, 5, 3), weight_bits=4, steps=8, lanes=2, max_neurons=2, seed=2)
    network = random_network(spec)
    allocation = allocate(network, CoreLimits(max_neurons=2))
    inputs = random_inputs(6, 8, 1, np.random.default_rng(2), 0.8)
    trace = reference.simulate(network, inputs)
    want = expected(trace, 0, count_accesses(network, allocation, trace, lanes=2))
    got = amaranth_sim.run(NetworkTop(network, allocation, lanes=2), inputs)[0]
    assert first_mismatch(want, got) is None
    reads = want["counters"]["counters__l1_c1_state_reads"]
    want["counters"]["counters__l1_c1_state_reads"] += 1
    assert first_mismatch(want, got) == (f"counters__l1_c1_state_reads is {reads}, the access "
                                         f"model counts {reads + 1}")
    want["counters"]["counters__l1_c1_state_reads"] -= 1
    want["cycles"] += 1
    assert first_mismatch(want, got) == (f"cycles is {got.cycles}, the access model counts "
                                         f"{got.cycles + 1}")


def test_rtl_top_rejects_lanes_of_the_wrong_count():
    network = random_network(CaseSpec((4, 3, 2), seed=0))
    with pytest.raises(ValueError) as info:
        NetworkTop(network, lanes=(1, 2, 3))
    assert str(info.value) == ("lanes must be an integer in [1, 64] or one per layer (2), "
                               "not (1, 2, 3)")


def test_rtl_pack_weights_puts_lane_b_of_group_g_at_input_times_groups():
    weight = np.array([[1, -1], [-2, 3], [-4, 0]])
    words = pack_weights(weight, 2, 3)
    assert words == [0b110_001, 0b000_100, 0b011_111, 0b000_000]


@pytest.mark.parametrize("options, message", [
    (dict(lanes=0), "lanes must be an integer in [1, 64], not 0"),
    (dict(weight_bits=40), "weight_bits must be an integer in [2, 32], not 40"),
    (dict(threshold=0), "threshold must be an integer of at least 1, not 0"),
    (dict(weight_bits=2), "weights span [-4, 3], outside 2-bit [-2, 1]"),
    (dict(threshold=200), "threshold 200 does not fit a 8-bit potential"),
])
def test_rtl_core_rejects_bad_parameters(options, message):
    params = dict(threshold=5, weight_bits=3, slope_bits=6, potential_bits=8, lanes=2, steps=4)
    params.update(options)
    with pytest.raises(ValueError) as info:
        SpikingCore(np.array([[-4, 3]]), **params)
    assert str(info.value) == message


@pytest.mark.amaranth
def test_rtl_top_matches_reference_on_a_pruned_network():
    """Inputs and hidden neurons removed by mapping.prune: the narrower input port and the
    smaller layers still match the reference on images encoded through the pixel selection."""
    from mapping import prune
    from mapping.network import InputEncoding

    spec = CaseSpec((12, 8, 4), weight_bits=5, steps=10, lanes=3, max_neurons=4, seed=11)
    base = random_network(spec)
    weights = [layer.weight.copy() for layer in base.layers]
    weights[0][5] = -3
    weights[0][:, [2, 9]] = 0
    network = IntNetwork(layers=tuple(IntLayer(w, l.threshold) for w, l in
                                      zip(weights, base.layers)),
                         weight_bits=spec.weight_bits, steps=spec.steps,
                         encoding=InputEncoding(0.5, True, threshold=0.2))
    rng = np.random.default_rng(12)
    pixels = (rng.random((8, 12)) * 255).astype(np.uint8)
    pixels[:, 0] = 0
    network, _ = prune.prune_inputs(network, reference.encode(network, pixels))
    network, kept = prune.prune_dead(network, reference.encode(network, pixels))
    assert network.sizes[0] == 9 and 5 not in kept[0].tolist()
    allocation = allocate(network, CoreLimits(max_neurons=spec.max_neurons))
    _check(network, allocation, spec.lanes, reference.encode(network, pixels))
