"""Tests of flow/raster.py (one image through several networks, Fig. 2) and the
``ttfs raster`` command with several runs."""
import json

import numpy as np
import pytest
import torch

from flow import cli
from flow.raster import SampleTrace, layer_potentials, plot_columns, shown_neurons, trace_sample
from model import TTFSNetwork


def _network(arch="784-12-10", seed=0):
    return TTFSNetwork(arch=arch).reset_parameters(torch.Generator().manual_seed(seed))


def _image():
    return (np.arange(784).reshape(28, 28) * 7 % 256).astype(np.uint8)


def test_raster_trace_matches_the_network_forward():
    network = _network("784-12-8-10")
    trace = trace_sample(network, _image())
    with torch.no_grad():
        times = network(network.encode(torch.as_tensor(_image())[None]))
    assert len(trace.times) == len(times) == 4
    for ours, theirs in zip(trace.times, times):
        assert ours.dtype == torch.float64
        assert torch.equal(torch.isinf(ours), torch.isinf(theirs[0]))
        finite = torch.isfinite(ours)
        assert torch.allclose(ours[finite], theirs[0][finite].double(), rtol=0, atol=1e-5)


def test_raster_potential_crosses_threshold_exactly_at_spike():
    network = _network("784-12-8-10")
    trace = trace_sample(network, _image())
    grid = torch.linspace(0.0, trace.t_max, 4001, dtype=torch.float64)
    fired_total = 0
    for layer in range(1, len(trace.times)):
        times = trace.times[layer]
        v = layer_potentials(trace, layer, grid)
        for i in range(times.numel()):
            t_i = float(times[i])
            if t_i == float("inf"):
                # a silent neuron stays below threshold over the whole window
                assert float(v[i].max()) < trace.threshold
                continue
            fired_total += 1
            at_spike = float(layer_potentials(trace, layer, [t_i])[i])
            assert at_spike == pytest.approx(trace.threshold, abs=1e-12)
            # and it is the first crossing: below threshold on every grid point before
            before = v[i][grid < t_i]
            assert before.numel() == 0 or float(before.max()) < trace.threshold
            # the slope there is the causal slope S_i the regularizers use
            step = 1e-7
            ahead = float(layer_potentials(trace, layer, [t_i + step])[i])
            assert (ahead - at_spike) / step == pytest.approx(float(trace.slopes[layer - 1][i]),
                                                              rel=1e-6)
    assert fired_total > 5


def test_raster_layer_potentials_rejects_input_layer():
    trace = trace_sample(_network(), _image())
    with pytest.raises(ValueError, match=r"layer must lie in \[1, 2\], not 0"):
        layer_potentials(trace, 0, [0.0])


def _sample(hidden_times):
    return SampleTrace(times=[None, torch.tensor(hidden_times, dtype=torch.float64)],
                       slopes=[], weights=[], threshold=1.0, t_max=8.0, prediction=0)


def test_raster_shown_neurons_follow_the_last_column_first():
    inf = float("inf")
    samples = [_sample([1.0, 2.0, inf, 3.0, inf, inf]), _sample([inf, inf, inf, 5.0, inf, 4.0])]
    # fired in the last column: 3, 5; then in the first: 0, 1; then silent: 2
    assert shown_neurons(samples, 1, 2) == [3, 5]
    assert shown_neurons(samples, 1, 4) == [0, 1, 3, 5]
    assert shown_neurons(samples, 1, 5) == [0, 1, 2, 3, 5]
    assert shown_neurons(samples, 1, 10) == [0, 1, 2, 3, 4, 5]


def test_raster_plot_columns_writes_png(tmp_path):
    networks = [_network(seed=0), _network(seed=1)]
    out = plot_columns(networks, ["a", "b"], _image(), 3, tmp_path / "fig2.png", traces=3)
    assert out == tmp_path / "fig2.png" and out.stat().st_size > 20_000
    assert [path.name for path in tmp_path.iterdir()] == ["fig2.png"]


def test_raster_plot_columns_rejects_bad_input(tmp_path):
    out = tmp_path / "fig2.png"
    with pytest.raises(ValueError, match="no networks to plot"):
        plot_columns([], [], _image(), 3, out)
    with pytest.raises(ValueError, match="need one title per network: 2 networks, 1 titles"):
        plot_columns([_network(), _network()], ["a"], _image(), 3, out)
    with pytest.raises(ValueError, match="share one architecture, not 784-12-10, 784-16-10"):
        plot_columns([_network(), _network("784-16-10")], ["a", "b"], _image(), 3, out)
    assert not out.exists()


def _run(make_run, reg, gamma2):
    path = make_run(12)
    config = json.loads((path / "config.json").read_text())
    (path / "config.json").write_text(json.dumps(dict(config, reg=reg, gamma2=gamma2)))
    return path


def test_raster_cli_several_runs_one_column_each(untrained_run, tmp_path, capsys):
    runs = [_run(untrained_run, "none", 0.0), _run(untrained_run, "m-ssr", 0.01)]
    out = tmp_path / "fig2.png"
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["raster", *map(str, runs), "--sample", "3", "--traces", "4", "--out",
                  str(out)])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"wrote {out}\n"
    assert out.stat().st_size > 20_000


@pytest.mark.parametrize("extra, message", [
    ([], "ttfs: error: --out is required with several run directories\n"),
    (["--out", "OUT", "--traces", "0"], "ttfs: error: --traces must be at least 1, not 0\n"),
])
def test_raster_cli_usage_errors(untrained_run, tmp_path, capsys, extra, message):
    run = untrained_run(12)
    args = [part.replace("OUT", str(tmp_path / "f.png")) for part in extra]
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["raster", str(run), str(run), *args])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == message
    assert not (tmp_path / "f.png").exists()


def test_raster_cli_bad_run_folder(untrained_run, tmp_path, capsys):
    run = untrained_run(12)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["raster", str(run), str(tmp_path), "--out", str(tmp_path / "f.png")])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == (f"ttfs: error: {tmp_path / 'config.json'} not found: "
                                       "not a training run directory\n")
    assert not (tmp_path / "f.png").exists()


def test_raster_cli_runs_of_two_data_sets(untrained_run, tmp_path, capsys):
    first, second = untrained_run(12), untrained_run(12)
    config = json.loads((second / "config.json").read_text())
    (second / "config.json").write_text(json.dumps(dict(config, dataset="fashion-mnist")))
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["raster", str(first), str(second), "--out", str(tmp_path / "f.png")])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == ("ttfs: error: the runs must share one data set, not "
                                       "fashion-mnist, mnist\n")
