"""Published digital neuromorphic chips, for a comparison that states what each side includes.

Each figure is the one the paper headlines, measured on silicon at its own node and supply;
none is rescaled to 45 nm (scaling rules for energy across nodes and supplies differ by
design style, and a rescaled figure would carry our assumption, not the paper's
measurement). This project's figures are a model of one core's accesses and leakage at
45 nm, without I/O, clock tree or an on-chip network.
"""

#: name, figure, unit, node, source, and what the figure includes.
CHIPS = (
    {"chip": "ODIN", "value": 12.7e-12, "unit": "J per synaptic operation", "node_nm": 28,
     "source": "C. Frenkel et al., IEEE TBioCAS 13(1), 2019, doi:10.1109/TBCAS.2018.2880425",
     "includes": "minimum energy per SOP measured on the chip at 0.55 V (28 nm FDSOI); 4-bit "
                 "synapses in SRAM, 256 neurons, one core"},
    {"chip": "ReckOn", "value": 5.3e-12, "unit": "J per synaptic operation", "node_nm": 28,
     "source": "C. Frenkel, G. Indiveri, ISSCC 2022, doi:10.1109/ISSCC42614.2022.9731734",
     "includes": "energy per SOP measured on the chip at 0.5 V (28 nm FDSOI); 8-bit weights, "
                 "256-neuron recurrent network, inference"},
    {"chip": "Loihi", "value": 23.6e-12, "unit": "J per synaptic operation", "node_nm": 14,
     "source": "M. Davies et al., IEEE Micro 38(1), 2018, doi:10.1109/MM.2018.112130359",
     "includes": "minimum energy per synaptic spike operation measured on the chip (14 nm "
                 "FinFET); a many-core chip with on-chip routing"},
    {"chip": "TrueNorth", "value": 26e-12, "unit": "J per synaptic event", "node_nm": 28,
     "source": "P. A. Merolla et al., Science 345(6197), 2014, doi:10.1126/science.1254642",
     "includes": "energy per synaptic event measured on the chip (28 nm); 4096 cores, binary "
                 "synapses, routing between cores included"},
    {"chip": "MorphIC", "value": 21.8e-6, "unit": "J per MNIST inference", "node_nm": 65,
     "source": "C. Frenkel, J.-D. Legat, D. Bol, IEEE TBioCAS 13(5), 2019, "
               "doi:10.1109/TBCAS.2019.2928793",
     "includes": "energy per MNIST inference measured on the chip (65 nm); binary weights, its "
                 "own network and input coding, not ours"},
)


def comparison(energy_per_synop_J, energy_per_inference_J, node_nm):
    """Rows of the published chips beside this design's figure of the same unit."""
    ours = {"J per synaptic operation": energy_per_synop_J,
            "J per synaptic event": energy_per_synop_J,
            "J per MNIST inference": energy_per_inference_J}
    return [{**chip, "this_design": ours[chip["unit"]],
             "ratio": None if ours[chip["unit"]] is None else ours[chip["unit"]] / chip["value"],
             "this_node_nm": node_nm}
            for chip in CHIPS]
