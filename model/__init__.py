"""Float TTFS spiking networks in PyTorch: neuron, layers, regularizers, data, training."""
from .network import TAU_IN, NetworkConfig, TTFSLayer, TTFSNetwork, encode, parse_arch, predict
from .neuron import T_MAX, first_spike_times, potential, spike_times_and_slopes
from .regularizer import REGULARIZERS
from .train import TrainConfig, evaluate, load_run, train

__all__ = ["NetworkConfig", "REGULARIZERS", "T_MAX", "TAU_IN", "TTFSLayer", "TTFSNetwork",
           "TrainConfig", "encode", "evaluate", "first_spike_times", "load_run", "parse_arch",
           "potential", "predict", "spike_times_and_slopes", "train"]
