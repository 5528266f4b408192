"""iCE40 place and route helpers (hardware/pnr.py): the I/O wrapper, nextpnr's log, errors.

Place and route itself runs in test_fpga.py, on a synthesized core."""
import subprocess

import pytest

from hardware import pnr

PORTS = [{"name": "spike_in__valid", "direction": "input", "width": 1},
         {"name": "spike_in__ready", "direction": "output", "width": 1},
         {"name": "spike_in__index", "direction": "input", "width": 4},
         {"name": "cycles", "direction": "output", "width": 32}]

CORE = """module core(input clk, input rst, input spike_in__valid, output spike_in__ready,
            input [3:0] spike_in__index, output reg [31:0] cycles);
  assign spike_in__ready = spike_in__valid;
  always @(posedge clk) cycles <= rst ? 0 : cycles + spike_in__index;
endmodule
"""

# the "Device utilisation" block of a nextpnr-ice40 0.4 log
LOG = """Info: Packing RAMs..
Info: Device utilisation:
Info: \t         ICESTORM_LC:  1551/  384   403%
Info: \t        ICESTORM_RAM:     3/    0     0%
Info: \t               SB_IO:     6/   63     9%
Info: \t               SB_GB:     8/    8   100%
ERROR: Unable to place cell 'x', no BELs remaining to implement cell type 'ICESTORM_LC'
"""


def test_pnr_io_wrapper_chains_every_input_and_output_bit():
    text = pnr.io_wrapper(PORTS, top="core")
    assert "module ttfs_fpga(input clk, input rst, input scan_in, input scan_en," in text
    assert "reg [4:0] chain_in = 0;" in text and "reg [32:0] chain_out = 0;" in text
    assert "chain_in <= {chain_in[3:0], scan_in};" in text
    assert "chain_out <= capture ? core_out : {1'b0, chain_out[32:1]};" in text
    assert ".spike_in__valid(chain_in[0:0])" in text
    assert ".spike_in__index(chain_in[4:1])" in text
    assert ".spike_in__ready(core_out[0:0])" in text and ".cycles(core_out[32:1])" in text


def test_pnr_io_wrapper_needs_inputs_and_outputs():
    with pytest.raises(ValueError, match="^the wrapper needs inputs and outputs, got 0 inputs "
                                         "and 2 outputs$"):
        pnr.io_wrapper([p for p in PORTS if p["direction"] == "output"], top="core")


@pytest.mark.yosys
def test_pnr_io_wrapper_elaborates_around_its_core(tmp_path):
    (tmp_path / "core.v").write_text(CORE)
    (tmp_path / "wrapper.v").write_text(pnr.io_wrapper(PORTS, top="core"))
    result = subprocess.run(["yosys", "-q", "-p", f"read_verilog {tmp_path / 'core.v'} "
                             f"{tmp_path / 'wrapper.v'}; hierarchy -check -top ttfs_fpga; "
                             "proc; flatten; opt; select -assert-count 1 o:scan_out"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_pnr_reads_utilisation_and_says_by_how_much_a_design_does_not_fit():
    used = pnr._utilisation_from_log(LOG)
    assert used["ICESTORM_LC"] == {"used": 1551, "available": 384}
    assert used["SB_GB"] == {"used": 8, "available": 8}
    message = pnr._not_fit_message({"ICESTORM_LC": used["ICESTORM_LC"]}, "lp384")
    assert message.startswith("the design does not fit the iCE40 LP384: ICESTORM_LC 1551 of "
                              "384 (404%, 1167 over): fewer lanes")
    assert "\n" not in message


def test_pnr_rejects_an_unknown_device(tmp_path):
    with pytest.raises(ValueError, match="^iCE40 device must be one of up5k, .*not 'xc7a35t'$"):
        pnr.place_and_route(tmp_path / "netlist.json", tmp_path, device="xc7a35t")
