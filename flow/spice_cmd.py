"""``ttfs spice``: simulate neurons of a quantized network in SPICE and characterize energies.

Reads ``network.json`` + ``weights.npz`` of a run, takes test samples of the run's data set
(or random input spikes with ``--inputs random``), gets each layer's input spikes from the
integer reference simulator, simulates the chosen neurons of one layer in ngspice at the
behavioral or transistor level, and writes into the run directory:

* ``spice.json``: per (sample, neuron) the closed-form and measured firing times, the error
  in steps, supply energies; the error distribution; the technology;
* ``spice.png``: membrane voltage of the first sample's neurons against the model's ramp
  and the threshold;
* ``analog_energy.json`` (unless ``--no-characterize``): the per-event energy model of
  :mod:`hardware.spice.energy_model`, plus flat per-event figures for the energy report
  (``synop_J``: the model's mean over the synaptic events of the simulated samples,
  ``spike_J``, ``membrane_update_J`` = 0 as the analog membrane integrates continuously,
  ``static_power_W`` per waiting neuron).

Exit status 1 when a firing time misses its bound (0.01 step behavioral, 0.5 step
transistor), a neuron fires in one model and not in the other, or the reference simulator's
firing step is not the ceiling of the closed-form crossing.
"""
import math

import numpy as np

from hardware.spice import measure
from hardware.spice.netlist import LEVELS, Neuron
from hardware.spice.technology import DEFAULT
from mapping.files import atomic_write
from mapping import reference

from . import runs

SCHEMA_VERSION = 1
BOUND_STEPS = {"behavioral": 0.01, "transistor": 0.5}
PLOT_NEURONS = 4


def parse_neurons(text, n_out):
    """``"A:B"`` (a range), ``"N"`` (the first N) or ``"i,j,k"`` -> list of indices."""
    try:
        if ":" in text:
            lo, hi = (int(x) if x else None for x in text.split(":"))
            picked = list(range(n_out))[slice(lo, hi)]
        elif "," in text:
            picked = [int(x) for x in text.split(",")]
        else:
            picked = list(range(min(int(text), n_out)))
    except ValueError:
        raise ValueError(f"--neurons must be A:B, N or i,j,k, not {text!r}") from None
    bad = [i for i in picked if not 0 <= i < n_out]
    if not picked or bad:
        raise ValueError(f"--neurons {text!r} selects no neuron of 0..{n_out - 1}")
    return picked


def input_spikes(run_dir, network, *, inputs, samples, seed, data_dir=None):
    """``(input spike steps [samples, n_in], sample labels)`` of the network."""
    if inputs == "random":
        rng = np.random.default_rng(seed)
        steps = rng.integers(0, network.steps + 1, (samples, network.layers[0].n_in))
        return steps, list(range(samples))
    from model import data
    dataset = runs.dataset_of(run_dir, network, hint="use --inputs random")
    split = data.load(dataset, "test", root=data_dir)
    chosen = np.arange(min(samples, len(split.images)))
    return reference.encode(network, split.images[chosen]), chosen.tolist()


def mean_synop_J(energies, network, input_steps):
    """Mean modelled energy of one synaptic event, per computing layer, over the reference
    run of ``input_steps`` (events as counted by :mod:`mapping.reference`)."""
    trace = reference.simulate(network, input_steps)
    K = network.steps
    means = []
    for l, layer in enumerate(network.layers):
        total, count = 0.0, 0
        for s_in, fire in zip(trace.spike_steps[l], trace.spike_steps[l + 1]):
            delivered = s_in <= K - 2
            s = s_in[delivered][:, None]
            alive = fire[None, :] > s
            end = np.minimum(fire, K - 1)[None, :]
            on_steps = np.clip(end - s, 0, None)
            e = energies.synop_J(layer.weight.T[delivered], on_steps, layer.threshold,
                                 layer.n_in)
            total += float((e * alive).sum())
            count += int(alive.sum())
        means.append(total / count if count else 0.0)
    return means


def check(summary, level):
    """Messages for every failed check of a :func:`validation.summarize` summary."""
    failures = []
    bound = BOUND_STEPS[level]
    errors = summary.get("error_steps")
    if errors and errors["max_abs"] > bound:
        failures.append(f"largest firing-time error {errors['max_abs']:.4f} steps exceeds "
                        f"{bound} at the {level} level")
    if summary["fire_silent_mismatch"]:
        failures.append(f"{summary['fire_silent_mismatch']} neurons fire in one model only")
    if summary["reference_agrees"] != summary["neurons"]:
        failures.append(f"{summary['neurons'] - summary['reference_agrees']} reference firing "
                        f"steps are not the ceiling of the closed-form crossing")
    return failures


def plot(path, network, layer, neurons, inputs, sim, level, tech=DEFAULT):
    """Membrane voltage against the model's ramp and threshold for ``neurons``."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from hardware.spice import ramp

    fig, axes = plt.subplots(len(neurons), 1, figsize=(7, 2.2 * len(neurons)), squeeze=False)
    for ax, index in zip(axes[:, 0], neurons):
        neuron = Neuron.from_layer(network, layer, index, inputs)
        wave, _ = measure.waveforms(neuron, level, sim, tech)
        u = tech.step(wave["time"])
        scale = tech.v_swing_V / neuron.threshold
        model = tech.v_rest_V + scale * ramp.potential(neuron.weights, neuron.input_steps,
                                                       u, neuron.steps)
        crossing = neuron.crossing()
        if math.isfinite(crossing):
            model = np.where(u <= crossing, model, np.nan)
        ax.plot(u, wave["v(mem)"], label=f"SPICE ({level})")
        ax.plot(u, model, "--", label="model ramp (until it fires)")
        ax.axhline(tech.v_fire_V, color="k", lw=0.8, label="threshold")
        if math.isfinite(crossing):
            ax.axvline(crossing, color="r", lw=0.8, label="closed-form crossing")
        ax.set_ylabel(f"neuron {index} [V]")
        ax.set_xlim(-1, neuron.steps - 0.5)
    axes[0, 0].legend(fontsize=7, loc="upper left")
    axes[-1, 0].set_xlabel("model time [steps]")
    fig.suptitle(f"layer {layer}, first sample: membrane voltage")
    fig.tight_layout()
    atomic_write(path, lambda staged: fig.savefig(staged, dpi=110))
    plt.close(fig)


def _run(args):
    from .spice_stage import SpiceConfig, simulate_spice

    config = SpiceConfig(layer=args.layer, neurons=args.neurons, samples=args.samples,
                         level=args.level, inputs=args.inputs, seed=args.seed,
                         characterize=not args.no_characterize, data_dir=args.data_dir)
    result = simulate_spice(args.run, config)
    summary = result.doc["summary"]
    print(_describe(summary, args.level, len(result.doc["records"])))
    if result.energy is not None:
        model, flat = result.energy_model, result.energy
        print(f"energy model: synop {flat['synop_J']:.3e} J (mean), spike "
              f"{model.e_spike_J:.3e} J, static {model.p_static_W:.3e} W per neuron; "
              f"held-out error rms {model.fit['held_out']['rms_rel']:.1%} -> "
              f"{result.energy_path}")
    for failure in result.failures:
        print(f"ttfs spice: FAILED: {failure}")
    return 1 if result.failures else 0


def _describe(summary, level, count):
    errors = summary.get("error_steps")
    text = (f"{level}: {count} neurons, {summary['both_fired']} fired in both, "
            f"{summary['both_silent']} silent in both, {summary['fire_silent_mismatch']} "
            f"mismatched")
    if errors:
        text += (f"; error [steps] mean {errors['mean']:+.4f}, std {errors['std']:.4f}, "
                 f"max |e| {errors['max_abs']:.4f}")
    return text


def add_parser(subparsers):
    p = subparsers.add_parser("spice", help="simulate neurons in SPICE; per-event energies",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("run", help="run directory with network.json and weights.npz")
    p.add_argument("--layer", type=int, default=0, help="computing layer, 0-based (default 0)")
    p.add_argument("--neurons", default="0:16", help="A:B, N (the first N) or i,j,k "
                   "(default 0:16)")
    p.add_argument("--samples", type=int, default=4, help="test samples (default 4)")
    p.add_argument("--level", choices=LEVELS, default="transistor",
                   help="circuit level (default transistor)")
    p.add_argument("--inputs", choices=("test", "random"), default="test",
                   help="test samples of the run's data set, or random input spikes")
    p.add_argument("--seed", type=int, default=0, help="seed of --inputs random")
    p.add_argument("--data-dir", default=None, help="data directory (default: $TTFS_DATA "
                   "or ./data)")
    p.add_argument("--no-characterize", action="store_true",
                   help="skip the energy characterization (analog_energy.json)")
    p.set_defaults(handler=_run)
