import json
import math
import os

import numpy as np
import pytest

from energy_fixtures import tiny_run, write_access_cosim, write_cosim, write_fake_dataset
from flow import cli, energy_cmd
from hardware.costs import DEFAULT_COSTS, CostTable
from hardware.digital_energy import COMPONENTS
from mapping import access, allocation, reference

PJ = 1e-12


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    images, labels = write_fake_dataset(root)
    return root, images, labels


@pytest.fixture
def run(tmp_path, dataset):
    root, images, labels = dataset
    net = tiny_run(tmp_path / "run")
    return tmp_path / "run", net, root, images, labels


def main(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def test_every_digital_energy_recomputes_from_its_counts_and_cost_entries(run):
    run_dir, net, root, images, labels = run
    doc = energy_cmd.evaluate(run_dir, samples=40, data_dir=root, lanes=4, bank_bytes=4096)
    part = doc["digital"]
    table = CostTable.from_json(part["costs"])
    sram = table.sram
    trace = reference.simulate(net, reference.encode(net, images[:40]))
    counts = access.count_accesses(net, allocation.load(run_dir, net), trace, lanes=4)
    assert [m["name"] for m in part["memories"]] == [m.name for m in counts.memories]
    by_component = dict.fromkeys(COMPONENTS, 0.0)
    for m, memory in zip(part["memories"], counts.memories):
        assert m["reads"] == pytest.approx(memory.reads.mean())
        assert m["writes"] == pytest.approx(memory.writes.mean())
        assert m["capacity_bytes"] * 8 == memory.capacity_bits
        if m["kind"] == "register":
            # flip-flops: per bit written, per bit read through an array's multiplexer
            bit = table["register_bit_J"] * m["width_bits"]
            assert m["write_J"] == pytest.approx(bit)
            assert m["read_J"] == (pytest.approx(bit) if memory.depth_words > 1 else 0.0)
        else:
            assert m["banks"] == math.ceil(m["capacity_bytes"] / 4096)
            assert m["bank_bytes"] == (math.ceil(memory.depth_words / m["banks"])
                                       * m["width_bits"] / 8)
            assert m["read_J"] == pytest.approx(sram.read_J(m["bank_bytes"], m["width_bits"]))
            assert m["write_J"] == pytest.approx(m["read_J"] * table["sram_write_per_read"])
        assert m["energy_J"] == pytest.approx(m["reads"] * m["read_J"] + m["writes"] * m["write_J"])
        by_component[m["component"]] += m["energy_J"]
    assert [o["count"] for o in part["ops"]] == pytest.approx([o.count.mean() for o in counts.ops])
    for o in part["ops"]:
        assert o["op_J"] == pytest.approx(table.add_J(o["width_bits"]))
        assert o["energy_J"] == pytest.approx(o["count"] * o["op_J"])
        by_component["arithmetic"] += o["energy_J"]
    assert {m["kind"] for m in part["memories"]} == {"weight", "state", "spike_list", "register"}
    # SRAM bits leak per bit; flip-flops leak as logic cells
    assert part["stored_bits"] == sum(m["capacity_bytes"] * 8 for m in part["memories"]
                                      if m["kind"] != "register")
    assert part["latency_cycles"]["mean"] == pytest.approx(counts.cycles.mean())
    assert part["latency_s"]["mean"] == pytest.approx(counts.cycles.mean() / table["clock_Hz"])
    for corner, row in part["static_range"].items():
        power = (part["stored_bits"] * table.range("sram_leakage_per_bit_W")[corner]
                 + part["logic_cells"] * table.range("logic_leakage_per_cell_W")[corner])
        assert row["power_W"] == pytest.approx(power)
        assert row["static_J"] == pytest.approx(power * part["latency_s"]["mean"])
        assert row["energy_J"] == pytest.approx(part["dynamic_J"]["mean"] + row["static_J"])
    by_component["static"] = part["static_range"]["nominal"]["static_J"]
    assert part["components_J"] == pytest.approx(by_component)
    total = sum(by_component.values())
    assert part["energy_J"]["mean"] == pytest.approx(total)
    assert np.mean(doc["per_sample"]["digital_J"]) == pytest.approx(total)
    for rows in (part["per_layer"], part["per_core"]):
        assert sum(r["total_J"] for r in rows) <= total * (1 + 1e-12)
    assert sum(r["total_J"] for r in part["per_layer"]) == pytest.approx(total)
    for c in COMPONENTS:
        assert sum(r[c] for r in part["per_layer"]) == pytest.approx(by_component[c])
    synops = trace.synops[:, 1:].sum(axis=1).mean()
    assert part["synaptic_operations"] == pytest.approx(synops)
    assert part["energy_per_synop_J"] == pytest.approx(total / synops)
    assert [p["ratio"] for p in part["published"]] == pytest.approx(
        [(total if p["unit"] == "J per MNIST inference" else total / synops) / p["value"]
         for p in part["published"]])


def test_lanes_and_bank_size_change_the_memories(run, capsys):
    run_dir, net, root, images, labels = run
    status, out, err = main(["energy", str(run_dir), "--samples", "5", "--data-dir", str(root),
                             "--lanes", "2", "--bank-bytes", "2048"], capsys)
    assert status == 0, err
    part = json.loads((run_dir / "report.json").read_text())["digital"]
    assert part["lanes"] == 2 and part["bank_bytes"] == 2048
    weight = [m for m in part["memories"] if m["kind"] == "weight"]
    assert weight and all(m["bank_bytes"] <= 2048 and m["width_bits"] == 16 for m in weight)
    assert part["extrapolation"]["memories"] >= len(weight)
    assert "pJ per synaptic operation (lanes 2, banks <= 2048 B)" in out


def write_synth(run_dir, net, *, cells=1234, fmax_MHz=25.0, target="ice40", lanes=8):
    """A ``synth.json`` as ``ttfs synth`` writes it (the keys the energy report reads)."""
    doc = {"schema_version": 1, "target": target, "device": "up5k" if fmax_MHz else None,
           "cells": cells, "luts": cells // 2, "flip_flops": cells // 4, "fmax_MHz": fmax_MHz,
           "pnr": {"seed": 1} if fmax_MHz else None,
           "design": {"sizes": list(net.sizes), "weight_bits": net.weight_bits,
                      "steps": net.steps, "lanes": [lanes] * len(net.layers),
                      "skip_idle": True, "wake_step": True}}
    (run_dir / "synth.json").write_text(json.dumps(doc))


def test_synth_json_gives_the_logic_size_and_the_achieved_clock(run, capsys):
    run_dir, net, root, images, labels = run
    write_synth(run_dir, net, fmax_MHz=25.0)
    status, out, err = main(["energy", str(run_dir), "--samples", "3", "--data-dir", str(root)],
                            capsys)
    assert status == 0, err
    doc = json.loads((run_dir / "report.json").read_text())
    part = doc["digital"]
    assert part["logic_cells"] == 1234
    assert part["logic_source"].startswith("synth.json: 1234 cells synthesized for target ice40")
    assert part["clock_Hz"] == 25e6
    assert part["clock_source"].startswith("synth.json: the maximum clock frequency that place "
                                           "and route achieved for ice40 up5k (25.00 MHz, "
                                           "nextpnr seed 1)")
    assert part["latency_s"]["mean"] == pytest.approx(part["latency_cycles"]["mean"] / 25e6)
    power = part["static_range"]["nominal"]["power_W"]
    assert part["static_J"]["mean"] == pytest.approx(power * part["latency_s"]["mean"])
    assert f"us at 25 MHz\nclock: {part['clock_source']}\n" in out
    assert f"clock: {part['clock_source']}" in (run_dir / "report.md").read_text()
    # the same counts at the table's clock: latency and static energy scale by 100 / 25
    (run_dir / "synth.json").unlink()
    table = energy_cmd.evaluate(run_dir, samples=3, data_dir=root)["digital"]
    assert table["clock_Hz"] == 100e6 and table["clock_source"].startswith("cost table clock_Hz")
    assert part["latency_s"]["mean"] == pytest.approx(4 * table["latency_s"]["mean"])
    assert part["dynamic_J"] == pytest.approx(table["dynamic_J"])


def test_synth_json_without_fmax_keeps_the_table_clock(run):
    run_dir, net, root, images, labels = run
    write_synth(run_dir, net, fmax_MHz=None, target="ecp5")
    part = energy_cmd.evaluate(run_dir, samples=3, data_dir=root)["digital"]
    assert part["logic_cells"] == 1234 and part["clock_Hz"] == 100e6
    assert part["clock_source"].endswith("; synth.json (target ecp5) has no Fmax: only "
                                         "`ttfs synth --target ice40` places and routes")


def test_synth_json_of_another_design_or_network_is_not_used(run):
    run_dir, net, root, images, labels = run
    write_synth(run_dir, net, lanes=8)
    part = energy_cmd.evaluate(run_dir, samples=3, data_dir=root, lanes=2)["digital"]
    why = ("synth.json not used: it describes another design (lanes [8, 8] (this report: "
           "[2, 2]))")
    assert part["logic_cells"] != 1234 and part["logic_source"].startswith("estimate: ")
    assert why in part["logic_source"]
    assert part["clock_Hz"] == 100e6 and why in part["clock_source"]
    old = (run_dir / "network.json").stat().st_mtime - 10
    os.utime(run_dir / "synth.json", (old, old))
    part = energy_cmd.evaluate(run_dir, samples=3, data_dir=root, lanes=8)["digital"]
    assert part["clock_Hz"] == 100e6
    assert "synth.json not used: older than network.json" in part["clock_source"]
    write_synth(run_dir, net)   # a core exported before the skipping of idle groups
    doc = json.loads((run_dir / "synth.json").read_text())
    del doc["design"]["skip_idle"]
    (run_dir / "synth.json").write_text(json.dumps(doc))
    part = energy_cmd.evaluate(run_dir, samples=3, data_dir=root)["digital"]
    assert part["clock_Hz"] == 100e6
    assert "another design (skip_idle None (this report: True))" in part["clock_source"]
    del doc["design"]["wake_step"]    # a core of live bits, before the wake steps
    doc["design"]["skip_idle"] = True
    (run_dir / "synth.json").write_text(json.dumps(doc))
    part = energy_cmd.evaluate(run_dir, samples=3, data_dir=root)["digital"]
    assert "another design (wake_step None (this report: True))" in part["clock_source"]


def test_a_broken_synth_json_is_a_one_line_error(run, capsys):
    run_dir, net, root, images, labels = run
    (run_dir / "synth.json").write_text(json.dumps({"target": "generic", "cells": 10}))
    status, out, err = main(["energy", str(run_dir), "--samples", "3", "--data-dir", str(root)],
                            capsys)
    assert status == 2 and err.count("\n") == 1
    assert "synth.json: not a synthesis record (missing or unreadable: 'fmax_MHz')" in err
    write_synth(run_dir, net, fmax_MHz=-3.0)
    with pytest.raises(ValueError, match=r"synth.json: fmax_MHz must be a positive number or "
                                         r"null, not -3.0: rerun `ttfs synth "):
        energy_cmd.evaluate(run_dir, samples=3, data_dir=root)


def test_report_json_schema(run, capsys):
    run_dir, net, root, images, labels = run
    write_cosim(run_dir, net, images, [0, 3, 7])
    status, out, err = main(["energy", str(run_dir), "--samples", "20", "--data-dir", str(root)],
                            capsys)
    assert status == 0, err
    doc = json.loads((run_dir / "report.json").read_text())
    assert set(doc) == {"schema_version", "run", "dataset", "samples", "sample_selection",
                        "network", "accuracy", "firing_rate", "counts", "digital", "analog",
                        "analog_to_digital_ratio", "checks", "per_sample"}
    assert doc["schema_version"] == 2 and doc["samples"] == 20 and doc["dataset"] == "mnist"
    assert [c["layer"] for c in doc["counts"]] == [0, 1, 2]
    assert set(doc["counts"][1]) == {"layer", "neurons", "spikes", "spikes_per_neuron",
                                     "activation_sparsity", "synaptic_operations",
                                     "dense_synaptic_operations", "membrane_updates"}
    digital = doc["digital"]
    for key in ("energy_J", "dynamic_J", "static_J"):
        assert set(digital[key]) == {"mean", "median", "p95"}
    assert set(digital) == {
        "energy_J", "dynamic_J", "static_J", "components_J", "static_range", "stored_bits",
        "logic_cells", "logic_source", "synaptic_operations", "energy_per_synop_J",
        "dynamic_per_synop_J", "latency_cycles", "latency_s", "clock_Hz", "clock_source",
        "lanes",
        "bank_bytes", "beats", "per_layer", "per_core", "memories", "ops", "sram_model",
        "extrapolation", "costs", "published", "published_note"}
    assert list(digital["components_J"]) == ["weight_reads", "state_traffic", "arithmetic",
                                             "spike_routing", "static"]
    assert [row["layer"] for row in digital["per_layer"]] == [0, 1, 2, None]
    assert digital["lanes"] == 8 and digital["bank_bytes"] == 8192
    assert [p["chip"] for p in digital["published"]] == ["ODIN", "ReckOn", "Loihi",
                                                         "TrueNorth", "MorphIC"]
    assert doc["checks"]["cosim"]["latency_cycles"] == {"mean": 123.0, "median": 123.0,
                                                        "p95": 123.0}
    assert digital["costs"]["name"] == "horowitz-isscc2014-45nm"
    assert len(doc["per_sample"]["digital_J"]) == 20 and doc["per_sample"]["analog_J"] is None
    assert doc["analog"] == {"missing": f"no analog_energy.json in {run_dir}: run "
                                        f"`ttfs spice {run_dir}` to characterize the analog neuron"}
    assert doc["checks"]["cosim"]["status"] == "passed"
    assert doc["checks"]["cosim"]["records"][0]["samples"] == [0, 3, 7]
    for name in ("report.md", "energy_breakdown.png", "energy_vs_spikes.png"):
        assert (run_dir / name).is_file()
        assert f"wrote {run_dir / name}" in out


def test_counter_mismatch_is_a_failed_check(run, capsys):
    run_dir, net, root, images, labels = run
    write_cosim(run_dir, net, images, [4, 5], corrupt=True)
    status, out, err = main(["energy", str(run_dir), "--samples", "10", "--data-dir", str(root)],
                            capsys)
    assert status == 1
    assert "co-simulation counters: failed (1 counter mismatches, first: cosim.json: sample 5 " \
           "synops: RTL" in out
    doc = json.loads((run_dir / "report.json").read_text())
    assert doc["checks"]["cosim"]["records"][0]["mismatches"][0].startswith("sample 5 synops")


def test_access_counters_of_the_cosim_record_are_checked_against_the_model(run, capsys):
    run_dir, net, root, images, labels = run
    write_access_cosim(run_dir, net, images, [0, 2])
    cosim = energy_cmd.evaluate(run_dir, samples=4, data_dir=root)["checks"]["cosim"]
    assert cosim["status"] == "passed"
    assert "every access counter and the cycles equal the access model on 2" in cosim["detail"]
    write_access_cosim(run_dir, net, images, [0, 2], corrupt="counters__l1_c0_state_reads")
    status, out, err = main(["energy", str(run_dir), "--samples", "4", "--data-dir", str(root)],
                            capsys)
    assert status == 1
    assert ("co-simulation counters: failed (1 counter mismatches, first: cosim_icarus.json: "
            "sample 2 counters__l1_c0_state_reads: RTL ") in out


def test_without_cosim_the_static_term_uses_the_model_latency(run):
    run_dir, net, root, images, labels = run
    doc = energy_cmd.evaluate(run_dir, samples=5, data_dir=root)
    assert doc["checks"]["cosim"]["status"] == "missing"
    static = doc["digital"]["static_range"]
    assert 0 < static["low"]["static_J"] < static["nominal"]["static_J"] < static["high"]["static_J"]
    assert doc["digital"]["static_J"]["mean"] == pytest.approx(static["nominal"]["static_J"])


@pytest.mark.parametrize("setup, message", [
    ("no_run", "no such run directory: run `ttfs train` and `ttfs quantize` first"),
    ("no_network", "network.json not found: run `ttfs quantize` first"),
    ("corrupt_network", "network.json: not valid JSON"),
    ("corrupt_cosim", "cosim.json: not valid JSON"),
    ("bad_costs", "add_8b_J: value must be non-negative, not -1"),
    ("v1_costs", "a version-1 cost table; version 2 fits SRAM energy over capacity"),
    ("bad_lanes", "--lanes takes an integer or one per layer, not 'x'"),
])
def test_bad_input_is_one_line_error(run, tmp_path, capsys, setup, message):
    run_dir, net, root, images, labels = run
    argv = ["energy", str(run_dir), "--samples", "3", "--data-dir", str(root)]
    if setup == "no_run":
        argv[1] = str(tmp_path / "absent")
    elif setup == "no_network":
        (run_dir / "network.json").unlink()
    elif setup == "corrupt_network":
        (run_dir / "network.json").write_text("{trunc")
    elif setup == "corrupt_cosim":
        (run_dir / "cosim.json").write_text("[1, 2")
    elif setup == "bad_costs":
        table = json.loads(DEFAULT_COSTS.read_text())
        table["costs"]["add_8b_J"]["value"] = -1
        (tmp_path / "costs.json").write_text(json.dumps(table))
        argv += ["--costs", str(tmp_path / "costs.json")]
    elif setup == "v1_costs":
        table = json.loads(DEFAULT_COSTS.read_text())
        table["schema_version"] = 1
        (tmp_path / "costs.json").write_text(json.dumps(table))
        argv += ["--costs", str(tmp_path / "costs.json")]
    elif setup == "bad_lanes":
        argv += ["--lanes", "x"]
    status, out, err = main(argv, capsys)
    assert status == 2
    assert err.startswith("ttfs: error: ") and message in err
    assert err.count("\n") == 1


def test_dataset_comes_from_config_when_network_has_none(run, capsys):
    run_dir, net, root, images, labels = run
    doc = json.loads((run_dir / "network.json").read_text())
    doc["meta"] = {}
    (run_dir / "network.json").write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=r"cannot tell which data set .* pass --dataset"):
        energy_cmd.evaluate(run_dir, samples=3, data_dir=root)
    (run_dir / "config.json").write_text(json.dumps({"dataset": "mnist"}))
    assert energy_cmd.evaluate(run_dir, samples=3, data_dir=root)["dataset"] == "mnist"


def test_analog_part_prices_the_same_samples_with_the_spice_model(run, capsys):
    spice = pytest.importorskip("hardware.spice.energy_model")
    run_dir, net, root, images, labels = run
    model = spice.AnalogEnergies(
        synop_sourcing=(1 * PJ, 0.5 * PJ, 1.8), synop_sinking=(3 * PJ, 0.25 * PJ, 0.1),
        e_spike_J=7 * PJ, e_spike_per_unit_J=0.1 * PJ, p_static_W=4e-6, e_idle_J=11 * PJ,
        charge_fixed_C=2.5e-13, charge_per_input_C=3e-16,
        technology={"name": "test", "dt_s": 1e-7}, fit={"held_out": {"rms_rel": 0.01}})
    spice.save(model, run_dir)
    status, out, err = main(["energy", str(run_dir), "--samples", "8", "--data-dir", str(root)],
                            capsys)
    assert status == 0, err
    doc = json.loads((run_dir / "report.json").read_text())
    trace = reference.simulate(net, reference.encode(net, images[:8]))
    expected, events = energy_cmd.energy.analog_inference_energy(model, net, trace)
    np.testing.assert_allclose(doc["per_sample"]["analog_J"], expected.total_J)
    assert doc["analog"]["energy_J"]["mean"] == pytest.approx(expected.total_J.mean())
    assert doc["analog"]["kinds"] == ["synapse_switch_J", "synapse_current_J", "spike_J",
                                      "idle_J", "wait_J"]
    assert [r["synaptic_events"] for r in doc["analog"]["per_layer"]] == pytest.approx(
        events.mean(axis=0))
    assert doc["analog"]["source"] == ("analog_energy.json: transistor-level SPICE fit, "
                                       "technology test, held-out rms error of the fit 1.00%")
    assert doc["analog_to_digital_ratio"] == pytest.approx(
        expected.total_J.mean() / doc["digital"]["energy_J"]["mean"])
    assert "analog: mean " in out
    assert "| 1 | " in (run_dir / "report.md").read_text()


def test_corrupt_analog_model_is_one_line_error(run, capsys):
    run_dir, net, root, images, labels = run
    (run_dir / "analog_energy.json").write_text('{"schema_version": 2}')
    status, out, err = main(["energy", str(run_dir), "--samples", "3", "--data-dir", str(root)],
                            capsys)
    assert status == 2
    assert "analog_energy.json: not an analog energy model" in err
    assert err.rstrip().endswith(f"rerun `ttfs spice {run_dir}`") and err.count("\n") == 1


def test_cosim_records_older_than_the_network_are_ignored(run):
    import os
    run_dir, net, root, images, labels = run
    write_cosim(run_dir, net, images, [0, 1], corrupt=True)
    old = (run_dir / "network.json").stat().st_mtime - 100
    os.utime(run_dir / "cosim.json", (old, old))
    doc = energy_cmd.evaluate(run_dir, samples=5, data_dir=root)
    cosim = doc["checks"]["cosim"]
    assert cosim["status"] == "missing" and cosim["stale"] == ["cosim.json"]
    assert cosim["detail"].startswith("only records older than network.json (cosim.json)")
    write_cosim(run_dir, net, images, [2], corrupt=False)
    (run_dir / "cosim.json").rename(run_dir / "cosim_verilator.json")
    write_cosim(run_dir, net, images, [0, 1], corrupt=True)
    os.utime(run_dir / "cosim.json", (old, old))
    cosim = energy_cmd.evaluate(run_dir, samples=5, data_dir=root)["checks"]["cosim"]
    assert cosim["status"] == "passed"
    assert cosim["detail"].endswith("; ignored records older than network.json: cosim.json")


def test_energy_of_a_pruned_network_encodes_the_selected_pixels(run):
    import dataclasses

    from mapping import network as network_io, prune
    from mapping.network import IntLayer

    run_dir, net, root, images, labels = run
    first = net.layers[0].weight.copy()
    first[:, :100] = 0                          # inputs without fan-out: dropped exactly
    net = dataclasses.replace(net, layers=(IntLayer(first, net.layers[0].threshold),
                                           net.layers[1]), widths=None)
    pruned, kept = prune.prune_inputs(net)
    network_io.save(pruned, run_dir)
    allocation.save(allocation.allocate(pruned), run_dir)
    doc = energy_cmd.evaluate(run_dir, samples=30, data_dir=root)
    assert len(kept) == 684 and doc["counts"][0]["neurons"] == 684
    trace = reference.simulate(net, reference.encode(net, images[:30]))
    assert doc["accuracy"] == float((trace.prediction == labels[:30]).mean())
    assert doc["counts"][1]["spikes"] == trace.spikes[:, 1].mean()
