"""Quantization of a float TTFS network into an :class:`~mapping.network.IntNetwork`.

The float network (weights ``w`` per layer, threshold ``V_th``, window ``t_max``, input
encoding) and the integer network of :mod:`mapping.reference` agree exactly when spike times
lie on the grid ``t = k dt`` with ``dt = t_max / K`` and ``w = w_int * scale``: then
``v_float(k dt) = dt * scale * v_int(k)``, so the integer threshold is ``V_th / (scale dt)``
and a float spike at time ``t`` is an integer spike at step ``ceil(t / dt)``. Quantization
only rounds times, weights and thresholds. It is an explicit, ordered list of passes over a
:class:`Draft` (see :data:`PASSES`):

1. :func:`set_grid`: ``dt = t_max / K``; the input encoding is copied, and
   :func:`mapping.reference.encode` puts input times on the nearest step.
2. :func:`calibrate_scales`: per layer, candidate clip values ``c`` (percentiles of ``|w|``)
   give ``scale = c / (2^(bits-1) - 1)``. Each candidate is rounded as passes 3 and 4 do and
   run through the integer layer on the calibration samples, whose inputs come from the
   layers already quantized; the candidate whose spike steps are closest to the float
   model's (mean absolute step difference, silent = ``K``) wins, the first one on ties.
   Without calibration data the largest ``|w|`` is used (no clipping).
3. :func:`round_thresholds`: ``theta = max(1, round(V_th / (scale dt)))``, then the scale is
   set to ``V_th / (theta dt)`` so that the integer threshold is exact.
4. :func:`quantize_weights`: ``w_int = clip(round(w / scale), -(2^(bits-1) - 1),
   2^(bits-1) - 1)``: a symmetric range, rounding half to even.
5. :func:`build_network`: the :class:`IntNetwork` (which checks ranges and derives register
   widths), with the configuration, the chosen clip percentiles and the pass names in ``meta``.
"""
import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from . import reference
from .network import InputEncoding, IntLayer, IntNetwork

#: Candidate clip values of pass 2, as percentiles of |w| per layer.
CLIP_PERCENTILES = (100.0, 99.99, 99.9, 99.5, 99.0, 98.0)


@dataclass(frozen=True)
class FloatNetwork:
    """The float model as plain arrays: what quantization needs of a checkpoint.

    Members
    -------
    weights : float64 arrays [n_out, n_in], input side first
    threshold : firing threshold ``V_th`` (model units)
    t_max : end of the firing window (model time units)
    encoding : input encoding (``tau_in`` in model time units, ``zero_silent``)
    """

    weights: tuple
    threshold: float = 1.0
    t_max: float = 8.0
    encoding: InputEncoding = field(default_factory=InputEncoding)

    def __post_init__(self):
        weights = tuple(np.array(w, dtype=np.float64) for w in self.weights)
        object.__setattr__(self, "weights", weights)
        if not weights:
            raise ValueError("a float network needs at least one layer")
        for index, w in enumerate(weights):
            if w.ndim != 2 or w.size == 0 or not np.isfinite(w).all():
                raise ValueError(f"layer {index}: weight must be a non-empty finite 2-D array, "
                                 f"not shape {w.shape}")
            if index and w.shape[1] != weights[index - 1].shape[0]:
                raise ValueError(f"layer {index}: {w.shape[1]} inputs but layer {index - 1} has "
                                 f"{weights[index - 1].shape[0]} neurons")
        if not (math.isfinite(self.threshold) and self.threshold > 0):
            raise ValueError(f"threshold must be positive and finite, not {self.threshold!r}")
        if not (math.isfinite(self.t_max) and self.t_max > 0):
            raise ValueError(f"t_max must be positive and finite, not {self.t_max!r}")


@dataclass(frozen=True)
class QuantConfig:
    """Options of :func:`quantize`.

    Members
    -------
    weight_bits : signed weight width, in [2, 16]
    steps : number of time steps K, in [2, 65536]
    clip_percentiles : candidate clip values of pass 2 (percentiles of |w|, in (0, 100])
    """

    weight_bits: int = 8
    steps: int = 256
    clip_percentiles: tuple = CLIP_PERCENTILES

    def __post_init__(self):
        if not (isinstance(self.weight_bits, int) and 2 <= self.weight_bits <= 16):
            raise ValueError(f"weight_bits must be an integer in [2, 16], not {self.weight_bits!r}")
        if not (isinstance(self.steps, int) and 2 <= self.steps <= 65536):
            raise ValueError(f"steps must be an integer in [2, 65536], not {self.steps!r}")
        percentiles = tuple(float(p) for p in self.clip_percentiles)
        if not percentiles or not all(0 < p <= 100 for p in percentiles):
            raise ValueError(f"clip_percentiles must be a non-empty list of values in (0, 100], "
                             f"not {self.clip_percentiles!r}")
        object.__setattr__(self, "clip_percentiles", percentiles)


@dataclass(frozen=True)
class Calibration:
    """Samples that pick the weight scales, with the float model's answer.

    Members
    -------
    pixels : float [n, n_in] in [0, 1] (or uint8), the network's inputs
    times : float arrays [n, n_l] per computing layer: the float model's first-spike
        times (``+inf`` = silent) on these samples, first hidden layer first
    """

    pixels: np.ndarray
    times: tuple

    def __post_init__(self):
        object.__setattr__(self, "pixels", np.asarray(self.pixels))
        object.__setattr__(self, "times", tuple(np.asarray(t, dtype=np.float64)
                                                for t in self.times))
        n = len(self.pixels)
        if n == 0 or any(len(t) != n for t in self.times):
            raise ValueError(f"calibration needs the same non-zero number of samples in pixels "
                             f"and times, not {n} and {[len(t) for t in self.times]}")


@dataclass(frozen=True)
class Draft:
    """The intermediate representation the passes transform (tuples per layer)."""

    source: FloatNetwork
    config: QuantConfig
    calibration: Calibration = None
    dt: float = None
    clips: tuple = ()
    scales: tuple = ()
    thresholds: tuple = ()
    weights: tuple = ()
    network: IntNetwork = None


def time_to_step(times, dt, steps):
    """The integer spike step of float spike times: ``ceil(t / dt)``, ``steps`` when silent.

    A time within ``1e-9`` steps above a grid point counts as on it, so float noise does not
    push an exact crossing one step late. Times beyond step ``steps - 1`` are silent.
    """
    k = np.ceil(np.asarray(times, dtype=np.float64) / dt - 1e-9)
    k = np.where(np.isfinite(k), k, steps)
    return np.clip(k, 0, steps).astype(np.int64)


def set_grid(draft):
    """Pass 1: the step length ``dt = t_max / K``."""
    return dataclasses.replace(draft, dt=draft.source.t_max / draft.config.steps)


def _max_int(bits):
    return (1 << (bits - 1)) - 1


def _round_layer(weight, clip, threshold, dt, bits):
    """Passes 3 and 4 for one layer and one clip value: (theta, scale, w_int)."""
    scale = max(clip, np.finfo(float).tiny) / _max_int(bits)
    theta = max(1, int(np.floor(threshold / (scale * dt) + 0.5)))
    scale = threshold / (theta * dt)
    w_int = np.clip(np.round(weight / scale), -_max_int(bits), _max_int(bits)).astype(np.int64)
    return theta, scale, w_int


def calibrate_scales(draft):
    """Pass 2: per-layer clip values chosen on the calibration samples (see the module doc).

    Clip values already in the draft (given to :func:`quantize`) are kept.
    """
    if draft.clips:
        return draft
    bits, K = draft.config.weight_bits, draft.config.steps
    source, cal = draft.source, draft.calibration
    if cal is not None and len(cal.times) != len(source.weights):
        raise ValueError(f"calibration has times of {len(cal.times)} layers, the network has "
                         f"{len(source.weights)}")
    clips = []
    steps_in = None
    if cal is not None:
        steps_in = reference.encode_steps(cal.pixels, source.encoding, dt=draft.dt, steps=K)
    for index, weight in enumerate(source.weights):
        magnitude = np.abs(weight)
        if cal is None:
            clips.append((100.0, float(magnitude.max())))
            continue
        target = time_to_step(cal.times[index], draft.dt, K)
        best = None
        for percentile in draft.config.clip_percentiles:
            clip = float(np.percentile(magnitude, percentile))
            theta, _, w_int = _round_layer(weight, clip, source.threshold, draft.dt, bits)
            fire = reference.run_layer(w_int, theta, K, steps_in)[0]
            error = float(np.abs(fire - target).mean())
            if best is None or error < best[0]:
                best = (error, percentile, clip, fire)
        clips.append((best[1], best[2]))
        steps_in = best[3]
    return dataclasses.replace(draft, clips=tuple(clips))


def round_thresholds(draft):
    """Pass 3: integer thresholds, and the scales that make them exact."""
    bits = draft.config.weight_bits
    rounded = [_round_layer(w, clip, draft.source.threshold, draft.dt, bits)[:2]
               for w, (_, clip) in zip(draft.source.weights, draft.clips)]
    return dataclasses.replace(draft, thresholds=tuple(t for t, _ in rounded),
                               scales=tuple(s for _, s in rounded))


def quantize_weights(draft):
    """Pass 4: weights rounded to the symmetric ``weight_bits`` range at the layer scales."""
    top = _max_int(draft.config.weight_bits)
    weights = tuple(np.clip(np.round(w / s), -top, top).astype(np.int64)
                    for w, s in zip(draft.source.weights, draft.scales))
    return dataclasses.replace(draft, weights=weights)


def build_network(draft):
    """Pass 5: the validated :class:`IntNetwork`."""
    layers = tuple(IntLayer(w, t, s) for w, t, s in
                   zip(draft.weights, draft.thresholds, draft.scales))
    meta = {"passes": [p.__name__ for p in PASSES],
            "float_threshold": draft.source.threshold, "t_max": draft.source.t_max,
            "clip_percentiles": [p for p, _ in draft.clips],
            "calibration_samples": 0 if draft.calibration is None else len(draft.calibration.pixels)}
    network = IntNetwork(layers=layers, weight_bits=draft.config.weight_bits,
                         steps=draft.config.steps, dt=draft.dt,
                         encoding=draft.source.encoding, meta=meta)
    return dataclasses.replace(draft, network=network)


#: The quantization passes, in order.
PASSES = (set_grid, calibrate_scales, round_thresholds, quantize_weights, build_network)


def quantize(source, config=QuantConfig(), *, calibration=None, clips=None, meta=None):
    """Run :data:`PASSES` on the float network ``source``; returns the :class:`IntNetwork`.

    Parameters
    ----------
    source : :class:`FloatNetwork`
    config : :class:`QuantConfig`
    calibration : :class:`Calibration` or None (then no clipping)
    clips : per-layer clip values that replace calibration (for example
        ``weight_scale * (2^(bits-1) - 1)`` of an earlier network, to reproduce its grid)
    meta : extra provenance merged into the network's ``meta``
    """
    preset = ()
    if clips is not None:
        if len(clips) != len(source.weights) or not all(c > 0 for c in clips):
            raise ValueError(f"clips must be {len(source.weights)} positive values, not {clips!r}")
        preset = tuple((None, float(c)) for c in clips)
    draft = Draft(source=source, config=config, calibration=calibration, clips=preset)
    for quantization_pass in PASSES:
        draft = quantization_pass(draft)
    if meta:
        draft = dataclasses.replace(draft, network=dataclasses.replace(
            draft.network, meta={**draft.network.meta, **meta}))
    return draft.network


def grid_clips(network):
    """Clip values that reproduce the weight grids of ``network`` in :func:`quantize`."""
    top = _max_int(network.weight_bits)
    return [layer.weight_scale * top for layer in network.layers]
