"""The SPICE stage as a library function: simulate neurons of a quantized run in ngspice,
check their firing times and characterize the per-event energies.

:func:`simulate_spice` writes ``spice.json``, ``spice.png`` and (unless
``config.characterize`` is false) ``analog_energy.json`` into the run directory, exactly as
``ttfs spice`` describes, and returns a :class:`SpiceResult`; ``ttfs spice`` and
:func:`flow.api.run_flow` call it. Nothing here prints.
"""
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mapping import network as network_io
from mapping.files import write_text

__all__ = ["SpiceConfig", "SpiceResult", "simulate_spice"]

INPUTS = ("test", "random")


@dataclass(frozen=True)
class SpiceConfig:
    """What :func:`simulate_spice` simulates.

    Members
    -------
    layer : computing layer, 0-based
    neurons : ``"A:B"`` (a range), ``"N"`` (the first N) or ``"i,j,k"``
    samples : test samples (or random inputs) driving them
    level : ``"behavioral"`` or ``"transistor"``
    inputs : ``"test"`` (the run's test images) or ``"random"`` input spikes
    seed : seed of random inputs
    characterize : also fit the per-event energy model (``analog_energy.json``)
    data_dir : data directory (None: ``$TTFS_DATA`` or ``./data``)
    """

    layer: int = 0
    neurons: str = "0:16"
    samples: int = 4
    level: str = "transistor"
    inputs: str = "test"
    seed: int = 0
    characterize: bool = True
    data_dir: object = None

    def __post_init__(self):
        from hardware.spice.netlist import LEVELS

        for name, minimum in (("layer", 0), ("samples", 1), ("seed", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ValueError(f"{name} must be an integer >= {minimum}, not {value!r}")
        if self.level not in LEVELS:
            raise ValueError(f"level must be one of {', '.join(LEVELS)}, not {self.level!r}")
        if self.inputs not in INPUTS:
            raise ValueError(f"inputs must be one of {', '.join(INPUTS)}, not {self.inputs!r}")
        if not isinstance(self.neurons, str):
            raise ValueError(f"neurons must be a string like '0:16', '8' or '1,4,7', "
                             f"not {self.neurons!r}")


@dataclass(frozen=True)
class SpiceResult:
    """What :func:`simulate_spice` measured.

    Members
    -------
    doc : the ``spice.json`` document (summary, records, technology)
    energy : flat per-event figures written to ``analog_energy.json``, or None
    energy_model : the fitted :class:`hardware.spice.energy_model` model, or None
    energy_path : path of ``analog_energy.json``, or None
    failures : one message per failed check (empty when every check passed)
    """

    doc: dict
    energy: object
    energy_model: object
    energy_path: object
    failures: tuple


def simulate_spice(run_dir, config=SpiceConfig()):
    """Simulate ``config.neurons`` of ``config.layer`` of the run in ngspice; returns a
    :class:`SpiceResult`. Raises FileNotFoundError / ValueError for a run without a
    quantized network or a layer or neuron it does not have."""
    from hardware.spice import energy_model, validation
    from hardware.spice.simulator import Simulator
    from hardware.spice.technology import DEFAULT

    from . import spice_cmd

    run_dir = Path(run_dir)
    network = network_io.load(run_dir)
    if not 0 <= config.layer < len(network.layers):
        raise ValueError(f"layer must be in [0, {len(network.layers) - 1}], not {config.layer}")
    neurons = spice_cmd.parse_neurons(config.neurons, network.layers[config.layer].n_out)
    steps, labels = spice_cmd.input_spikes(run_dir, network, inputs=config.inputs,
                                           samples=config.samples, seed=config.seed,
                                           data_dir=config.data_dir)
    with Simulator(timeout_s=600) as sim:
        records = validation.validate(network, config.layer, neurons, steps, sim,
                                      level=config.level, samples=labels)
        summary = validation.summarize(records)
        layer_in, _ = validation.layer_inputs(network, config.layer, steps[:1])
        spice_cmd.plot(run_dir / "spice.png", network, config.layer,
                       neurons[:spice_cmd.PLOT_NEURONS], layer_in[0], sim, config.level)
        energies = energy_model.characterize(sim=sim) if config.characterize else None
    doc = {"schema_version": spice_cmd.SCHEMA_VERSION, "level": config.level,
           "layer": config.layer, "neurons": neurons, "samples": labels,
           "inputs": config.inputs, "bound_steps": spice_cmd.BOUND_STEPS[config.level],
           "technology": DEFAULT.to_json(), "summary": summary, "records": records}
    write_text(run_dir / "spice.json", json.dumps(doc, indent=1) + "\n")
    flat = path = None
    if energies is not None:
        per_layer = spice_cmd.mean_synop_J(energies, network, steps)
        flat = {"synop_J": float(np.mean(per_layer)), "synop_J_per_layer": per_layer,
                "spike_J": energies.e_spike_J, "membrane_update_J": 0.0,
                "static_power_W": energies.p_static_W}
        path = energy_model.save(energies, run_dir, summary=flat)
    return SpiceResult(doc, flat, energies, path,
                       tuple(spice_cmd.check(summary, config.level)))
