"""The integer network: the one contract every hardware back end reads.

An :class:`IntNetwork` holds, per layer, signed integer weights of ``weight_bits`` and an
integer threshold, plus the step count ``K`` (``steps``), the step length ``dt`` in model
time units, the scales back to the float model, the input encoding and the register widths
that no accumulator can overflow (see :func:`register_widths`). It is saved as
``network.json`` (everything but the weights, with ``schema_version``) and ``weights.npz``
(``w0``, ``w1``, ... each ``[n_out, n_in]``). The integer semantics are those of
:mod:`mapping.reference`.
"""
import json
import math
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import validate as check
from .files import atomic_write, write_text

SCHEMA_VERSION = 1
NETWORK_FILE = "network.json"
WEIGHTS_FILE = "weights.npz"


class NetworkFileError(ValueError):
    """A saved integer network is missing, truncated or inconsistent."""


def signed_bits(lo, hi):
    """Smallest two's-complement width holding every integer in ``[lo, hi]`` (at least 2)."""
    lo, hi = int(min(lo, 0)), int(max(hi, 0))
    bits = 2
    while not (-(1 << (bits - 1)) <= lo and hi <= (1 << (bits - 1)) - 1):
        bits += 1
    return bits


@dataclass(frozen=True)
class RegisterWidths:
    """Signed widths of one layer's registers, derived from its weights.

    Members
    -------
    slope_bits : width of ``slope_i``, which lies in [sum of negative w_ij, sum of positive w_ij]
    potential_bits : width of ``v_i``, which lies in
        [(K - 1) * sum of negative w_ij, threshold - 1 + sum of positive w_ij]
    """

    slope_bits: int
    potential_bits: int


def register_widths(weight, threshold, steps):
    """Widths of the slope and potential registers so that nothing can overflow."""
    weight = np.asarray(weight, dtype=np.int64)
    pos = np.where(weight > 0, weight, 0).sum(axis=1)
    neg = np.where(weight < 0, weight, 0).sum(axis=1)
    slope_lo, slope_hi = int(neg.min(initial=0)), int(pos.max(initial=0))
    v_lo = (steps - 1) * slope_lo
    v_hi = threshold - 1 + slope_hi
    return RegisterWidths(slope_bits=signed_bits(slope_lo, slope_hi),
                          potential_bits=signed_bits(v_lo, max(v_hi, threshold)))


@dataclass(frozen=True)
class IntLayer:
    """One fully connected layer of integer neurons.

    Members
    -------
    weight : int64 array [n_out, n_in], each within the network's ``weight_bits``
    threshold : integer firing threshold, at least 1
    weight_scale : float weight of one integer unit (w_float = weight * weight_scale)
    """

    weight: np.ndarray
    threshold: int
    weight_scale: float = 1.0

    @property
    def n_in(self):
        return self.weight.shape[1]

    @property
    def n_out(self):
        return self.weight.shape[0]


@dataclass(frozen=True)
class InputEncoding:
    """How pixels in [0, 1] become input spike steps (see :func:`mapping.reference.encode`).

    Members
    -------
    tau_in : latest input spike time in model time units (a pixel x spikes at tau_in * (1 - x))
    zero_silent : if true, pixels equal to 0 do not spike at all
    threshold : pixels below it (x < threshold, in [0, 1]) do not spike; 0: none
    pixels : indices of the image pixels that are the network's inputs, in input order
        (strictly increasing); None: every pixel (an input pruned away is left out here)
    """

    tau_in: float = 1.0
    zero_silent: bool = True
    threshold: float = 0.0
    pixels: tuple = None

    def __post_init__(self):
        if not (isinstance(self.tau_in, (int, float)) and math.isfinite(self.tau_in)
                and self.tau_in > 0):
            raise ValueError(f"tau_in must be a positive finite number, not {self.tau_in!r}")
        if not isinstance(self.zero_silent, (bool, np.bool_)):
            raise ValueError(f"zero_silent must be true or false, not {self.zero_silent!r}")
        if (isinstance(self.threshold, bool) or not isinstance(self.threshold, (int, float))
                or not 0 <= self.threshold <= 1):
            raise ValueError(f"threshold must be a number in [0, 1], not {self.threshold!r}")
        if self.pixels is not None:
            pixels = tuple(self.pixels)
            if not pixels or not all(isinstance(p, (int, np.integer)) and not isinstance(p, bool)
                                     and p >= 0 for p in pixels) \
                    or any(b <= a for a, b in zip(pixels, pixels[1:])):
                raise ValueError(f"pixels must be a non-empty, strictly increasing list of "
                                 f"pixel indices, not {self.pixels!r}")
            object.__setattr__(self, "pixels", tuple(int(p) for p in pixels))

    def to_json(self):
        doc = {"tau_in": self.tau_in, "zero_silent": bool(self.zero_silent)}
        if self.threshold:
            doc["threshold"] = self.threshold
        if self.pixels is not None:
            doc["pixels"] = list(self.pixels)
        return doc


def _int64_weights(weight, index):
    # a cast would wrap unsigned or wider values into the int64 range: check them first
    weight = np.asarray(weight)
    if weight.dtype.kind not in "iu" and not (weight.dtype.kind == "b" or weight.size == 0):
        raise ValueError(f"layer {index}: weights must be integers, not {weight.dtype}")
    if weight.size and (weight.min() < -(1 << 63) or weight.max() > (1 << 63) - 1):
        raise ValueError(f"layer {index}: weights span [{weight.min()}, {weight.max()}], "
                         f"beyond int64")
    return weight.astype(np.int64)


def _threshold(value, index):
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"layer {index}: threshold must be an integer, not {value!r}")
    if value < 1:
        raise ValueError(f"layer {index}: threshold must be at least 1, not {value}")
    if value > (1 << 62) - 1:
        raise ValueError(f"layer {index}: threshold must be at most 2**62 - 1 (the reference "
                         f"simulator computes in int64), not {value}")
    return int(value)


@dataclass(frozen=True)
class IntNetwork:
    """A quantized TTFS network; see the module docstring.

    Members
    -------
    layers : the layers, input side first
    weight_bits : signed width of every weight, in [2, 32]
    steps : number of time steps K; "no spike" is the step K
    dt : length of one step in model time units
    encoding : the input encoding
    widths : register widths per layer (derived from the weights when not given)
    meta : free-form provenance (source checkpoint, quantization passes)

    Raises
    ------
    ValueError
        for shapes that do not chain, weights outside ``weight_bits``, a threshold below 1,
        ``steps`` below 2, a non-positive ``dt`` or widths smaller than required.
    """

    layers: tuple
    weight_bits: int
    steps: int
    dt: float = 1.0
    encoding: InputEncoding = field(default_factory=InputEncoding)
    widths: tuple = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        layers = tuple(IntLayer(_int64_weights(l.weight, index), _threshold(l.threshold, index),
                                float(l.weight_scale)) for index, l in enumerate(self.layers))
        object.__setattr__(self, "layers", layers)
        if not layers:
            raise ValueError("an integer network needs at least one layer")
        if not (isinstance(self.weight_bits, (int, np.integer)) and 2 <= self.weight_bits <= 32):
            raise ValueError(f"weight_bits must be an integer in [2, 32], not {self.weight_bits!r}")
        if not (isinstance(self.steps, (int, np.integer)) and self.steps >= 2):
            raise ValueError(f"steps must be an integer of at least 2, not {self.steps!r}")
        if not (math.isfinite(self.dt) and self.dt > 0):
            raise ValueError(f"dt must be a positive finite number, not {self.dt!r}")
        lo, hi = -(1 << (self.weight_bits - 1)), (1 << (self.weight_bits - 1)) - 1
        for index, layer in enumerate(layers):
            if layer.weight.ndim != 2 or layer.weight.size == 0:
                raise ValueError(f"layer {index}: weight must be a non-empty 2-D array, "
                                 f"not shape {layer.weight.shape}")
            if index and layer.n_in != layers[index - 1].n_out:
                raise ValueError(f"layer {index}: {layer.n_in} inputs but layer {index - 1} has "
                                 f"{layers[index - 1].n_out} neurons")
            if layer.weight.min() < lo or layer.weight.max() > hi:
                raise ValueError(f"layer {index}: weights span [{layer.weight.min()}, "
                                 f"{layer.weight.max()}], outside {self.weight_bits}-bit "
                                 f"[{lo}, {hi}]")
            if layer.threshold < 1:
                raise ValueError(f"layer {index}: threshold must be at least 1, "
                                 f"not {layer.threshold}")
        pixels = self.encoding.pixels
        if pixels is not None and len(pixels) != layers[0].n_in:
            raise ValueError(f"the encoding selects {len(pixels)} pixels for "
                             f"{layers[0].n_in} inputs")
        required = tuple(register_widths(l.weight, l.threshold, self.steps) for l in layers)
        widths = required if self.widths is None else tuple(
            w if isinstance(w, RegisterWidths) else RegisterWidths(**w) for w in self.widths)
        if len(widths) != len(layers):
            raise ValueError(f"{len(widths)} register widths for {len(layers)} layers")
        for index, (have, need) in enumerate(zip(widths, required)):
            if have.slope_bits < need.slope_bits or have.potential_bits < need.potential_bits:
                raise ValueError(f"layer {index}: register widths {have} smaller than the "
                                 f"{need} its weights need")
        object.__setattr__(self, "widths", widths)

    @property
    def sizes(self):
        """Neurons per layer, input first: ``[n_in, n_1, ..., n_out]``."""
        return [self.layers[0].n_in] + [layer.n_out for layer in self.layers]

    def to_json(self):
        """The ``network.json`` document (weights excluded)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "sizes": self.sizes,
            "weight_bits": int(self.weight_bits),
            "steps": int(self.steps),
            "dt": self.dt,
            "encoding": self.encoding.to_json(),
            "layers": [{"n_in": l.n_in, "n_out": l.n_out, "threshold": l.threshold,
                        "weight_scale": l.weight_scale, "slope_bits": w.slope_bits,
                        "potential_bits": w.potential_bits}
                       for l, w in zip(self.layers, self.widths)],
            "meta": self.meta,
        }


def save(network, directory):
    """Write ``network.json`` and ``weights.npz`` into ``directory`` atomically.

    Each file is written to a temporary name and renamed when complete (see
    :mod:`mapping.files`), the weights first: a failed save leaves the previous
    ``network.json`` in place.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    text = json.dumps(network.to_json(), indent=2, sort_keys=True) + "\n"
    weights = {f"w{i}": layer.weight for i, layer in enumerate(network.layers)}
    atomic_write(directory / WEIGHTS_FILE, lambda staged: np.savez(staged, **weights))
    write_text(directory / NETWORK_FILE, text)
    return directory


def load(directory):
    """Read and validate the integer network saved in ``directory``.

    Every member of ``network.json`` is checked for its type and range, and the shapes
    and types of ``weights.npz`` are read from its headers and checked against
    ``network.json`` before any array is read (see :mod:`mapping.validate`).

    Raises
    ------
    NetworkFileError
        if a file is missing, unreadable, of another schema version, or inconsistent
        (shapes, weight range, thresholds, register widths); the message names the file.
    """
    directory = Path(directory)
    json_path, npz_path = directory / NETWORK_FILE, directory / WEIGHTS_FILE
    for path in (json_path, npz_path):
        if not path.is_file():
            raise NetworkFileError(f"{path} not found: run `ttfs quantize` first")
    try:
        doc = check.mapping(check.read_json(json_path), json_path)
        if doc.get("schema_version") != SCHEMA_VERSION:
            raise NetworkFileError(f"{json_path}: schema_version "
                                   f"{doc.get('schema_version')!r}, this version reads "
                                   f"{SCHEMA_VERSION}")
        specs = _layer_specs(doc, json_path)
        _check_headers(check.npz_headers(npz_path), specs, npz_path)
        with np.load(npz_path, allow_pickle=False) as npz:
            weights = [npz[f"w{i}"] for i in range(len(specs))]
    except check.ArtifactError as exc:
        raise NetworkFileError(str(exc)) from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise NetworkFileError(f"{npz_path}: cannot read weights ({exc})") from None
    layers = [IntLayer(w, spec["threshold"], spec["weight_scale"])
              for w, spec in zip(weights, specs)]
    try:
        return IntNetwork(
            layers=tuple(layers), weight_bits=doc["weight_bits"], steps=doc["steps"],
            dt=doc["dt"], encoding=InputEncoding(**doc["encoding"]),
            widths=tuple(RegisterWidths(s["slope_bits"], s["potential_bits"]) for s in specs),
            meta=doc["meta"])
    except (TypeError, ValueError) as exc:
        raise NetworkFileError(f"{json_path}: inconsistent network ({exc})") from None


#: Largest threshold and register width: the reference simulator computes in int64.
MAX_REGISTER_BITS = 63


def _layer_specs(doc, path):
    """The checked members of ``network.json``; ``doc`` is updated with checked values."""
    doc["weight_bits"] = check.integer(doc.get("weight_bits"), path, "weight_bits", lo=2, hi=32)
    doc["steps"] = check.integer(doc.get("steps"), path, "steps", lo=2, hi=1 << 31)
    doc["dt"] = check.number(check.member(doc, "dt", path), path, "dt", positive=True)
    encoding = check.mapping(check.member(doc, "encoding", path), path, "encoding")
    doc["encoding"] = {
        "tau_in": check.number(check.member(encoding, "tau_in", path, "encoding"), path,
                               "encoding.tau_in", positive=True),
        "zero_silent": encoding.get("zero_silent", True),
        "threshold": check.number(encoding.get("threshold", 0.0), path, "encoding.threshold",
                                  lo=0.0, hi=1.0)}
    if "pixels" in encoding:
        doc["encoding"]["pixels"] = check.integers(encoding["pixels"], path, "encoding.pixels",
                                                   lo=0)
    doc["meta"] = check.mapping(doc.get("meta", {}), path, "meta")
    specs = []
    for i, spec in enumerate(check.sequence(check.member(doc, "layers", path), path, "layers")):
        spec = check.mapping(spec, path, f"layers[{i}]")
        specs.append({
            "n_in": check.integer(spec.get("n_in"), path, f"layers[{i}].n_in", lo=1),
            "n_out": check.integer(spec.get("n_out"), path, f"layers[{i}].n_out", lo=1),
            "threshold": check.integer(spec.get("threshold"), path, f"layers[{i}].threshold",
                                       lo=1, hi=(1 << (MAX_REGISTER_BITS - 1)) - 1),
            "weight_scale": check.number(spec.get("weight_scale"), path,
                                         f"layers[{i}].weight_scale", positive=True),
            **{name: check.integer(spec.get(name), path, f"layers[{i}].{name}", lo=2,
                                   hi=MAX_REGISTER_BITS)
               for name in ("slope_bits", "potential_bits")}})
    if not specs:
        raise check.ArtifactError(f"{path}: layers must not be empty")
    return specs


def _check_headers(headers, specs, path):
    """The arrays of ``weights.npz`` (from their headers) against ``network.json``."""
    if len(headers) != len(specs):
        raise check.ArtifactError(f"{path}: {len(headers)} weight arrays for {len(specs)} "
                                  f"layers in network.json")
    for i, spec in enumerate(specs):
        if f"w{i}" not in headers:
            raise check.ArtifactError(f"{path}: no array w{i}")
        shape, dtype = headers[f"w{i}"]
        if shape != (spec["n_out"], spec["n_in"]):
            raise check.ArtifactError(f"{path}: w{i} has shape {shape}, network.json says "
                                      f"{(spec['n_out'], spec['n_in'])}")
        if dtype.kind != "i":
            raise check.ArtifactError(f"{path}: w{i} has dtype {dtype}, not integer (a signed "
                                      f"integer type)")
