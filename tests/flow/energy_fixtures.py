"""Helpers shared by the energy and report tests: a tiny run directory and a fake data set."""
import json

import numpy as np

from mapping import allocation, network as network_io, reference
from mapping.network import IntLayer, IntNetwork


def write_fake_dataset(root, name="mnist", seed=0):
    """A test split of random 28x28 images in IDX format under ``root/name``."""
    rng = np.random.default_rng(seed)
    directory = root / name
    directory.mkdir(parents=True)
    images = (rng.random((10000, 28, 28)) < 0.2) * rng.integers(0, 256, (10000, 28, 28))
    labels = rng.integers(0, 10, 10000)
    header = (0x803).to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in (10000, 28, 28))
    (directory / "t10k-images-idx3-ubyte").write_bytes(header + images.astype(np.uint8).tobytes())
    header = (0x801).to_bytes(4, "big") + (10000).to_bytes(4, "big")
    (directory / "t10k-labels-idx1-ubyte").write_bytes(header + labels.astype(np.uint8).tobytes())
    return images.astype(np.uint8), labels.astype(np.uint8)


def tiny_run(run_dir, seed=0, *, hidden=12, steps=16):
    """A quantized 784-hidden-10 network saved as a run, with its allocation."""
    rng = np.random.default_rng(seed)
    layers = (IntLayer(rng.integers(-20, 60, (hidden, 784)), 4000),
              IntLayer(rng.integers(-40, 100, (10, hidden)), 300))
    net = IntNetwork(layers=layers, weight_bits=8, steps=steps, meta={"dataset": "mnist"})
    network_io.save(net, run_dir)
    allocation.save(allocation.allocate(net), run_dir)
    return net


def write_cosim(run_dir, net, images, indices, *, cycles=123, corrupt=False):
    """A co-simulation record holding the reference counts (or one corrupted counter)."""
    trace = reference.simulate(net, reference.encode(net, images[indices]))
    samples = []
    for row, index in enumerate(indices):
        counters = {name: getattr(trace, name)[row].tolist()
                    for name in ("spikes", "synops", "membrane_updates")}
        counters["cycles"] = cycles
        samples.append({"index": int(index), "counters": counters})
    if corrupt:
        samples[-1]["counters"]["synops"][1] += 1
    (run_dir / "cosim.json").write_text(json.dumps({"simulator": "icarus", "samples": samples}))
    return trace


def write_access_cosim(run_dir, net, images, indices, *, lanes=8, corrupt=None):
    """A co-simulation record in the RTL bench's format: event counters per sample, the
    access counters' ports (as the access model gives them, or with ``corrupt`` off by one)
    under ``counters``, the cycles, and the lanes of the run."""
    from hardware.rtl.scoreboard import expected_counters
    from mapping import access

    trace = reference.simulate(net, reference.encode(net, images[indices]))
    counts = access.count_accesses(net, allocation.load(run_dir, net), trace, lanes=lanes)
    samples = []
    for row, index in enumerate(indices):
        ports = expected_counters(trace, counts, row)
        record = {"index": int(index), "cycles": ports.pop("cycles"),
                  "counters": {k: v for k, v in ports.items() if k.startswith("counters__")}}
        record.update({name: getattr(trace, name)[row].tolist()
                       for name in ("spikes", "synops", "membrane_updates")})
        samples.append(record)
    if corrupt:
        samples[-1]["counters"][corrupt] += 1
    (run_dir / "cosim_icarus.json").write_text(json.dumps(
        {"simulator": "icarus", "lanes": [lanes] * len(net.layers), "per_sample": samples}))
    return counts
