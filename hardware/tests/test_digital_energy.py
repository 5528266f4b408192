import numpy as np
import pytest

from hardware import digital_energy
from hardware.costs import Cost, CostTable
from mapping import allocation
from mapping.access import AccessCounts, MemoryAccesses, OpCounts
from mapping.network import IntLayer, IntNetwork

PJ = 1e-12


def round_costs(**values):
    """A table whose SRAM fit is exact (energy proportional to the square root of the
    capacity: 10, 20 and 113.137 pJ) and whose other figures are round numbers."""
    base = {"sram_read_64b_8KB_J": 10 * PJ, "sram_read_64b_32KB_J": 20 * PJ,
            "sram_read_64b_1MB_J": 10 * PJ * 128 ** 0.5, "sram_write_per_read": 2.0,
            "add_8b_J": 1 * PJ, "add_32b_J": 4 * PJ, "register_bit_J": 0.01 * PJ,
            "sram_leakage_per_bit_W": 1e-9,
            "logic_leakage_per_cell_W": 1e-6, "clock_Hz": 1e6}
    base.update(values)
    ranged = {"sram_leakage_per_bit_W", "logic_leakage_per_cell_W"}
    return CostTable("round", {key: Cost(v, 45, "test figure", *((v / 10, v * 10) if key in
                                                                  ranged else ()))
                               for key, v in base.items()})


def counts():
    """Two samples of a design with a 16 KB weight memory, a 512-byte state memory, a spike
    list and two operation classes."""
    memories = (
        MemoryAccesses("l1.c0.weight", "weight", 1, 0, depth_words=2048, width_bits=64,
                       reads=np.array([10, 20]), writes=np.array([0, 0])),
        MemoryAccesses("l1.c0.state", "state", 1, 0, depth_words=64, width_bits=64,
                       reads=np.array([5, 5]), writes=np.array([5, 7])),
        MemoryAccesses("l0.spikes", "spike_list", 0, None, depth_words=128, width_bits=8,
                       reads=np.array([3, 1]), writes=np.array([3, 1])))
    ops = (OpCounts("l1.c0.slope_add", "add", 1, 0, width_bits=20, count=np.array([80, 160])),
           OpCounts("l1.c0.compare", "compare", 1, 0, width_bits=8, count=np.array([8, 8])))
    return AccessCounts(memories=memories, ops=ops, input_beats=np.array([3, 1]),
                        output_beats=np.array([1, 1]), cycles=np.array([100, 300]))


def test_price_is_counts_times_bank_energies_by_hand():
    priced = digital_energy.price(counts(), round_costs(), bank_bytes=8192, logic_cells=10,
                                  logic_source="test")
    weight, state, spikes, add, compare = priced.items
    # 16 KB in banks of 8 KB: two banks, each access is an 8 KB read of 64 bits (10 pJ)
    assert (weight.banks, weight.bank_bytes, weight.capacity_bytes) == (2, 8192, 16384)
    assert weight.read_J == pytest.approx(10 * PJ)
    np.testing.assert_allclose(weight.energy_J, [100 * PJ, 200 * PJ])
    # 512 bytes, one bank: 10 pJ * sqrt(512 / 8192) = 2.5 pJ; a write is 2 reads
    assert state.banks == 1 and state.read_J == pytest.approx(2.5 * PJ)
    np.testing.assert_allclose(state.energy_J, [(5 * 2.5 + 5 * 5) * PJ, (5 * 2.5 + 7 * 5) * PJ])
    # 128 bytes of 8-bit words: 10 pJ * sqrt(1 / 64) * 8 / 64
    assert spikes.read_J == pytest.approx(10 * PJ / 8 / 8)
    # adds: 1 pJ + (w - 8) * 3 / 24 pJ
    assert add.read_J == pytest.approx(2.5 * PJ) and compare.read_J == pytest.approx(1 * PJ)
    assert [i.component for i in priced.items] == [
        "weight_reads", "state_traffic", "spike_routing", "arithmetic", "arithmetic"]
    dynamic = sum(i.energy_J for i in priced.items)
    np.testing.assert_allclose(priced.dynamic_J, dynamic)
    # static: (bits * 1 nW + 10 cells * 1 uW) * cycles / 1 MHz
    bits = 2048 * 64 + 64 * 64 + 128 * 8
    assert priced.stored_bits == bits
    power = bits * 1e-9 + 10 * 1e-6
    np.testing.assert_allclose(priced.static_J(), power * np.array([100e-6, 300e-6]))
    np.testing.assert_allclose(priced.static_J("high"), 10 * priced.static_J())
    np.testing.assert_allclose(priced.total_J(), dynamic + priced.static_J())
    np.testing.assert_allclose(
        sum(priced.component_J(c) for c in digital_energy.COMPONENTS), priced.total_J())


def test_a_given_clock_replaces_the_tables_for_latency_and_leakage():
    table = digital_energy.price(counts(), round_costs(), logic_cells=10, logic_source="test")
    fpga = digital_energy.price(counts(), round_costs(), logic_cells=10, logic_source="test",
                                clock_Hz=0.25e6)
    np.testing.assert_allclose(fpga.latency_s, [400e-6, 1200e-6])
    np.testing.assert_allclose(fpga.static_J(), 4 * table.static_J())
    np.testing.assert_allclose(fpga.dynamic_J, table.dynamic_J)
    for bad in (0, -1.0, float("nan"), True, "12"):
        with pytest.raises(ValueError, match=r"^clock_Hz must be a positive finite number, "):
            digital_energy.price(counts(), round_costs(), logic_cells=0, logic_source="test",
                                 clock_Hz=bad)


def test_registers_cost_per_bit_written_and_read_through_a_multiplexer():
    registers = (
        MemoryAccesses("l1.c0.wake", "register", 1, 0, depth_words=4, width_bits=3,
                       reads=np.array([2, 0]), writes=np.array([1, 1])),
        MemoryAccesses("l1.c0.carry", "register", 1, 0, depth_words=1, width_bits=10,
                       reads=np.array([5, 5]), writes=np.array([2, 3])))
    base = counts()
    priced = digital_energy.price(
        AccessCounts(memories=base.memories + registers, ops=base.ops,
                     input_beats=base.input_beats, output_beats=base.output_beats,
                     cycles=base.cycles), round_costs(), logic_cells=0, logic_source="test")
    wake, carry = priced.items[3:5]
    # 0.01 pJ per bit: an array is read through its multiplexer, one word is not
    assert (wake.read_J, wake.write_J) == (pytest.approx(0.03 * PJ), pytest.approx(0.03 * PJ))
    assert (carry.read_J, carry.write_J) == (0.0, pytest.approx(0.1 * PJ))
    np.testing.assert_allclose(carry.energy_J, [0.2 * PJ, 0.3 * PJ])
    assert wake.component == carry.component == "state_traffic"
    # flip-flops leak as logic (in logic_cells): not SRAM bits, never "extrapolated"
    assert priced.stored_bits == 2048 * 64 + 64 * 64 + 128 * 8
    assert "l1.c0.wake" not in [i.name for i in priced.extrapolated]
    assert not priced.sram_static_J(wake).any()


def test_banks_below_the_smallest_published_sram_are_listed_as_extrapolated():
    priced = digital_energy.price(counts(), round_costs(), bank_bytes=4096, logic_cells=0,
                                  logic_source="test")
    weight = priced.items[0]
    assert (weight.banks, weight.bank_bytes) == (4, 4096)
    assert weight.read_J == pytest.approx(10 * PJ * 0.5 ** 0.5)
    assert [i.name for i in priced.extrapolated] == ["l1.c0.weight", "l1.c0.state", "l0.spikes"]


def test_price_rejects_a_bank_smaller_than_a_word_and_bad_sizes():
    with pytest.raises(ValueError, match=r"^l1.c0.weight: a 64-bit word does not fit a bank "
                                         r"of 4 bytes$"):
        digital_energy.price(counts(), round_costs(), bank_bytes=4, logic_cells=0,
                             logic_source="test")
    with pytest.raises(ValueError, match=r"^bank_bytes must be a positive integer, not 0$"):
        digital_energy.price(counts(), round_costs(), bank_bytes=0, logic_cells=0,
                             logic_source="test")
    with pytest.raises(ValueError, match=r"^logic_cells must be a non-negative integer, not -1$"):
        digital_energy.price(counts(), round_costs(), logic_cells=-1, logic_source="test")


def test_logic_cells_follow_the_stated_rule():
    net = IntNetwork(layers=(IntLayer(np.ones((6, 4), dtype=np.int64), 3),
                             IntLayer(np.ones((2, 6), dtype=np.int64), 2)),
                     weight_bits=4, steps=8)
    alloc = allocation.allocate(net, allocation.CoreLimits(max_neurons=3))
    cells, text = digital_energy.estimate_logic_cells(net, alloc, 2)
    expected = 0
    for core in alloc.cores:
        w = net.widths[core.layer]
        groups = -(-core.neurons // 2)
        # adders: slope, potential, compare, catch-up (3 bits of missed steps: 3 adds), the
        # wake exponent's (3 bits) subtraction and comparator; the encoders of the distance
        # to the threshold (potential + 1 bits) and the slope (slope - 1 bits); flip-flops at
        # 4 cells: the pipeline registers (weight, slope, potential, flag); three 4-bit adders
        # per core; per group the written flag, a 3-bit stamp and a 3-bit wake step
        expected += (2 * (5 * (w.slope_bits + 5 * w.potential_bits + 2 * 3)
                          + 2 * (w.potential_bits + w.slope_bits)
                          + 4 * (4 + w.slope_bits + w.potential_bits + 1))
                     + 3 * 5 * 4 + 4 * groups * (1 + 3 + 3) + 200)
    assert len(alloc.cores) == 3 and cells == expected
    assert text.startswith("estimate: per core, lanes x (5 cells per bit")
    assert digital_energy.estimate_logic_cells(net, alloc, (2, 2))[0] == cells
    with pytest.raises(ValueError, match=r"^3 lane counts for 2 layers$"):
        digital_energy.estimate_logic_cells(net, alloc, (2, 2, 2))
