import json

import pytest

from hardware import energy
from hardware.energy import Cost, CostTable, CostTableError


def table_doc(**overrides):
    doc = json.loads(energy.DEFAULT_COSTS.read_text())
    for key, entry in overrides.items():
        if entry is None:
            del doc["costs"][key]
        else:
            doc["costs"][key] = entry
    return doc


def test_default_costs_are_horowitz_45nm_with_sources():
    costs = energy.load_costs()
    assert costs["add_8b_J"] == pytest.approx(0.03e-12)
    assert costs["add_32b_J"] == pytest.approx(0.1e-12)
    assert costs["sram_read_64b_8KB_J"] == pytest.approx(10e-12)
    assert costs["sram_read_64b_32KB_J"] == pytest.approx(20e-12)
    assert costs["sram_read_64b_1MB_J"] == pytest.approx(100e-12)
    for key, cost in costs.costs.items():
        assert cost.node_nm == 45
        assert cost.source.strip()
    for key in ("add_8b_J", "add_32b_J", "sram_read_64b_8KB_J"):
        assert "Horowitz" in costs.costs[key].source and "ISSCC 2014" in costs.costs[key].source


def test_cost_table_rejects_unknown_operation():
    entry = {"value": 1e-12, "node_nm": 45, "source": "somewhere"}
    with pytest.raises(CostTableError, match=r"^t: unknown operation 'mult_8b_J': a cost table "
                                             r"holds exactly add_8b_J, "):
        CostTable.from_json(table_doc(mult_8b_J=entry), origin="t")


def test_cost_table_rejects_negative_energy():
    entry = {"value": -1e-12, "node_nm": 45, "source": "somewhere"}
    with pytest.raises(CostTableError,
                       match=r"^t: add_8b_J: value must be non-negative, not -1e-12$"):
        CostTable.from_json(table_doc(add_8b_J=entry), origin="t")


@pytest.mark.parametrize("source", [None, "", "   "])
def test_cost_table_rejects_missing_source(source):
    entry = {"value": 1e-12, "node_nm": 45}
    if source is not None:
        entry["source"] = source
    with pytest.raises(CostTableError, match=r"^t: sram_read_64b_8KB_J: missing source"):
        CostTable.from_json(table_doc(sram_read_64b_8KB_J=entry), origin="t")


def test_cost_table_rejects_missing_operation():
    with pytest.raises(CostTableError, match=r"^t: missing operation 'clock_Hz'$"):
        CostTable.from_json(table_doc(clock_Hz=None), origin="t")


@pytest.mark.parametrize("value, message", [
    ("1e-12", "value must be a finite number, not '1e-12'"),
    (float("nan"), "value must be a finite number, not nan"),
    (True, "value must be a finite number, not True"),
])
def test_cost_table_rejects_non_numbers(value, message):
    with pytest.raises(CostTableError, match=message):
        CostTable.from_json(table_doc(add_32b_J={"value": value, "node_nm": 45, "source": "s"}))


def test_cost_table_rejects_zero_clock_and_bad_node():
    with pytest.raises(CostTableError, match=r"clock_Hz: value must be positive, not 0"):
        CostTable.from_json(table_doc(clock_Hz={"value": 0, "node_nm": 45, "source": "s"}))
    with pytest.raises(CostTableError, match=r"add_8b_J: node_nm must be a positive number, "
                                             r"not None"):
        CostTable.from_json(table_doc(add_8b_J={"value": 1.0, "source": "s"}))


def test_cost_table_rejects_other_schema_version():
    doc = table_doc()
    doc["schema_version"] = 7
    with pytest.raises(CostTableError, match=r"^t: schema_version 7, this version reads 1$"):
        CostTable.from_json(doc, origin="t")


def test_load_costs_names_the_file(tmp_path):
    bad = tmp_path / "costs.json"
    bad.write_text("{not json")
    with pytest.raises(CostTableError, match=f"^{bad}: not a readable JSON cost table"):
        energy.load_costs(bad)
    with pytest.raises(CostTableError, match=r"cost table not found"):
        energy.load_costs(tmp_path / "absent.json")


def test_cost_table_round_trips_through_json(tmp_path):
    costs = energy.load_costs()
    path = tmp_path / "costs.json"
    path.write_text(json.dumps(costs.to_json()))
    again = energy.load_costs(path)
    assert again == costs
    assert isinstance(again.costs["add_8b_J"], Cost)
