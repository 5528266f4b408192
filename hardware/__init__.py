"""Hardware back ends: the Amaranth core (rtl), the analog neuron (spice), energy models."""
