"""The Python API of the flow: one function per stage, each taking the run directory and a
frozen config that checks its values when it is built, and returning a result object.

    from flow import api
    api.train("runs/tiny", api.TrainConfig(arch=(784, 16, 10), epochs=1, train_subset=1000))
    api.quantize("runs/tiny", api.QuantizeConfig(weight_bits=6, steps=16))
    api.export_verilog("runs/tiny", api.ExportConfig(testbench=2))
    print(api.cosimulate("runs/tiny", api.CosimConfig(sim="icarus", samples=2)).passed)

Every stage writes its artifacts into the run directory and reads only those of earlier
stages (see the README). The ``ttfs`` subcommands and ``ttfs run`` call exactly these
functions; nothing here prints.

==================  ==================  =============================================
function            config              writes into the run directory
==================  ==================  =============================================
``train``           ``TrainConfig``     ``model.pt``, ``config.json``, ``metrics.json``
``quantize``        ``QuantizeConfig``  ``network.json``, ``weights.npz``, ...
``export_verilog``  ``ExportConfig``    ``verilog/ttfs_top.v`` (+ sidecar, testbench)
``cosimulate``      ``CosimConfig``     ``cosim.json``, ``cosim_build/``
``simulate_spice``  ``SpiceConfig``     ``spice.json``, ``analog_energy.json``
``energy``          ``EnergyConfig``    ``report.json``, ``report.md``, plots
``compare``         (runs, ``out=``)    ``compare.json``, ``compare.md`` (beside them)
``run_flow``        ``FlowConfig``      all of the above, in order
==================  ==================  =============================================

``energy_coefficients(arch, lanes=, bank_bytes=, weight_bits=, steps=)`` gives the per-spike
and fixed energies that ``TrainConfig.energy_weight`` trains against (``train`` computes
them itself when a config with ``energy_weight > 0`` has none).
"""
from .codesign import energy_coefficients
from .compare_cmd import compare
from .energy_stage import EnergyConfig, EnergyResult, energy
from .pipeline import FlowConfig, FlowResult, Step, run_flow, stages
from .quantize_stage import QuantizeConfig, QuantizeResult, quantize
from .rtl_stage import (CosimConfig, CosimResult, ExportConfig, ExportResult, cosimulate,
                        export_verilog)
from .spice_stage import SpiceConfig, SpiceResult, simulate_spice
from .train_stage import TrainConfig, train

__all__ = [
    "TrainConfig", "train",
    "QuantizeConfig", "QuantizeResult", "quantize",
    "ExportConfig", "ExportResult", "export_verilog",
    "CosimConfig", "CosimResult", "cosimulate",
    "SpiceConfig", "SpiceResult", "simulate_spice",
    "EnergyConfig", "EnergyResult", "energy",
    "compare", "energy_coefficients",
    "FlowConfig", "FlowResult", "Step", "stages", "run_flow",
]
