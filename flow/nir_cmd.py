"""``ttfs export-nir``, ``ttfs import-nir`` and ``ttfs nir-check``: a trained run as a NIR
graph, a NIR graph as a run, and the exported graph simulated in Norse or snnTorch against
our model on the same time grid (docs/nir.md).

``ttfs export-nir runs/NAME --out net.nir [--steps K]`` writes the graph for readers stepping
at ``t_max / K``; ``ttfs import-nir net.nir --out runs/NEW`` writes ``config.json`` and
``model.pt``; ``ttfs nir-check runs/NAME --samples N [--reader norse|snntorch|both]`` prints
the agreement of spike steps and predictions on the first N test images and writes
``nir_check.json`` into the run; it exits 1 when a spike step differs by more than one step
or the predictions agree on fewer than 99 % of the images.
"""
import json
import tempfile
from pathlib import Path

from model.files import write_text

#: ``model.nir_io.DEFAULT_STEPS``, repeated so that ``ttfs`` starts without importing nir
DEFAULT_STEPS = 256

#: Pass criteria of ``nir-check`` (issue 15): spike steps within this many steps ...
MAX_STEP_DIFFERENCE = 1
#: ... and at least this fraction of equal predictions.
MIN_PREDICTION_AGREEMENT = 0.99


def export_run(run_dir, out, *, steps=DEFAULT_STEPS):
    """Export the trained network of ``run_dir`` to the NIR file ``out``; returns the graph."""
    from model import load_run
    from model.nir_io import to_nir, write_nir

    network, config = load_run(run_dir)
    graph = to_nir(network, steps=steps, dataset=config.get("dataset"))
    write_nir(graph, out)
    return graph


def import_file(path, out_dir, *, dataset=None):
    """Read the NIR file ``path`` into a new run directory ``out_dir``; returns the network."""
    from model.nir_io import from_nir, metadata, read_nir, save_run

    graph = read_nir(path)
    network = from_nir(graph)
    dataset = dataset or metadata(graph).get("dataset") or "mnist"
    save_run(network, out_dir, dataset=dataset, source=path)
    return network


def check_run(run_dir, *, samples, steps=DEFAULT_STEPS, readers=("norse", "snntorch"),
              root=None):
    """Export ``run_dir``, read the file back and compare it in each reader on the first
    ``samples`` test images; returns ``{reader: report}`` (see :func:`model.nir_check.compare`)."""
    from model import data, load_run
    from model.nir_check import compare
    from model.nir_io import read_nir

    network, config = load_run(run_dir)
    test = data.load(config.get("dataset", "mnist"), "test", root=root)
    if not 0 < samples <= len(test.labels):
        raise ValueError(f"--samples must lie in [1, {len(test.labels)}], not {samples}")
    with tempfile.TemporaryDirectory() as tmp:  # simulate what export-nir writes
        export_run(run_dir, Path(tmp) / "net.nir", steps=steps)
        graph = read_nir(Path(tmp) / "net.nir")
    return {reader: compare(network, graph, test.images[:samples], reader=reader,
                            labels=test.labels[:samples]) for reader in readers}


def passed(report):
    """Whether a reader's report meets the criteria of the module docstring."""
    return (all(layer["max_step_difference"] <= MAX_STEP_DIFFERENCE
                and layer["fired_in_one_only"] == 0 and layer["max_spikes_per_neuron"] <= 1
                for layer in report["layers"])
            and report["prediction_agreement"] >= MIN_PREDICTION_AGREEMENT)


def _run_export(args):
    graph = export_run(args.run, args.out, steps=args.steps)
    layers = sum(1 for name in graph.nodes if name.startswith("lif"))
    print(f"wrote {args.out}: {layers} layers, {args.steps} steps of "
          f"{json.loads(graph.metadata['ttfs'])['dt']:.6g} time units")
    return 0


def _run_import(args):
    network = import_file(args.file, args.out, dataset=args.dataset)
    print(f"wrote {args.out}: {'-'.join(map(str, network.config.arch))}, threshold "
          f"{network.config.threshold}, t_max {network.config.t_max}")
    return 0


def _run_check(args):
    readers = ("norse", "snntorch") if args.reader == "both" else (args.reader,)
    reports = check_run(args.run, samples=args.samples, steps=args.steps, readers=readers,
                        root=args.data_dir)
    status = 0
    for reader, report in reports.items():
        acc = report["accuracy"]
        print(f"{reader}: {report['samples']} images, {report['steps']} steps of "
              f"{report['dt']:.6g}; predictions equal on "
              f"{100 * report['prediction_agreement']:.2f}%; accuracy reader "
              f"{100 * acc['reader']:.2f}%, grid {100 * acc['grid']:.2f}%, exact "
              f"{100 * acc['exact']:.2f}% (grid = exact on "
              f"{100 * report['exact_grid_agreement']:.2f}%)")
        for index, layer in enumerate(report["layers"], 1):
            print(f"  layer {index} ({layer['neurons']} neurons, {layer['fired']} spikes on our "
                  f"grid): spike steps equal {100 * layer['spike_steps_equal']:.3f}%, within "
                  f"one step {100 * layer['spike_steps_within_one']:.3f}%, max difference "
                  f"{layer['max_step_difference']}, fired in one only "
                  f"{layer['fired_in_one_only']}, most spikes of a neuron in the reader "
                  f"{layer['max_spikes_per_neuron']}")
        if not passed(report):
            print(f"{reader}: FAILED (needs spike steps within {MAX_STEP_DIFFERENCE} step and "
                  f"predictions equal on >= {100 * MIN_PREDICTION_AGREEMENT:.0f}%)")
            status = 1
    out = write_text(Path(args.run) / "nir_check.json", json.dumps(reports, indent=2) + "\n")
    print(f"wrote {out}")
    return status


def add_parser(subparsers):
    e = subparsers.add_parser("export-nir", help="write a trained run as a NIR graph",
                              description="Write the trained float network of RUN as a NIR "
                                          "graph (docs/nir.md).")
    e.add_argument("run", help="run directory holding config.json and model.pt")
    e.add_argument("--out", required=True, type=Path, help="NIR file to write")
    e.add_argument("--steps", type=int, default=DEFAULT_STEPS,
                   help=f"time steps of the readers' grid over t_max (default {DEFAULT_STEPS})")
    e.set_defaults(handler=_run_export)

    i = subparsers.add_parser("import-nir", help="read a NIR graph into a new run directory",
                              description="Read a NIR graph written by export-nir into a run "
                                          "directory that quantize and later stages accept.")
    i.add_argument("file", type=Path, help="NIR file")
    i.add_argument("--out", required=True, type=Path, help="new run directory")
    i.add_argument("--dataset", choices=("mnist", "fashion-mnist"), default=None,
                   help="data set of the run (default: the graph's metadata, else mnist)")
    i.set_defaults(handler=_run_import)

    c = subparsers.add_parser("nir-check", help="simulate the exported graph in Norse or "
                                                "snnTorch and compare with our model")
    c.add_argument("run", help="run directory holding config.json and model.pt")
    c.add_argument("--samples", type=int, default=1000, help="test images (default 1000)")
    c.add_argument("--steps", type=int, default=DEFAULT_STEPS,
                   help=f"time steps over t_max (default {DEFAULT_STEPS})")
    c.add_argument("--reader", choices=("norse", "snntorch", "both"), default="both")
    c.add_argument("--data-dir", default=None,
                   help="data directory (default: $TTFS_DATA or ./data)")
    c.set_defaults(handler=_run_check)
