"""Float TTFS spiking networks in PyTorch: neuron, layers, regularizers, data, training."""
import os

# Idle OpenMP threads (torch's and the kernel's: they share torch's libgomp) sleep instead of
# spinning: on a few shared cores spinning threads steal the working ones' time (measured 6x
# slower at 2 threads under load). libgomp reads this once, when torch loads it, so it is set
# here, before the first import of torch; set it in the environment when importing torch first.
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

from .network import TAU_IN, NetworkConfig, TTFSLayer, TTFSNetwork, encode, parse_arch, predict
from .neuron import T_MAX, first_spike_times, potential, spike_times_and_slopes
from .regularizer import REGULARIZERS
from .train import TrainConfig, evaluate, load_run, train

__all__ = ["NetworkConfig", "REGULARIZERS", "T_MAX", "TAU_IN", "TTFSLayer", "TTFSNetwork",
           "TrainConfig", "encode", "evaluate", "first_spike_times", "load_run", "parse_arch",
           "potential", "predict", "spike_times_and_slopes", "train"]
