"""The valid run every fuzz case starts from, and the helpers that spoil one of its files.

:func:`make_base_run` trains a tiny network for one epoch on a few MNIST images, quantizes
it, writes an energy report and adds a co-simulation record (the reference counts of three
test images, as the RTL bench writes them) and an analog energy model (made-up but
well-formed coefficients): every artifact kind a later stage reads, built once per session.
"""
import contextlib
import io
import json
import zipfile

import numpy as np
import pytest

from flow import cli
from hardware.spice import energy_model
from mapping import network as network_io
from mapping import reference
from model import data

TRAIN = ["--arch", "784-8-10", "--epochs", "1", "--train-subset", "100", "--test-subset", "50",
         "--no-progress"]


def _cli(argv):
    with contextlib.redirect_stdout(io.StringIO()), pytest.raises(SystemExit) as exc_info:
        cli.main(argv)
    assert exc_info.value.code == 0, argv


def make_base_run(run):
    """Build the valid run in ``run`` (a path that does not exist yet)."""
    _cli(["train", *TRAIN, "--out", str(run)])
    _cli(["quantize", str(run), "--steps", "16", "--calibration-samples", "64"])
    network = network_io.load(run)
    images = data.load("mnist", "test").images[:3]
    trace = reference.simulate(network, reference.encode(network, images))
    samples = [{"index": i, "cycles": 100 + i,
                **{name: getattr(trace, name)[i].tolist()
                   for name in ("spikes", "synops", "membrane_updates")}}
               for i in range(3)]
    (run / "cosim.json").write_text(json.dumps({"simulator": "icarus", "indices": [0, 1, 2],
                                                "per_sample": samples}))
    energy_model.save(energy_model.AnalogEnergies(
        synop_sourcing=(1e-15, 1e-16, 1.8), synop_sinking=(1e-15, 1e-16, 0.0),
        e_spike_J=1e-14, e_spike_per_unit_J=1e-16, p_static_W=1e-7, e_idle_J=1e-15,
        charge_fixed_C=2.5e-13, charge_per_input_C=3e-16,
        technology={"name": "fuzz fixture", "dt_s": 1e-9}, fit={}), run)
    _cli(["energy", str(run), "--samples", "3"])
    return run


def edit_json(path, change):
    """Replace the JSON document in ``path`` by ``change(document)`` (or the edited one)."""
    doc = json.loads(path.read_text())
    result = change(doc)
    path.write_text(json.dumps(doc if result is None else result))


def edit_weights(run, change):
    """Rewrite ``weights.npz`` with ``change(arrays)`` applied to its dict of arrays."""
    path = run / network_io.WEIGHTS_FILE
    with np.load(path) as npz:
        arrays = {key: npz[key] for key in npz.files}
    result = change(arrays)
    np.savez(path, **(arrays if result is None else result))


def huge_header_npz(path, shape):
    """An ``.npz`` whose only array ``w0`` declares ``shape`` but holds 16 bytes."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<i8", "fortran_order": False, "shape": shape})
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("w0.npy", header.getvalue() + bytes(16))
