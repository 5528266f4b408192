"""The analog TTFS neuron in SPICE: netlists built with PySpice from the integer network
(:mod:`.netlist`, :mod:`.technology`), transients in the ngspice shared library isolated in a
worker process (:mod:`.simulator`), firing times and supply energies measured from the
waveforms (:mod:`.measure`) and compared with the closed form (:mod:`.ramp`,
:mod:`.validation`), and the per-event energy model for the energy report
(:mod:`.energy_model`). See ``docs/spice.md``."""
