"""The training-time energy estimate (model/energy.py) against the energy report.

For each run with a ``report.json`` (``ttfs energy``), prints the report's mean digital
energy per inference and two estimates on the same test samples: the one training sees
(float spike times, coefficients with the register widths of the stated rule,
``flow.codesign.default_widths``), the same with the integer network's own widths, and the
estimate on the integer network's spike steps with its own widths (only the estimate's two
approximations left); then both again skip-aware (``float skip``, ``int skip``: less what
the default core saves by skipping, ``flow.codesign.skipping_saving_pJ`` on the float
model's and on the integer network's events); then whether the float estimates order the
runs as the report does. For runs whose report has an analog part (an
``analog_energy.json`` in the run), the same for the analog neuron: the report's mean analog
energy and the training's analog estimate (``model/energy_analog.py``) on the float model's
spike times and weights, with that file's per-event energies, on the scale of weight units
training takes (``max |w|``, no clipping) and on the integer network's own scales (what
the calibrated quantization clipped)::

    nice -n 10 .venv/bin/python benchmarks/bench_energy_estimate.py runs/A runs/B ...
"""
import argparse
import json
from pathlib import Path

import numpy as np
import torch

from flow import codesign, runs
from mapping import from_model, network as network_io, reference
from model import data
from model.energy import estimate_pJ
from model.energy_analog import AnalogCoefficients


def measure(run_dir):
    """One row: the report and both estimates, nJ per inference."""
    report = json.loads((Path(run_dir) / "report.json").read_text())
    digital = report["digital"]
    network = network_io.load(run_dir)
    samples = report["samples"]
    images = data.load(runs.dataset_of(run_dir, network, hint=""), "test").images[:samples]
    options = dict(lanes=digital["lanes"], bank_bytes=digital["bank_bytes"],
                   weight_bits=network.weight_bits, steps=network.steps)
    rule = codesign.energy_coefficients(network.sizes, **options)
    own = codesign.energy_coefficients(network.sizes, network=network, **options)
    net, _ = from_model.load_run(run_dir)
    with torch.no_grad():
        times = net(net.encode(images))
    float_pJ = estimate_pJ(times, rule, t_max=net.config.t_max).numpy()
    float_own_pJ = float(estimate_pJ(times, own, t_max=net.config.t_max).mean())
    trace = reference.simulate(network, reference.encode(network, images))
    int_pJ = codesign.estimate_from_trace(own, trace)
    # the skipping: the access model with and without it, on the float model's events
    # (rounded weights, rule widths) and on the integer network's (its own widths)
    core = {"lanes": digital["lanes"], "bank_bytes": digital["bank_bytes"],
            "weight_bits": network.weight_bits, "steps": network.steps}
    layers, steps = codesign.float_events(
        [layer.weight.detach() for layer in net.layers], [t.numpy() for t in times],
        weight_bits=network.weight_bits, steps=network.steps, t_max=net.config.t_max,
        threshold=net.config.threshold)
    float_saving = codesign.skipping_saving_pJ(layers, steps, **core)
    int_saving = codesign.skipping_saving_pJ(network.layers, trace.spike_steps,
                                             widths=network.widths, **core)
    row = {"run": str(run_dir), "accuracy": report["accuracy"],
           "report_nJ": digital["energy_J"]["mean"] * 1e9,
           "float_estimate_nJ": float(float_pJ.mean()) / 1e3,
           "float_own_nJ": float_own_pJ / 1e3,
           "int_estimate_nJ": float(int_pJ.mean()) / 1e3,
           "float_skip_nJ": float((float_pJ - float_saving).mean()) / 1e3,
           "int_skip_nJ": float((int_pJ - int_saving).mean()) / 1e3}
    if "energy_J" in report["analog"]:
        analog = AnalogCoefficients.from_values(
            codesign.analog_values(run_dir), steps=network.steps,
            weight_bits=network.weight_bits)
        dt = net.config.t_max / network.steps
        own = [net.config.threshold / (layer.threshold * dt) for layer in network.layers]
        with torch.no_grad():
            analog_pJ = [float(analog.estimate_pJ(
                times, [layer.weight for layer in net.layers], t_max=net.config.t_max,
                threshold=net.config.threshold, scales=scales).mean())
                for scales in (None, own)]
        row.update(analog_report_nJ=report["analog"]["energy_J"]["mean"] * 1e9,
                   analog_float_nJ=analog_pJ[0] / 1e3, analog_own_nJ=analog_pJ[1] / 1e3)
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+")
    args = parser.parse_args(argv)
    rows = [measure(run) for run in args.runs]
    keys = ("float_estimate_nJ", "float_own_nJ", "int_estimate_nJ", "float_skip_nJ",
            "int_skip_nJ")
    print(f"{'run':<40} {'acc':>6} {'report nJ':>10} " + " ".join(
        f"{name:>10} {'ratio':>6}" for name in ("float est", "own widths", "int est",
                                                "float skip", "int skip")))
    for r in rows:
        print(f"{r['run']:<40} {r['accuracy']:6.4f} {r['report_nJ']:10.2f} " + " ".join(
            f"{r[key]:10.2f} {r[key] / r['report_nJ']:6.3f}" for key in keys))
    _order(rows, "report_nJ", "float_estimate_nJ", "digital, without skipping")
    _order(rows, "report_nJ", "float_skip_nJ", "digital, skip-aware")
    analog = [r for r in rows if "analog_report_nJ" in r]
    if analog:
        print(f"\n{'run':<40} {'acc':>6} {'analog report nJ':>16} {'float est':>10} "
              f"{'ratio':>6} {'own scales':>10} {'ratio':>6}")
        for r in analog:
            print(f"{r['run']:<40} {r['accuracy']:6.4f} {r['analog_report_nJ']:16.2f} " + " ".join(
                f"{r[key]:10.2f} {r[key] / r['analog_report_nJ']:6.3f}"
                for key in ("analog_float_nJ", "analog_own_nJ")))
        _order(analog, "analog_report_nJ", "analog_float_nJ", "analog")
        _order(analog, "analog_report_nJ", "analog_own_nJ", "analog, own scales")


def _order(rows, report, estimate, part):
    order = [np.argsort([r[key] for r in rows]).tolist() for key in (report, estimate)]
    print(f"{part}: same order as the report: {order[0] == order[1]} (report {order[0]}, "
          f"float estimate {order[1]})")


if __name__ == "__main__":
    main()
