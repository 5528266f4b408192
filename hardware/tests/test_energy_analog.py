import math

import numpy as np
import pytest

from hardware import energy
from mapping import reference
from mapping.network import IntLayer, IntNetwork

spice = pytest.importorskip("hardware.spice.energy_model")
from hardware.spice.netlist import Neuron  # noqa: E402

PJ = 1e-12


def round_model(dt_s=1e-7):
    return spice.AnalogEnergies(
        synop_sourcing=(1 * PJ, 0.5 * PJ, 2.0), synop_sinking=(3 * PJ, 0.25 * PJ, 1.0),
        e_spike_J=7 * PJ, e_spike_per_unit_J=0.5 * PJ, p_static_W=4e-6, e_idle_J=11 * PJ,
        charge_fixed_C=0.0, charge_per_input_C=1e-13, technology={"dt_s": dt_s}, fit={})


def tiny_network():
    return IntNetwork(layers=(IntLayer(np.array([[2, 1, 0], [1, -1, 3]]), 3),
                              IntLayer(np.array([[1, 2]]), 2)),
                      weight_bits=4, steps=6)


def test_analog_energy_of_tiny_network_by_hand():
    # layer 1: inputs at steps 0 and 1 (the third silent). Neuron 0 (w 2, 1) fires at 2:
    # t_wait 3 dt, synapse on-times 2 dt and 1 dt; neuron 1 (w 1, -1) is silent: end K-1 = 5,
    # t_wait 6 dt, on-times 5 dt and 4 dt. Layer 2: neuron 0 of layer 1 spiked at 2; the
    # output (w 1) fires at 4: t_wait 5 dt, on-time 2 dt.
    net, model, dt = tiny_network(), round_model(), 1e-7
    trace = reference.simulate(net, np.array([[0, 1, 6]]))
    result, events = energy.analog_inference_energy(model, net, trace)
    assert events.tolist() == [[4, 1]]
    kinds = {k: v[0].tolist() for k, v in result.per_kind_J.items()}
    # switching: three sourcing events of 2, 1, 1 units and one sinking event of 1 unit
    assert kinds["synapse_switch_J"] == pytest.approx([3 * PJ + 0.5 * PJ * 4 + 3 * PJ + 0.25 * PJ,
                                                       1 * PJ + 0.5 * PJ])
    # current: sourcing unit-steps 2*2 + 1*1 + 1*5, sinking 1*4; layer 2: 1*2; one
    # unit-step is Q(n) / theta = 3e-13 / 3 = 2e-13 / 2 = 1e-13 C in both layers
    assert kinds["synapse_current_J"] == pytest.approx([2.0 * 10e-13 + 1.0 * 4e-13,
                                                        2.0 * 2e-13])
    # one spike in each layer, of neurons with 3 weight units each
    assert kinds["spike_J"] == pytest.approx([8.5 * PJ, 8.5 * PJ])
    assert kinds["idle_J"] == pytest.approx([22 * PJ, 11 * PJ])
    assert kinds["wait_J"] == pytest.approx([4e-6 * 9 * dt, 4e-6 * 5 * dt])
    assert result.static_J.tolist() == [0.0]


def test_analog_energy_equals_the_spice_model_neuron_by_neuron():
    rng = np.random.default_rng(3)
    layers = (IntLayer(rng.integers(-8, 8, (7, 20)), 30), IntLayer(rng.integers(-8, 8, (4, 7)), 9))
    net = IntNetwork(layers=layers, weight_bits=4, steps=12)
    x = rng.integers(0, 13, (9, 20))
    trace = reference.simulate(net, x)
    model = round_model()
    result, events = energy.analog_inference_energy(model, net, trace)
    coef = model.coefficients()
    for l, layer in enumerate(net.layers):
        for b in range(len(x)):
            expected = 0.0
            for i in range(layer.n_out):
                neuron = Neuron.from_layer(net, l, i, trace.spike_steps[l][b])
                step = trace.spike_steps[l + 1][b, i]
                fire = math.inf if step == net.steps else int(step)
                row = spice.features(neuron, fire, 1e-7,
                                     model.charge_to_fire_C(layer.n_in))
                expected += float(np.dot(row, coef))
            assert result.per_layer_J[b, l] == pytest.approx(expected, rel=1e-12)
