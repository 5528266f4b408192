"""Core allocation: split each layer of an integer network onto spiking cores.

A core holds a contiguous slice of one layer's neurons together with all of that layer's
inputs: an input spike is broadcast to every core of the layer, and each core accumulates
the weight row of its own neurons. Splitting by neurons keeps every neuron's arithmetic in
one core, so the split changes no result of :mod:`mapping.reference`. Layers are cut into the
fewest cores that respect the limits, with the neurons spread as evenly as possible.
"""
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

from . import validate as check
from .files import write_text

SCHEMA_VERSION = 1
ALLOCATION_FILE = "allocation.json"


class AllocationError(ValueError):
    """The network cannot be placed on cores of the given limits."""


@dataclass(frozen=True)
class CoreLimits:
    """What one core can hold.

    Members
    -------
    max_neurons : neurons per core
    max_inputs : inputs (weight rows) per core; a layer with more inputs cannot be placed
    max_weights : weights per core (inputs x neurons held in its weight memory)
    """

    max_neurons: int = 256
    max_inputs: int = 1024
    max_weights: int = 1 << 18

    def __post_init__(self):
        for name in ("max_neurons", "max_inputs", "max_weights"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, not {value!r}")


@dataclass(frozen=True)
class CoreSlice:
    """One core: neurons ``[start, stop)`` of computing layer ``layer`` (0 = first hidden)."""

    layer: int
    start: int
    stop: int

    @property
    def neurons(self):
        return self.stop - self.start


@dataclass(frozen=True)
class Allocation:
    """Cores in layer order, each layer's slices covering its neurons in order."""

    limits: CoreLimits
    cores: tuple

    def layer_cores(self, layer):
        """The slices of computing layer ``layer``."""
        return [core for core in self.cores if core.layer == layer]

    def to_json(self):
        return {"schema_version": SCHEMA_VERSION, "limits": asdict(self.limits),
                "cores": [[c.layer, c.start, c.stop] for c in self.cores]}


def allocate(network, limits=CoreLimits()):
    """Split every layer of ``network`` into the fewest cores within ``limits``.

    Raises
    ------
    AllocationError
        if a layer has more inputs than ``max_inputs``, or if one neuron's weights
        (its fan-in) exceed ``max_weights``.
    """
    cores = []
    for index, layer in enumerate(network.layers):
        if layer.n_in > limits.max_inputs:
            raise AllocationError(f"layer {index} has {layer.n_in} inputs but a core takes at most "
                                  f"{limits.max_inputs}: raise max_inputs")
        per_core = min(limits.max_neurons, limits.max_weights // layer.n_in)
        if per_core < 1:
            raise AllocationError(f"layer {index}: one neuron needs {layer.n_in} weights but a core "
                                  f"holds at most {limits.max_weights}: raise max_weights")
        count = math.ceil(layer.n_out / per_core)
        bounds = [round(i * layer.n_out / count) for i in range(count + 1)]
        cores += [CoreSlice(index, a, b) for a, b in zip(bounds[:-1], bounds[1:])]
    return Allocation(limits=limits, cores=tuple(cores))


def save(allocation, directory):
    """Write ``allocation.json`` into ``directory`` atomically."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    return write_text(directory / ALLOCATION_FILE,
                      json.dumps(allocation.to_json(), indent=2) + "\n")


def load(directory, network):
    """Read ``allocation.json`` and check it covers every neuron of ``network`` once."""
    path = Path(directory) / ALLOCATION_FILE
    if not path.is_file():
        raise AllocationError(f"{path} not found: run `ttfs quantize` first")
    try:
        doc = check.mapping(check.read_json(path, remedy="rerun `ttfs allocate`"), path)
        if doc.get("schema_version") != SCHEMA_VERSION:
            raise AllocationError(f"{path}: schema_version {doc.get('schema_version')!r}, this "
                                  f"version reads {SCHEMA_VERSION}")
        limits = check.mapping(check.member(doc, "limits", path), path, "limits")
        cores = [check.integers(core, path, f"cores[{i}]", length=3, lo=0)
                 for i, core in enumerate(check.sequence(check.member(doc, "cores", path),
                                                         path, "cores"))]
        allocation = Allocation(CoreLimits(**limits), tuple(CoreSlice(*c) for c in cores))
    except AllocationError:
        raise
    except check.ArtifactError as exc:
        raise AllocationError(f"{path}: not a valid allocation ({check.reason(exc, path)})"
                              ) from None
    except (TypeError, ValueError) as exc:
        raise AllocationError(f"{path}: not a valid allocation ({exc})") from None
    for index, layer in enumerate(network.layers):
        slices = allocation.layer_cores(index)
        edges = [0] + [s.stop for s in slices]
        starts = [s.start for s in slices] + [layer.n_out]
        if not slices or edges != starts or any(s.neurons < 1 for s in slices):
            raise AllocationError(f"{path}: cores do not cover the {layer.n_out} neurons of "
                                  f"layer {index} exactly once")
        if any(s.neurons > allocation.limits.max_neurons for s in slices):
            raise AllocationError(f"{path}: a core of layer {index} exceeds max_neurons")
    if any(c.layer >= len(network.layers) or c.layer < 0 for c in allocation.cores):
        raise AllocationError(f"{path}: a core names a layer the network does not have")
    return allocation
