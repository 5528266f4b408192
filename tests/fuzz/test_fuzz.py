"""Bad inputs at every stage: each case spoils one file of a valid run (or passes one bad
option) and checks that the command exits with status 2 and one line on stderr, without a
traceback, and that no file in the run (or beside it) changed or appeared.

The valid run is built once per session (:mod:`fuzz_run`); each case works on a copy.
Commands run in-process through :func:`flow.cli.main`; the cases that need a fresh process
(an environment variable read once per process) run ``python -m flow``.
"""
import json
import pickle
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from flow import cli
from fuzz_run import edit_json, edit_weights, huge_header_npz, make_base_run, TRAIN
from model import data


def _have_mnist():
    try:
        data.load("mnist", "test")
    except data.DataError:
        return False
    return True


pytestmark = pytest.mark.skipif(not _have_mnist(), reason="MNIST not found: run `ttfs data`")


@pytest.fixture(scope="session")
def base_run(tmp_path_factory):
    return make_base_run(tmp_path_factory.mktemp("fuzz") / "run")


class _Payload:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _write(name, content):
    def spoil(run):
        path = run / name
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    return spoil


def _json(name, change):
    return lambda run: edit_json(run / name, change)


def _set(*keys_and_value):
    *keys, value = keys_and_value

    def change(doc):
        target = doc
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
    return change


def _drop(*keys):
    def change(doc):
        target = doc
        for key in keys[:-1]:
            target = target[key]
        del target[keys[-1]]
    return change


def _layer(field, value):
    return _json("network.json", _set("layers", 0, field, value))


def _weights(change):
    return lambda run: edit_weights(run, change)


def _torch(name, state):
    return lambda run: torch.save(state(run) if callable(state) else state, run / name)


def _pickle(name):
    def spoil(run):
        with open(run / name, "wb") as f:
            pickle.dump({"model": _Payload(run.parent / "marker")}, f)
    return spoil


def _cosim(change):
    return _json("cosim.json", change)


def _sample(field, value):
    return _cosim(_set("per_sample", 0, field, value))


def _analog(change):
    return _json("analog_energy.json", change)


def _report(change):
    return _json("report.json", change)


def _metrics(change):
    return _json("metrics.json", change)


def _costs(doc):
    def spoil(run):
        (run / "costs.json").write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return spoil


def _nothing(run):
    pass


def _few_outputs(run):
    """An output layer of 4 neurons for a data set of 10 classes (consistent files)."""
    edit_weights(run, lambda a: {**a, "w1": a["w1"][:4]})
    edit_json(run / "network.json", _set("layers", 1, "n_out", 4))
    edit_json(run / "network.json", _set("sizes", 2, 4))
    edit_json(run / "allocation.json", lambda d: d.update(
        cores=[c if c[0] == 0 else [1, 0, 4] for c in d["cores"]]))


EXPLORE = ["explore", "--arch", "784-8-10", "--epochs", "1", "--train-subset", "100",
           "--test-subset", "50"]

# (id, how to spoil the run, command line with RUN for the run directory)
CASES = [
    # train: options
    ("train-epochs-0", _nothing, ["train", *TRAIN, "--epochs", "0", "--out", "RUN/new"]),
    ("train-epochs-negative", _nothing, ["train", *TRAIN, "--epochs", "-3", "--out", "RUN/new"]),
    ("train-lr-negative", _nothing, ["train", *TRAIN, "--lr", "-1", "--out", "RUN/new"]),
    ("train-lr-nan", _nothing, ["train", *TRAIN, "--lr", "nan", "--out", "RUN/new"]),
    ("train-lr-text", _nothing, ["train", *TRAIN, "--lr", "fast", "--out", "RUN/new"]),
    ("train-batch-0", _nothing, ["train", *TRAIN, "--batch-size", "0", "--out", "RUN/new"]),
    ("train-arch-zero", _nothing, ["train", *TRAIN, "--arch", "784-0-10", "--out", "RUN/new"]),
    ("train-arch-text", _nothing, ["train", *TRAIN, "--arch", "784-x-10", "--out", "RUN/new"]),
    ("train-arch-one-layer", _nothing, ["train", *TRAIN, "--arch", "784", "--out", "RUN/new"]),
    ("train-arch-few-outputs", _nothing, ["train", *TRAIN, "--arch", "784-8-4", "--out",
                                          "RUN/new"]),
    ("train-arch-wrong-input", _nothing, ["train", *TRAIN, "--arch", "100-8-10", "--out",
                                          "RUN/new"]),
    ("train-threads-0", _nothing, ["train", *TRAIN, "--threads", "0", "--out", "RUN/new"]),
    ("train-train-subset-negative", _nothing, ["train", *TRAIN, "--train-subset", "-5",
                                               "--out", "RUN/new"]),
    ("train-test-subset-negative", _nothing, ["train", *TRAIN, "--test-subset", "-1",
                                              "--out", "RUN/new"]),
    ("train-gamma2-negative", _nothing, ["train", *TRAIN, "--reg", "m-ssr", "--gamma2", "-1",
                                         "--out", "RUN/new"]),
    ("train-tau-soft-0", _nothing, ["train", *TRAIN, "--tau-soft", "0", "--out", "RUN/new"]),
    ("train-t-max-inf", _nothing, ["train", *TRAIN, "--t-max", "inf", "--out", "RUN/new"]),
    ("train-seed-negative", _nothing, ["train", *TRAIN, "--seed", "-1", "--out", "RUN/new"]),
    ("train-out-is-a-file", _nothing, ["train", *TRAIN, "--out", "RUN/config.json"]),
    ("train-dataset-unknown", _nothing, ["train", *TRAIN, "--dataset", "cifar", "--out",
                                         "RUN/new"]),
    # train --resume: the checkpoint
    ("resume-garbage", _write("checkpoint.pt", b"not a checkpoint"),
     ["train", *TRAIN, "--epochs", "2", "--resume", "--out", "RUN"]),
    ("resume-truncated", lambda run: (run / "checkpoint.pt").write_bytes(
        (run / "checkpoint.pt").read_bytes()[:2000]),
     ["train", *TRAIN, "--epochs", "2", "--resume", "--out", "RUN"]),
    ("resume-pickle", _pickle("checkpoint.pt"),
     ["train", *TRAIN, "--epochs", "2", "--resume", "--out", "RUN"]),
    ("resume-list", _torch("checkpoint.pt", [1, 2, 3]),
     ["train", *TRAIN, "--epochs", "2", "--resume", "--out", "RUN"]),
    ("resume-epoch-text", lambda run: torch.save(
        {**torch.load(run / "checkpoint.pt", weights_only=True), "epoch": "1"},
        run / "checkpoint.pt"), ["train", *TRAIN, "--epochs", "2", "--resume", "--out", "RUN"]),
    ("resume-model-shapes", lambda run: torch.save(
        {**torch.load(run / "checkpoint.pt", weights_only=True), "model": {"w": torch.zeros(2)}},
        run / "checkpoint.pt"), ["train", *TRAIN, "--epochs", "2", "--resume", "--out", "RUN"]),
    ("resume-generator-state", lambda run: torch.save(
        {**torch.load(run / "checkpoint.pt", weights_only=True), "generator": torch.zeros(3)},
        run / "checkpoint.pt"), ["train", *TRAIN, "--epochs", "2", "--resume", "--out", "RUN"]),
    ("resume-config-mismatch", _nothing,
     ["train", *TRAIN, "--epochs", "2", "--lr", "0.5", "--resume", "--out", "RUN"]),
    ("resume-finished", _nothing, ["train", *TRAIN, "--resume", "--out", "RUN"]),
    # raster
    ("raster-sample-negative", _nothing, ["raster", "RUN", "--sample", "-1"]),
    ("raster-sample-too-large", _nothing, ["raster", "RUN", "--sample", "10000"]),
    ("raster-model-pickle", _pickle("model.pt"), ["raster", "RUN"]),
    ("raster-out-missing-folder", _nothing, ["raster", "RUN", "--out", "RUN/nowhere/r.png"]),
    # quantize: options and the trained run
    ("quantize-bits-1", _nothing, ["quantize", "RUN", "--weight-bits", "1"]),
    ("quantize-bits-40", _nothing, ["quantize", "RUN", "--weight-bits", "40"]),
    ("quantize-steps-1", _nothing, ["quantize", "RUN", "--steps", "1"]),
    ("quantize-steps-negative", _nothing, ["quantize", "RUN", "--steps", "-16"]),
    ("quantize-calibration-negative", _nothing, ["quantize", "RUN", "--calibration-samples",
                                                 "-5"]),
    ("quantize-test-samples-negative", _nothing, ["quantize", "RUN", "--test-samples", "-1"]),
    ("quantize-qat-epochs-negative", _nothing, ["quantize", "RUN", "--qat-epochs", "-1"]),
    ("quantize-max-neurons-0", _nothing, ["quantize", "RUN", "--max-neurons", "0"]),
    ("quantize-sweep-bits-text", _nothing, ["quantize", "RUN", "--sweep", "--sweep-bits", "a"]),
    ("quantize-missing-run", _nothing, ["quantize", "RUN/none"]),
    ("quantize-config-garbage", _write("config.json", "{"), ["quantize", "RUN"]),
    ("quantize-config-list", _write("config.json", "[1]"), ["quantize", "RUN"]),
    ("quantize-config-arch-text", _json("config.json", _set("arch", "big")), ["quantize", "RUN"]),
    ("quantize-config-arch-mismatch", _json("config.json", _set("arch", [784, 9, 10])),
     ["quantize", "RUN"]),
    ("quantize-config-threshold-null", _json("config.json", _set("threshold", None)),
     ["quantize", "RUN"]),
    ("quantize-config-dataset-number", _json("config.json", _set("dataset", 7)),
     ["quantize", "RUN"]),
    ("quantize-model-garbage", _write("model.pt", b"\x00" * 64), ["quantize", "RUN"]),
    ("quantize-model-pickle", _pickle("model.pt"), ["quantize", "RUN"]),
    # allocate
    ("allocate-max-neurons-negative", _nothing, ["allocate", "RUN", "--max-neurons", "-1"]),
    ("allocate-max-inputs-0", _nothing, ["allocate", "RUN", "--max-inputs", "0"]),
    # export-verilog: network.json
    ("network-garbage", _write("network.json", "{]"), ["export-verilog", "RUN"]),
    ("network-list", _write("network.json", "[]"), ["export-verilog", "RUN"]),
    ("network-schema", _json("network.json", _set("schema_version", 99)),
     ["export-verilog", "RUN"]),
    ("network-no-layers", _json("network.json", _drop("layers")), ["export-verilog", "RUN"]),
    ("network-layers-object", _json("network.json", _set("layers", {"a": 1})),
     ["export-verilog", "RUN"]),
    ("network-layer-list", _json("network.json", _set("layers", 0, [1, 2])),
     ["export-verilog", "RUN"]),
    ("threshold-float", _layer("threshold", 12.5), ["export-verilog", "RUN"]),
    ("threshold-string", _layer("threshold", "12"), ["export-verilog", "RUN"]),
    ("threshold-bool", _layer("threshold", True), ["export-verilog", "RUN"]),
    ("threshold-beyond-int64", _layer("threshold", 2 ** 70), ["export-verilog", "RUN"]),
    ("threshold-zero", _layer("threshold", 0), ["export-verilog", "RUN"]),
    ("threshold-null", _layer("threshold", None), ["export-verilog", "RUN"]),
    ("weight-scale-string", _layer("weight_scale", "x"), ["export-verilog", "RUN"]),
    ("weight-scale-overflow", _layer("weight_scale", 1e400), ["spice", "RUN", "--neurons", "1",
                                                              "--samples", "1"]),
    ("n-in-string", _layer("n_in", "784"), ["export-verilog", "RUN"]),
    ("n-out-huge", _layer("n_out", 10 ** 12), ["export-verilog", "RUN"]),
    ("slope-bits-small", _layer("slope_bits", 2), ["export-verilog", "RUN"]),
    ("potential-bits-string", _layer("potential_bits", "64"), ["export-verilog", "RUN"]),
    ("weight-bits-40", _json("network.json", _set("weight_bits", 40)), ["export-verilog", "RUN"]),
    ("weight-bits-float", _json("network.json", _set("weight_bits", 8.5)),
     ["export-verilog", "RUN"]),
    ("steps-1", _json("network.json", _set("steps", 1)), ["export-verilog", "RUN"]),
    ("steps-string", _json("network.json", _set("steps", "16")), ["export-verilog", "RUN"]),
    ("steps-huge", _json("network.json", _set("steps", 10 ** 30)), ["export-verilog", "RUN"]),
    ("dt-negative", _json("network.json", _set("dt", -1)), ["export-verilog", "RUN"]),
    ("dt-string", _json("network.json", _set("dt", "1")), ["export-verilog", "RUN"]),
    ("encoding-list", _json("network.json", _set("encoding", [1])), ["export-verilog", "RUN"]),
    ("encoding-tau-string", _json("network.json", _set("encoding", "tau_in", "1")),
     ["export-verilog", "RUN"]),
    ("meta-list", _json("network.json", _set("meta", [1])), ["energy", "RUN", "--samples", "2"]),
    # export-verilog: weights.npz
    ("weights-garbage", _write("weights.npz", b"PK\x03\x04 nope"), ["export-verilog", "RUN"]),
    ("weights-missing-array", _weights(lambda a: {"w0": a["w0"]}), ["export-verilog", "RUN"]),
    ("weights-extra-array", _weights(lambda a: {**a, "w2": a["w1"]}), ["export-verilog", "RUN"]),
    ("weights-float", _weights(lambda a: {**a, "w0": a["w0"].astype(np.float32)}),
     ["export-verilog", "RUN"]),
    ("weights-uint64-wrap", _weights(lambda a: {**a, "w0": (a["w0"] * 0).astype(np.uint64)
                                                 + np.uint64(2 ** 64 - 1)}),
     ["export-verilog", "RUN"]),
    ("weights-out-of-range", _weights(lambda a: {**a, "w0": a["w0"] * 1000}),
     ["export-verilog", "RUN"]),
    ("weights-transposed", _weights(lambda a: {**a, "w0": a["w0"].T}), ["export-verilog", "RUN"]),
    ("weights-3d", _weights(lambda a: {**a, "w1": a["w1"][None]}), ["export-verilog", "RUN"]),
    ("weights-object", _weights(lambda a: {**a, "w1": np.array([{}, 1], dtype=object)}),
     ["export-verilog", "RUN"]),
    ("weights-huge-header", lambda run: huge_header_npz(run / "weights.npz", (10 ** 6, 10 ** 6)),
     ["export-verilog", "RUN"]),
    ("weights-header-mismatch", lambda run: huge_header_npz(run / "weights.npz", (8, 784)),
     ["export-verilog", "RUN"]),
    # export-verilog: allocation.json and options
    ("allocation-garbage", _write("allocation.json", "nope"), ["export-verilog", "RUN"]),
    ("allocation-list", _write("allocation.json", "[]"), ["export-verilog", "RUN"]),
    ("allocation-cores-text", _json("allocation.json", _set("cores", "all")),
     ["export-verilog", "RUN"]),
    ("allocation-core-short", _json("allocation.json", _set("cores", 0, [0])),
     ["export-verilog", "RUN"]),
    ("allocation-core-float", _json("allocation.json", _set("cores", 0, [0, 0.5, 8])),
     ["export-verilog", "RUN"]),
    ("allocation-limits-list", _json("allocation.json", _set("limits", [1])),
     ["export-verilog", "RUN"]),
    ("allocation-gap", _json("allocation.json", _set("cores", 0, [0, 1, 8])),
     ["export-verilog", "RUN"]),
    ("export-lanes-0", _nothing, ["export-verilog", "RUN", "--lanes", "0"]),
    ("export-lanes-text", _nothing, ["export-verilog", "RUN", "--lanes", "many"]),
    ("export-missing-run", _nothing, ["export-verilog", "RUN/none"]),
    # cosim: options (rejected before any simulation)
    ("cosim-samples-negative", _nothing, ["cosim", "RUN", "--samples", "-2"]),
    ("cosim-samples-0", _nothing, ["cosim", "RUN", "--samples", "0"]),
    ("cosim-offset-negative", _nothing, ["cosim", "RUN", "--offset", "-1"]),
    ("cosim-offset-beyond", _nothing, ["cosim", "RUN", "--offset", "10000"]),
    ("cosim-lanes-0", _nothing, ["cosim", "RUN", "--lanes", "0"]),
    ("cosim-out-missing-folder", _nothing, ["cosim", "RUN", "--out", "RUN/nowhere/c.json"]),
    ("cosim-few-outputs", _few_outputs, ["cosim", "RUN"]),
    # spice: options
    ("spice-layer-negative", _nothing, ["spice", "RUN", "--layer", "-1"]),
    ("spice-layer-beyond", _nothing, ["spice", "RUN", "--layer", "5"]),
    ("spice-neurons-text", _nothing, ["spice", "RUN", "--neurons", "a:b"]),
    ("spice-neurons-reversed", _nothing, ["spice", "RUN", "--neurons", "5:2"]),
    ("spice-samples-negative", _nothing, ["spice", "RUN", "--samples", "-1"]),
    ("spice-samples-0", _nothing, ["spice", "RUN", "--samples", "0"]),
    ("spice-threshold-beyond-int64", _layer("threshold", 2 ** 64), ["spice", "RUN"]),
    ("spice-weights-uint64", _weights(lambda a: {**a, "w0": a["w0"].astype(np.uint64)}),
     ["spice", "RUN"]),
    # energy: options, co-simulation record, analog energy file, cost table
    ("energy-samples-negative", _nothing, ["energy", "RUN", "--samples", "-3"]),
    ("energy-samples-0", _nothing, ["energy", "RUN", "--samples", "0"]),
    ("energy-data-dir-missing", _nothing, ["energy", "RUN", "--samples", "2", "--data-dir",
                                           "RUN/nowhere"]),
    ("energy-few-outputs", _few_outputs, ["energy", "RUN", "--samples", "2"]),
    ("cosim-record-garbage", _write("cosim.json", "{"), ["energy", "RUN", "--samples", "2"]),
    ("cosim-record-list", _write("cosim.json", "[]"), ["energy", "RUN", "--samples", "2"]),
    ("cosim-record-samples-text", _cosim(_set("per_sample", "many")),
     ["energy", "RUN", "--samples", "2"]),
    ("cosim-record-sample-list", _cosim(_set("per_sample", 0, [1, 2])),
     ["energy", "RUN", "--samples", "2"]),
    ("cosim-record-no-counters", _cosim(_drop("per_sample", 0, "synops")),
     ["energy", "RUN", "--samples", "2"]),
    ("cosim-record-counter-text", _sample("spikes", "many"), ["energy", "RUN", "--samples", "2"]),
    ("cosim-record-counter-null", _sample("synops", None), ["energy", "RUN", "--samples", "2"]),
    ("cosim-record-counter-nested", _sample("spikes", [[1], [2]]),
     ["energy", "RUN", "--samples", "2"]),
    ("cosim-record-counter-float", _sample("spikes", [1.5, 2, 3]),
     ["energy", "RUN", "--samples", "2"]),
    ("cosim-record-cycles-text", _sample("cycles", "slow"), ["energy", "RUN", "--samples", "2"]),
    ("cosim-record-cycles-negative", _sample("cycles", -5), ["energy", "RUN", "--samples", "2"]),
    ("cosim-record-index-negative", _sample("index", -1), ["energy", "RUN", "--samples", "2"]),
    ("cosim-record-index-text", _sample("index", "first"), ["energy", "RUN", "--samples", "2"]),
    ("cosim-record-index-huge", _sample("index", 10 ** 30), ["energy", "RUN", "--samples", "2"]),
    ("cosim-record-indices-short", lambda run: edit_json(run / "cosim.json", lambda d: [
        s.pop("index") for s in d["per_sample"]] and d.update(indices=[0])),
     ["energy", "RUN", "--samples", "2"]),
    ("analog-garbage", _write("analog_energy.json", "]"), ["energy", "RUN", "--samples", "2"]),
    ("analog-list", _write("analog_energy.json", "[1, 2]"), ["energy", "RUN", "--samples", "2"]),
    ("analog-missing-member", _analog(_drop("e_spike_J")), ["energy", "RUN", "--samples", "2"]),
    ("analog-synop-short", _analog(_set("synop_sourcing", [1e-15])),
     ["energy", "RUN", "--samples", "2"]),
    ("analog-synop-text", _analog(_set("synop_sinking", "abc")),
     ["energy", "RUN", "--samples", "2"]),
    ("analog-synop-nested", _analog(_set("synop_sinking", [[1], [2], [3]])),
     ["energy", "RUN", "--samples", "2"]),
    ("analog-spike-text", _analog(_set("e_spike_J", "1e-14")),
     ["energy", "RUN", "--samples", "2"]),
    ("analog-spike-null", _analog(_set("e_spike_J", None)), ["energy", "RUN", "--samples", "2"]),
    ("analog-static-inf", _analog(_set("p_static_W", 1e400)),
     ["energy", "RUN", "--samples", "2"]),
    ("analog-technology-list", _analog(_set("technology", [1])),
     ["energy", "RUN", "--samples", "2"]),
    ("analog-dt-missing", _analog(_set("technology", {"name": "x"})),
     ["energy", "RUN", "--samples", "2"]),
    ("analog-dt-text", _analog(_set("technology", "dt_s", "1ns")),
     ["energy", "RUN", "--samples", "2"]),
    ("analog-fit-text", _analog(_set("fit", "good")), ["energy", "RUN", "--samples", "2"]),
    ("costs-garbage", _costs("{"), ["energy", "RUN", "--samples", "2", "--costs",
                                    "RUN/costs.json"]),
    ("costs-list", _costs([1]), ["energy", "RUN", "--samples", "2", "--costs", "RUN/costs.json"]),
    ("costs-missing-file", _nothing, ["energy", "RUN", "--samples", "2", "--costs",
                                      "RUN/none.json"]),
    # compare and summarize: reports and metrics
    ("report-garbage", _write("report.json", "{"), ["compare", "RUN", "RUN", "--out", "RUN/cmp"]),
    ("report-list", _write("report.json", "[]"), ["compare", "RUN", "--out", "RUN/cmp"]),
    ("report-no-digital", _report(_drop("digital")), ["compare", "RUN", "--out", "RUN/cmp"]),
    ("report-digital-text", _report(_set("digital", "cheap")),
     ["compare", "RUN", "--out", "RUN/cmp"]),
    ("report-accuracy-text", _report(_set("accuracy", "high")),
     ["compare", "RUN", "--out", "RUN/cmp"]),
    ("report-accuracy-null", _report(_set("accuracy", None)),
     ["compare", "RUN", "--out", "RUN/cmp"]),
    ("report-per-layer-text", _report(_set("digital", "per_layer", "x")),
     ["compare", "RUN", "--out", "RUN/cmp"]),
    ("report-energy-null", _report(_set("digital", "energy_J", "mean", None)),
     ["compare", "RUN", "--out", "RUN/cmp"]),
    ("report-counts-list", _report(_set("counts", [])), ["compare", "RUN", "--out", "RUN/cmp"]),
    ("compare-out-is-a-file", _nothing, ["compare", "RUN", "--out", "RUN/report.json"]),
    ("metrics-null-accuracy", _metrics(_set("test_accuracy", None)),
     ["summarize", "RUN", "--out", "RUN/sum"]),
    ("metrics-rate-null", _metrics(_set("firing_rate", [None])),
     ["summarize", "RUN", "--out", "RUN/sum"]),
    ("metrics-rate-text", _metrics(_set("firing_rate", "low")),
     ["summarize", "RUN", "--out", "RUN/sum"]),
    ("metrics-list", _write("metrics.json", "[]"), ["summarize", "RUN", "--out", "RUN/sum"]),
    ("metrics-epochs-text", _metrics(_set("epochs_done", "one")),
     ["summarize", "RUN", "--out", "RUN/sum"]),
    ("summarize-config-list", _write("config.json", "[]"), ["summarize", "RUN", "--out",
                                                            "RUN/sum"]),
    # sweep and data: options
    ("sweep-jobs-0", _nothing, ["sweep", "--regs", "none", "--jobs", "0", "--out", "RUN/sw"]),
    ("sweep-seeds-text", _nothing, ["sweep", "--regs", "none", "--seeds", "a", "--out",
                                    "RUN/sw"]),
    ("sweep-gamma2s-text", _nothing, ["sweep", "--regs", "m-ssr", "--gamma2s", "x", "--out",
                                      "RUN/sw"]),
    ("sweep-regs-unknown", _nothing, ["sweep", "--regs", "l2", "--out", "RUN/sw"]),
    # explore: the trained runs it takes over, its space file and options
    ("explore-trained-metrics-corrupt", _write("metrics.json", "{"),
     [*EXPLORE, "--trained", "RUN", "--out", "RUN/ex"]),
    ("explore-trained-unfinished", _metrics(_set("complete", False)),
     [*EXPLORE, "--trained", "RUN", "--out", "RUN/ex"]),
    ("explore-trained-no-model", lambda run: (run / "model.pt").unlink(),
     [*EXPLORE, "--trained", "RUN", "--out", "RUN/ex"]),
    ("explore-trained-other-config", _nothing,
     [*EXPLORE, "--lr", "0.5", "--trained", "RUN", "--out", "RUN/ex"]),
    ("explore-trained-config-list", _write("config.json", "[]"),
     [*EXPLORE, "--trained", "RUN", "--out", "RUN/ex"]),
    ("explore-space-unknown-key", _write("space.toml", "bits = [4]\n"),
     [*EXPLORE, "--space", "RUN/space.toml", "--out", "RUN/ex"]),
    ("explore-space-not-toml", _write("space.toml", "reg = ["),
     [*EXPLORE, "--space", "RUN/space.toml", "--out", "RUN/ex"]),
    ("explore-space-json-list", _write("space.json", "[4]"),
     [*EXPLORE, "--space", "RUN/space.json", "--out", "RUN/ex"]),
    ("explore-space-pairs-text", _write("space.json", '{"trainings": "m-ssr"}'),
     [*EXPLORE, "--space", "RUN/space.json", "--out", "RUN/ex"]),
    ("explore-lanes-text", _nothing, [*EXPLORE, "--lanes", "eight", "--out", "RUN/ex"]),
    ("explore-steps-1", _nothing, [*EXPLORE, "--steps", "1", "--out", "RUN/ex"]),
    ("explore-cpus-0", _nothing, [*EXPLORE, "--cpus", "0", "--out", "RUN/ex"]),
    ("data-unknown", _nothing, ["data", "cifar", "--data-dir", "RUN/d"]),
    ("data-dir-is-a-file", _nothing, ["data", "fashion-mnist", "--data-dir", "RUN/config.json"]),
]


def _snapshot(directory):
    return {str(p.relative_to(directory)): p.read_bytes() if p.is_file() else None
            for p in sorted(directory.rglob("*"))}


def _prepare(base_run, tmp_path, spoil):
    run = tmp_path / "run"
    shutil.copytree(base_run, run)
    spoil(run)
    return run


def _argv(argv, run):
    return [arg.replace("RUN", str(run)) for arg in argv]


def _assert_rejected(status, err, before, tmp_path):
    assert status == 2, err
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert "Traceback" not in err
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize("spoil, argv", [case[1:] for case in CASES],
                         ids=[case[0] for case in CASES])
def test_fuzz_bad_input_is_one_line_error(base_run, tmp_path, capsys, spoil, argv):
    run = _prepare(base_run, tmp_path, spoil)
    before = _snapshot(tmp_path)
    with pytest.raises(SystemExit) as exc_info:
        cli.main(_argv(argv, run))
    _assert_rejected(exc_info.value.code, capsys.readouterr().err, before, tmp_path)


def test_fuzz_case_count():
    assert len(CASES) >= 100


@pytest.mark.parametrize("env", [{"NGSPICE_LIBRARY_PATH": "/etc/hostname"},
                                 {"NGSPICE_LIBRARY_PATH": "/nonexistent/libngspice.so"}],
                         ids=["not-a-library", "missing"])
def test_fuzz_ngspice_library_path_is_one_line_error(base_run, tmp_path, env):
    import os

    run = _prepare(base_run, tmp_path, _nothing)
    before = _snapshot(tmp_path)
    result = subprocess.run([sys.executable, "-m", "flow", "spice", str(run), "--neurons", "1",
                             "--samples", "1"], capture_output=True, text=True, timeout=300,
                            env={**os.environ, **env})
    _assert_rejected(result.returncode, result.stderr, before, tmp_path)
    assert "NGSPICE_LIBRARY_PATH" in result.stderr


def test_energy_reads_records_with_the_rtl_benchs_access_counters(base_run, tmp_path, capsys):
    # the bench writes the event counters beside a "counters" object of access counters
    def add_access_counters(doc):
        for sample in doc["per_sample"]:
            sample["counters"] = {"counters__weight_reads": 7}

    run = _prepare(base_run, tmp_path, _cosim(add_access_counters))
    with pytest.raises(SystemExit) as exc_info:
        cli.main(["energy", str(run), "--samples", "3"])
    assert exc_info.value.code == 0, capsys.readouterr().err
    assert json.loads((run / "report.json").read_text())["checks"]["cosim"]["status"] == "passed"
