import json

import pytest

from energy_fixtures import tiny_run, write_fake_dataset
from flow import cli, energy_cmd, report

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """Reports of two tiny runs: the second with fewer hidden neurons, hence fewer events."""
    root = tmp_path_factory.mktemp("data")
    write_fake_dataset(root)
    base = tmp_path_factory.mktemp("runs")
    docs = []
    for name, hidden in (("a", 12), ("b", 6)):
        tiny_run(base / name, hidden=hidden)
        doc = energy_cmd.evaluate(base / name, samples=30, data_dir=root)
        report.write_report(doc, base / name)
        docs.append(doc)
    return base, docs


def test_joules_picks_an_si_prefix():
    assert report.joules(12.34e-9) == "12.34 nJ"
    assert report.joules(2.5e-12) == "2.5 pJ"
    assert report.joules(3e-14) == "30 fJ"
    assert report.joules(0) == "0 J"
    assert report.joules(None) == "n/a"


def test_write_report_writes_markdown_and_png_plots(reports):
    base, docs = reports
    text = (base / "a" / "report.md").read_text()
    assert text.startswith(f"# Energy report: {base / 'a'}\n")
    assert f"| digital core (horowitz-isscc2014-45nm) | {report.joules(docs[0]['digital']['energy_J']['mean'])} |" in text
    assert "| analog neuron (SPICE) | missing: no analog_energy.json" in text
    assert "![energy per layer](energy_breakdown.png)" in text
    assert "**missing**" in text
    for name in ("energy_breakdown.png", "energy_vs_spikes.png"):
        assert (base / "a" / name).read_bytes().startswith(PNG)
    assert json.loads((base / "a" / "report.json").read_text()) == json.loads(json.dumps(docs[0]))


def test_comparison_ratios_are_to_the_first_run(reports):
    base, docs = reports
    comp = report.comparison(docs)
    first, second = comp["runs"]
    assert first["digital_ratio"] == 1.0 and first["spike_ratio"] == 1.0
    assert second["digital_ratio"] == pytest.approx(
        docs[1]["digital"]["energy_J"]["mean"] / docs[0]["digital"]["energy_J"]["mean"])
    assert second["digital_ratio"] < 1
    assert second["analog_J"] is None and second["analog_ratio"] is None


def test_compare_command_writes_table_and_plot(reports, tmp_path, capsys):
    base, docs = reports
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["compare", str(base / "a"), str(base / "b"), "--out", str(tmp_path / "cmp")])
    out, err = capsys.readouterr()
    assert exit_info.value.code == 0, err
    assert f"# Comparison against {base / 'a'}" in out
    assert (tmp_path / "cmp" / "compare.png").read_bytes().startswith(PNG)
    comp = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    assert [r["run"] for r in comp["runs"]] == [str(base / "a"), str(base / "b")]
    assert "| ratio |" in (tmp_path / "cmp" / "compare.md").read_text()


def test_compare_without_report_is_one_line_error(reports, tmp_path, capsys):
    base, docs = reports
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["compare", str(base / "a"), str(tmp_path)])
    out, err = capsys.readouterr()
    assert exit_info.value.code == 2
    assert err == f"ttfs: error: {tmp_path / 'report.json'} not found: run `ttfs energy {tmp_path}` first\n"


def test_comparison_has_per_layer_ratios(reports):
    base, docs = reports
    comp = report.comparison(docs)
    first, second = comp["runs"]
    assert [l["layer"] for l in second["layers"]] == [1, 2]
    assert first["layers"][0]["digital_J_ratio"] == 1.0
    layer_2 = [[row["total_J"] for row in doc["digital"]["per_layer"] if row["layer"] == 2][0]
               for doc in docs]
    assert second["layers"][1]["digital_J_ratio"] == pytest.approx(layer_2[1] / layer_2[0])
    assert second["layers"][1]["input_spikes"] == docs[1]["counts"][1]["spikes"]
    assert second["layers"][0]["analog_J"] is None
    assert "| layer | input spikes | digital | analog |" in report.comparison_markdown(comp)


def test_compare_prints_the_analog_energy_and_says_when_a_report_lacks_it(reports, tmp_path,
                                                                          capsys):
    import shutil

    from hardware.spice.energy_model import AnalogEnergies, save

    base, _ = reports
    run = tmp_path / "a"
    shutil.copytree(base / "a", run)
    save(AnalogEnergies((0.0, 3e-15, 1.8), (4e-14, 0.0, 0.0), 1.2e-12, 5e-15, 3.7e-6, 3e-13,
                        2.5e-13, 3.2e-16, {"name": "test", "dt_s": 1e-7}, {}), run)
    args = ["compare", str(run), str(base / "b"), "--out", str(tmp_path / "cmp")]
    with pytest.raises(SystemExit) as exit_info:
        cli.main(args)
    out = capsys.readouterr().out
    assert exit_info.value.code == 0
    assert (f"{run}: analog_energy.json is newer than report.json: rerun `ttfs energy {run}` "
            f"to price the analog neuron with it") in out
    assert report.ANALOG_SCOPE not in out
    root = next(base.parent.glob("data*"))  # the fixture's fake data set
    report.write_report(energy_cmd.evaluate(run, samples=30, data_dir=root), run)
    with pytest.raises(SystemExit):
        cli.main(args)
    out = capsys.readouterr().out
    comp = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    analog = json.loads((run / "report.json").read_text())["analog"]["energy_J"]["mean"]
    assert comp["runs"][0]["analog_J"] == analog > 0 and comp["runs"][1]["analog_J"] is None
    assert f"| {report.joules(analog)} | 1.000 |" in out
    assert report.ANALOG_SCOPE in out and "newer than report.json" not in out
