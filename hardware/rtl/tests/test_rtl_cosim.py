"""cocotb co-simulation of the exported Verilog on Icarus and Verilator against the reference.

One Verilog build per parameter set, several inferences per build: random inputs plus the
edge rows (no input spike at all, every spike on the last step, every input at step 0).
"""
import json
import shutil
import subprocess

import numpy as np
import pytest

from hardware.rtl.cases import CaseSpec, random_inputs, random_network
from hardware.rtl.cosim import run_cosim
from hardware.rtl.export import LINT_WAIVERS, lint, write_verilog
from hardware.rtl.top import NetworkTop
from mapping import network as network_io
from mapping.allocation import CoreLimits, allocate
from mapping.network import IntLayer, IntNetwork

ICARUS_CASES = [
    CaseSpec((9, 8, 6, 4), weight_bits=5, steps=12, lanes=(2, 3, 1), max_neurons=3, seed=41),
    CaseSpec((10, 4), weight_bits=2, steps=3, lanes=4, seed=42, extremes=True),
    CaseSpec((6, 5, 3), weight_bits=8, steps=2, lanes=1, max_neurons=2, seed=43, extremes=True),
    CaseSpec((8, 6, 5), weight_bits=6, steps=10, lanes=2, max_neurons=2, seed=44, silent=True),
]
VERILATOR_CASES = [
    CaseSpec((6, 5, 3), weight_bits=8, steps=4, lanes=2, max_neurons=2, seed=45, extremes=True),
]
SLOW_CASES = [
    CaseSpec((20, 16, 10), weight_bits=4, steps=16, lanes=l, max_neurons=m, seed=50 + l)
    for l, m in ((1, 256), (4, 5), (8, 16))
] + [ICARUS_CASES[0]]


def _inputs(network, seed, batch=8):
    K, n_in = network.steps, network.sizes[0]
    x = random_inputs(n_in, K, batch, np.random.default_rng(seed), 0.6)
    x[0] = K
    x[1] = np.where(np.arange(n_in) % 2 == 0, K - 1, K)
    x[2] = 0
    return x


def _cosim(spec, sim, tmp_path):
    network = random_network(spec)
    allocation = allocate(network, CoreLimits(max_neurons=spec.max_neurons))
    results = run_cosim(network, _inputs(network, spec.seed), tmp_path / sim, sim=sim,
                        allocation=allocation, lanes=spec.lanes)
    assert results["mismatches"] == 0, results["first_mismatch"]
    assert results["samples"] == 8
    return results


@pytest.mark.icarus
@pytest.mark.parametrize("spec", ICARUS_CASES, ids=lambda s: f"seed{s.seed}")
def test_rtl_icarus_matches_reference(spec, tmp_path):
    _cosim(spec, "icarus", tmp_path)


@pytest.mark.verilator
@pytest.mark.parametrize("spec", VERILATOR_CASES, ids=lambda s: f"seed{s.seed}")
def test_rtl_verilator_matches_reference(spec, tmp_path):
    results = _cosim(spec, "verilator", tmp_path)
    assert set(lint(results["verilog"])) == set(LINT_WAIVERS)


@pytest.mark.slow
@pytest.mark.icarus
@pytest.mark.verilator
@pytest.mark.parametrize("spec", SLOW_CASES, ids=lambda s: f"seed{s.seed}")
@pytest.mark.parametrize("sim", ["icarus", "verilator"])
def test_rtl_cosim_matches_reference_on_wider_networks(spec, sim, tmp_path):
    _cosim(spec, sim, tmp_path)


@pytest.mark.icarus
def test_rtl_cosim_reports_the_first_differing_event(tmp_path):
    weight = np.array([[3, 1], [1, 3]])
    network = IntNetwork(layers=(IntLayer(weight, 6),), weight_bits=3, steps=6)
    inputs = np.array([[0, 5], [5, 0]])
    build = tmp_path / "icarus"
    assert run_cosim(network, inputs, build, sim="icarus")["mismatches"] == 0
    # the same Verilog judged against a reference whose weights are swapped must fail
    swapped = IntNetwork(layers=(IntLayer(weight[::-1], 6),), weight_bits=3, steps=6)
    network_io.save(swapped, build / "network")
    case = json.loads((build / "case.json").read_text())
    from cocotb_tools.runner import get_runner
    with pytest.raises(SystemExit):
        get_runner("icarus").test(test_module="hardware.rtl.cosim_bench", hdl_toplevel="ttfs_top",
                                  hdl_toplevel_lang="verilog",
                                  build_dir=build, test_dir=build, log_file=build / "sim2.log",
                                  extra_env={"TTFS_COSIM_CASE": str(build / "case.json")})
    results = json.loads(open(case["results"]).read())
    assert results["mismatches"] == 2
    assert results["first_mismatch"] == ("sample 0: output neuron 1 should spike at step 2; "
                                         "the hardware emitted (index 0, step 2) instead")


@pytest.mark.verilator
def test_rtl_export_passes_verilator_lint_with_the_documented_waivers(tmp_path):
    spec = ICARUS_CASES[0]
    network = random_network(spec)
    top = NetworkTop(network, allocate(network, CoreLimits(max_neurons=3)), lanes=spec.lanes)
    verilog_path, sidecar_path = write_verilog(top, tmp_path)
    counts = lint(verilog_path)
    assert set(counts) == set(LINT_WAIVERS)
    sidecar = json.loads(sidecar_path.read_text())
    names = {p["name"]: p for p in sidecar["ports"]}
    assert names["spike_in__step"] == {"name": "spike_in__step", "direction": "input",
                                       "width": 4}
    assert names["membrane_updates__3"]["direction"] == "output"
    assert sidecar["parameters"]["groups"] == [[2, 1, 2], [1, 1], [2, 2]]


@pytest.mark.icarus
def test_rtl_export_compiles_with_icarus(tmp_path):
    network = random_network(ICARUS_CASES[1])
    verilog_path, _ = write_verilog(NetworkTop(network, lanes=4), tmp_path)
    result = subprocess.run([shutil.which("iverilog"), "-o", str(tmp_path / "top.vvp"),
                             str(verilog_path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
