"""Compare simulated firing times of a layer's neurons with the closed form of the model.

The inputs of layer ``l`` for each sample are the spike steps that the integer reference
simulator (:func:`mapping.reference.simulate`) gives for layer ``l - 1`` (the encoded pixels
for the first layer). For each (sample, neuron) the circuit is simulated and its firing time
compared with the continuous crossing :func:`hardware.spice.ramp.crossing_step`; the record
also checks that the reference's firing step is the ceiling of that crossing.
"""
import numpy as np

from mapping import reference

from . import measure
from .netlist import Neuron
from .technology import DEFAULT


def layer_inputs(network, layer, input_steps):
    """Input spike steps ``[batch, n_in]`` of ``network.layers[layer]`` and the reference
    firing steps ``[batch, n_out]`` of that layer, for input spike steps of the network."""
    if not 0 <= layer < len(network.layers):
        raise ValueError(f"layer must be in [0, {len(network.layers) - 1}], not {layer}")
    trace = reference.simulate(network, np.asarray(input_steps))
    return trace.spike_steps[layer], trace.spike_steps[layer + 1]


def validate(network, layer, neurons, input_steps, sim, *, level, tech=DEFAULT,
             samples=None):
    """Simulate ``neurons`` (indices) of ``layer`` for each row of ``input_steps``.

    Returns a list of records (dicts): ``sample`` (its index in ``samples`` or the row),
    ``neuron``, ``reference_step`` (from the reference simulator), ``reference_agrees``
    (``ceil`` of the closed form equals it) and the fields of
    :class:`~hardware.spice.measure.Measurement`.
    """
    n_out = network.layers[layer].n_out
    neurons = list(neurons)
    bad = [n for n in neurons if not 0 <= n < n_out]
    if bad:
        raise ValueError(f"layer {layer} has neurons 0..{n_out - 1}, not {bad[0]}")
    inputs, fired = layer_inputs(network, layer, input_steps)
    labels = list(range(len(inputs))) if samples is None else list(samples)
    records = []
    for row, label in enumerate(labels):
        for index in neurons:
            neuron = Neuron.from_layer(network, layer, index, inputs[row])
            m = measure.simulate(neuron, level, sim, tech)
            record = {"sample": int(label), "neuron": int(index), **m.to_json()}
            record["reference_step"] = int(fired[row, index])
            record["reference_agrees"] = m.reference_step == int(fired[row, index])
            records.append(record)
    return records


def summarize(records):
    """Error distribution (in steps) and agreement counts of :func:`validate` records.

    A record whose model neuron fires and whose circuit does not (or the reverse) counts as
    a ``fire_silent_mismatch``; the error distribution is over neurons where both fire.
    """
    fired = [r for r in records if r["model_step"] is not None and r["fire_step"] is not None]
    errors = np.array([r["error_steps"] for r in fired], dtype=np.float64)
    summary = {
        "neurons": len(records),
        "both_fired": len(fired),
        "both_silent": sum(1 for r in records
                           if r["model_step"] is None and r["fire_step"] is None),
        "fire_silent_mismatch": sum(1 for r in records
                                    if (r["model_step"] is None) != (r["fire_step"] is None)),
        "reference_agrees": sum(1 for r in records if r["reference_agrees"]),
    }
    if errors.size:
        summary["error_steps"] = {
            "mean": float(errors.mean()), "std": float(errors.std()),
            "min": float(errors.min()), "max": float(errors.max()),
            "max_abs": float(np.abs(errors).max()),
            "p50_abs": float(np.percentile(np.abs(errors), 50)),
            "p95_abs": float(np.percentile(np.abs(errors), 95)),
        }
    return summary
