"""ngspice end to end through PySpice's shared mode: a capacitor charged by switched currents.

Current sources ``I_j`` switch on at ``t_j`` and charge a capacitor ``C`` from 0 V, so while
all of them are on the voltage is ``sum_j I_j (t - t_j) / C`` and it reaches ``V_th`` at
``t = (C V_th + sum_j I_j t_j) / sum_j I_j``: the TTFS neuron's closed form.
"""
import numpy as np
import pytest

C_MEM_F = 1e-12
V_TH_V = 1.0
RISE_S = 1e-12
#: (switch-on time in s, current in A); all on before the crossing at 24.5 ns
INPUTS = [(2e-9, 20e-6), (5e-9, 35e-6), (9e-9, -15e-6), (12e-9, 8e-6)]


def _circuit():
    from PySpice.Spice.Netlist import Circuit

    circuit = Circuit("toolchain capacitor charged by switched currents")
    circuit.C("mem", "mem", circuit.gnd, C_MEM_F)
    for j, (t_on_s, i_A) in enumerate(INPUTS):
        # current flows from the first node through the source into the second: into mem
        circuit.PieceWiseLinearCurrentSource(
            f"in{j}", circuit.gnd, "mem",
            values=[(0, 0), (t_on_s, 0), (t_on_s + RISE_S, i_A)])
    return circuit


def _crossing_time(time_s, v_V, threshold_V):
    above = np.flatnonzero(v_V >= threshold_V)
    assert above.size and above[0] > 0, "the voltage never crossed the threshold"
    k = above[0]
    return time_s[k - 1] + (threshold_V - v_V[k - 1]) * (time_s[k] - time_s[k - 1]) / (
        v_V[k] - v_V[k - 1])


@pytest.mark.ngspice
def test_toolchain_ngspice_crossing_time_matches_closed_form():
    from hardware import tools

    tools.require("ngspice")
    total_A = sum(i_A for _, i_A in INPUTS)
    expected_s = (C_MEM_F * V_TH_V + sum(t_s * i_A for t_s, i_A in INPUTS)) / total_A
    assert expected_s > max(t_s for t_s, _ in INPUTS) + RISE_S, "all inputs must be causal"

    simulator = _circuit().simulator(simulator="ngspice-shared", temperature=25,
                                     nominal_temperature=25)
    simulator.initial_condition(mem=0)
    analysis = simulator.transient(step_time=10e-12, end_time=expected_s * 1.05,
                                   max_time=10e-12, use_initial_condition=True)
    time_s = np.asarray(analysis.time, dtype=float)
    v_V = np.asarray(analysis["mem"], dtype=float)

    measured_s = _crossing_time(time_s, v_V, V_TH_V)
    assert abs(measured_s - expected_s) <= 1e-3 * expected_s, (measured_s, expected_s)
    # the ramp is linear once every source is on: a second check of the slope sum_j I_j / C
    late = time_s > max(t_s for t_s, _ in INPUTS) + 2 * RISE_S
    slope_V_per_s = np.polyfit(time_s[late], v_V[late], 1)[0]
    assert slope_V_per_s == pytest.approx(total_A / C_MEM_F, rel=1e-3)
