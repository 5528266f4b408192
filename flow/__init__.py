"""Command line and reports: the one package that imports all the others.

The Python API is :mod:`flow.api` (``from flow import api``); its names are also reachable
as ``flow.<name>``, loaded on first use: importing one module of ``flow`` (as the hardware
tests do with ``flow.spice_cmd``) does not import the whole API, nor PyTorch with it.
"""
import importlib

_API = ("TrainConfig", "train", "QuantizeConfig", "QuantizeResult", "quantize",
        "ExportConfig", "ExportResult", "export_verilog", "CosimConfig", "CosimResult",
        "cosimulate", "SpiceConfig", "SpiceResult", "simulate_spice", "EnergyConfig",
        "EnergyResult", "energy", "compare", "energy_coefficients", "FlowConfig", "FlowResult", "Step", "stages",
        "run_flow")


def __getattr__(name):
    if name in _API:
        return getattr(importlib.import_module("flow.api"), name)
    raise AttributeError(f"module 'flow' has no attribute {name!r}")
