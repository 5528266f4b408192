"""Integer networks: quantization, the bit-exact reference simulator, core allocation."""
