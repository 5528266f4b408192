"""Fully connected TTFS layers and networks, input encoding and output decoding.

A network is a stack of :class:`TTFSLayer`\\ s sharing one threshold and one firing window
``[0, t_max]``; the spike times of a layer are the input times of the next. Pixels are
encoded as ``t = tau_in * (1 - x)`` for ``x`` in ``[0, 1]``; with ``zero_silent`` the pixels
at ``x = 0`` do not spike at all (the default: MNIST-like images are mostly background, so
this keeps the input sparse, and it trained as well as the alternative in our checks,
docs/model.md). The predicted class is the first output neuron to fire, ties to the lowest
index; if no output neuron fires, the one with the largest potential at ``t_max``.

Defaults: ``tau_in = 1`` (the unit of time is the input window) and ``t_max = 8``, room for
four layers of spikes after the input window.
"""
import math
from dataclasses import dataclass, fields

import numpy as np
import torch
from torch import nn

from .neuron import T_MAX, potential, scan

#: Default input window: pixels spike in [0, TAU_IN].
TAU_IN = 1.0


def parse_arch(arch):
    """Layer sizes from ``"784-400-10"`` or a sequence of ints; at least two, all positive."""
    if isinstance(arch, str):
        try:
            sizes = tuple(int(part) for part in arch.split("-"))
        except ValueError:
            raise ValueError(f"arch must look like 784-400-10, not {arch!r}") from None
    else:
        sizes = tuple(int(size) for size in arch)
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"arch needs at least two positive layer sizes, not {arch!r}")
    return sizes


@dataclass(frozen=True)
class NetworkConfig:
    """Shape and neuron parameters of a TTFS network.

    Members
    -------
    arch : layer sizes, input first (``"784-400-10"`` is accepted and parsed)
    threshold : firing threshold V_th (potential units)
    t_max : end of the firing window (time units; input spikes lie in [0, tau_in])
    tau_in : input window: a pixel x in [0, 1] spikes at tau_in * (1 - x)
    zero_silent : pixels with x = 0 do not spike (instead of spiking at tau_in)
    input_threshold : pixels with x < input_threshold do not spike (in [0, 1]; 0: none)
    init_mean : initial weights have mean init_mean * threshold / n_in
    init_std : initial weights have standard deviation init_std * threshold / sqrt(n_in)
    """

    arch: tuple = (784, 400, 10)
    threshold: float = 1.0
    t_max: float = T_MAX
    tau_in: float = TAU_IN
    zero_silent: bool = True
    input_threshold: float = 0.0
    init_mean: float = 4.0
    init_std: float = 1.0

    def __post_init__(self):
        object.__setattr__(self, "arch", parse_arch(self.arch))
        if not 0 <= self.input_threshold <= 1:
            raise ValueError(f"input_threshold must lie in [0, 1], not {self.input_threshold}")
        if not self.threshold > 0:
            raise ValueError(f"threshold must be positive, not {self.threshold}")
        if not 0 < self.tau_in < self.t_max:
            raise ValueError(f"need 0 < tau_in < t_max, not tau_in={self.tau_in}, "
                             f"t_max={self.t_max}")
        if not self.init_std >= 0:
            raise ValueError(f"init_std must be non-negative, not {self.init_std}")

    @classmethod
    def from_dict(cls, values):
        """The config from a dict that may hold other keys too (a training config)."""
        names = {field.name for field in fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in names})


def encode(images, *, tau_in=TAU_IN, zero_silent=True, input_threshold=0.0):
    """Input spike times ``[batch, n_pixels]`` (float32, ``+inf`` = no spike) of images.

    ``images`` are uint8 ``[batch, 28, 28]`` or ``[batch, 784]`` (0..255), or floats in
    [0, 1]; as a NumPy array or a tensor. Pixels below ``input_threshold`` do not spike
    (and with ``zero_silent`` neither do pixels at 0).
    """
    if isinstance(images, np.ndarray):
        images = torch.from_numpy(np.array(images))  # a copy: IDX arrays are read-only
    images = torch.as_tensor(images)
    if images.dim() < 2:
        raise ValueError(f"images must be [batch, ...], not of shape {list(images.shape)}")
    if images.dtype == torch.uint8:
        x = images.to(torch.float32) / 255.0
    elif images.is_floating_point():
        x = images.to(torch.float32)
        if x.numel() and (x.min() < 0 or x.max() > 1):
            raise ValueError("float images must lie in [0, 1]")
    else:
        raise ValueError(f"images must be uint8 or float, not {images.dtype}")
    x = x.reshape(x.shape[0], -1)
    times = tau_in * (1.0 - x)
    silent = torch.zeros_like(x, dtype=torch.bool)
    if input_threshold > 0:
        # compared in float64, as mapping.reference.encode_steps does, so that the float
        # model and the integer network silence the same pixels
        x64 = images.to(torch.float64).reshape(x.shape)
        silent = (x64 / 255.0 if images.dtype == torch.uint8 else x64) < input_threshold
    if zero_silent:
        silent = silent | (x == 0)
    return torch.where(silent, torch.full_like(times, math.inf), times)


class TTFSLayer(nn.Module):
    """A fully connected layer of TTFS neurons (see :mod:`model.neuron`).

    Members
    -------
    weight : parameter [n_out, n_in]
    threshold, t_max : neuron parameters
    """

    def __init__(self, n_in, n_out, *, threshold=1.0, t_max=T_MAX):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(n_out, n_in))
        self.threshold = float(threshold)
        self.t_max = float(t_max)

    def scan(self, input_times):
        """The :class:`model.neuron.Scan` of this layer (times, slopes, causal sets)."""
        return scan(input_times, self.weight, threshold=self.threshold, t_max=self.t_max)

    def forward(self, input_times):
        return self.scan(input_times).times

    def extra_repr(self):
        n_out, n_in = self.weight.shape
        return f"{n_in}, {n_out}, threshold={self.threshold}, t_max={self.t_max}"


class TTFSNetwork(nn.Module):
    """A feed-forward TTFS network.

    Built from a :class:`NetworkConfig` or its fields as keyword arguments. ``forward``
    returns the spike times of every layer, input times first and output last.

    Members
    -------
    config : the :class:`NetworkConfig`
    layers : ``nn.ModuleList`` of :class:`TTFSLayer`
    """

    def __init__(self, config=None, **kwargs):
        super().__init__()
        if config is None:
            config = NetworkConfig(**kwargs)
        elif kwargs:
            raise TypeError("pass either a NetworkConfig or keyword arguments, not both")
        self.config = config
        self.layers = nn.ModuleList(
            TTFSLayer(n_in, n_out, threshold=config.threshold, t_max=config.t_max)
            for n_in, n_out in zip(config.arch[:-1], config.arch[1:]))

    def reset_parameters(self, generator=None):
        """Draw weights as the config says (positive mean, so that hidden neurons fire)."""
        with torch.no_grad():
            for layer in self.layers:
                n_in = layer.weight.shape[1]
                mean = self.config.init_mean * self.config.threshold / n_in
                std = self.config.init_std * self.config.threshold / math.sqrt(n_in)
                layer.weight.normal_(mean, std, generator=generator)
        return self

    def encode(self, images):
        """Input spike times of images with this network's encoding."""
        return encode(images, tau_in=self.config.tau_in, zero_silent=self.config.zero_silent,
                      input_threshold=self.config.input_threshold)

    def scans(self, input_times):
        """One :class:`model.neuron.Scan` per layer, input side first."""
        result = []
        times = input_times
        for layer in self.layers:
            result.append(layer.scan(times))
            times = result[-1].times
        return result

    def forward(self, input_times):
        times = [input_times]
        for layer in self.layers:
            times.append(layer(times[-1]))
        return times

    def final_potentials(self, hidden_times):
        """Output potentials at ``t_max`` without firing, from the last hidden layer's times."""
        end = hidden_times.new_tensor([self.config.t_max])
        return potential(end, hidden_times, self.layers[-1].weight).squeeze(-1)


def predict(output_times, final_potentials):
    """Predicted classes: first output spike, ties to the lowest index; if no output neuron
    fires, the largest potential at ``t_max``, ties to the lowest index."""
    first = torch.argmin(output_times, dim=1)
    loudest = torch.argmax(final_potentials, dim=1)
    silent = torch.isinf(output_times).all(dim=1)
    return torch.where(silent, loudest, first)
