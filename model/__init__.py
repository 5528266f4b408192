"""Float TTFS spiking networks in PyTorch: neuron, layers, regularizers, data, training."""
