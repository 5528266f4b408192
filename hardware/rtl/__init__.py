"""The digital core: an Amaranth 0.5 implementation of :mod:`mapping.reference`.

:class:`~hardware.rtl.top.NetworkTop` builds a network of
:class:`~hardware.rtl.core.SpikingCore` per the allocation, with an address-event
interface; :func:`~hardware.rtl.export.write_verilog` exports it; :mod:`~hardware.rtl.cosim`
co-simulates the Verilog with cocotb on Icarus Verilog or Verilator, and
:mod:`~hardware.rtl.amaranth_sim` runs the same comparisons in the Amaranth simulator.
See ``docs/rtl.md``.
"""
