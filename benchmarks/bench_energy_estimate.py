"""The training-time energy estimate (model/energy.py) against the energy report.

For each run with a ``report.json`` (``ttfs energy``), prints the report's mean digital
energy per inference and two estimates on the same test samples: the one training sees
(float spike times, coefficients with the register widths of the stated rule,
``flow.codesign.default_widths``), the same with the integer network's own widths, and the
estimate on the integer network's spike steps with its own widths (only the estimate's two
approximations left); then whether the float
estimate orders the runs as the report does::

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
    float_pJ = float(estimate_pJ(times, rule, t_max=net.config.t_max).mean())
    float_own_pJ = float(estimate_pJ(times, own, t_max=net.config.t_max).mean())
    trace = reference.simulate(network, reference.encode(network, images))
    return {"run": str(run_dir), "accuracy": report["accuracy"],
            "report_nJ": digital["energy_J"]["mean"] * 1e9,
            "float_estimate_nJ": float_pJ / 1e3, "float_own_nJ": float_own_pJ / 1e3,
            "int_estimate_nJ": float(codesign.estimate_from_trace(own, trace).mean()) / 1e3}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+")
    args = parser.parse_args(argv)
    rows = [measure(run) for run in args.runs]
    print(f"{'run':<40} {'acc':>6} {'report nJ':>10} {'float est':>10} {'ratio':>6} "
          f"{'own widths':>10} {'ratio':>6} {'int est':>10} {'ratio':>6}")
    for r in rows:
        print(f"{r['run']:<40} {r['accuracy']:6.4f} {r['report_nJ']:10.2f} " + " ".join(
            f"{r[key]:10.2f} {r[key] / r['report_nJ']:6.3f}"
            for key in ("float_estimate_nJ", "float_own_nJ", "int_estimate_nJ")))
    order = [np.argsort([r[key] for r in rows]).tolist()
             for key in ("report_nJ", "float_estimate_nJ")]
    print(f"same order as the report: {order[0] == order[1]} (report {order[0]}, float "
          f"estimate {order[1]})")


if __name__ == "__main__":
    main()
