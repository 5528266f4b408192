import json

import pytest

from hardware import costs
from hardware.costs import Cost, CostTable, CostTableError

PJ = 1e-12


def table_doc(**overrides):
    doc = json.loads(costs.DEFAULT_COSTS.read_text())
    for key, entry in overrides.items():
        if entry is None:
            del doc["costs"][key]
        else:
            doc["costs"][key] = entry
    return doc


def test_default_costs_are_horowitz_45nm_with_cacti_leakage_ranges():
    table = costs.load_costs()
    assert table["add_8b_J"] == pytest.approx(0.03 * PJ)
    assert table["add_32b_J"] == pytest.approx(0.1 * PJ)
    assert table["sram_read_64b_8KB_J"] == pytest.approx(10 * PJ)
    assert table["sram_read_64b_32KB_J"] == pytest.approx(20 * PJ)
    assert table["sram_read_64b_1MB_J"] == pytest.approx(100 * PJ)
    assert table["sram_write_per_read"] == 1.0
    for key, cost in table.costs.items():
        assert cost.node_nm == 45 and cost.source.strip()
    for key in ("add_8b_J", "sram_read_64b_8KB_J", "sram_read_64b_1MB_J"):
        assert "Horowitz" in table.costs[key].source and "ISSCC 2014" in table.costs[key].source
    for key in ("sram_leakage_per_bit_W", "logic_leakage_per_cell_W"):
        assert "CACTI" in table.costs[key].source
        span = table.range(key)
        assert 0 < span["low"] < span["nominal"] < span["high"]


def test_leakage_entries_follow_the_stated_cacti_derivation():
    # Vdd * (I_off * 4.62 F + I_g_on * 3.31 F), F = 45 nm, device figures of CACTI 7's
    # tech_params/45nm.dat (see the entries' sources).
    def per_cell(vdd, i_off, i_gate):
        return vdd * (i_off * 4.62 * 0.045 + i_gate * 3.31 * 0.045)

    table = costs.load_costs()
    sram, logic = table.range("sram_leakage_per_bit_W"), table.range("logic_leakage_per_cell_W")
    assert sram["low"] == pytest.approx(per_cell(1.1, 1.01e-11, 9.47e-12), rel=1e-3)
    assert sram["nominal"] == pytest.approx(per_cell(1.1, 1.3e-10, 9.47e-12), rel=1e-3)
    assert sram["high"] == pytest.approx(per_cell(1.0, 6.42e-7, 3.59e-8), rel=1e-3)
    assert logic["nominal"] == pytest.approx(per_cell(0.7, 1.27e-8, 9.82e-8), rel=1e-3)
    assert (logic["low"], logic["high"]) == (sram["low"], sram["high"])


def test_sram_fit_is_within_three_percent_of_the_published_points():
    model = costs.load_costs().sram
    assert model.ref_bytes == 8192
    assert model.exponent == pytest.approx(0.4726, abs=1e-4)
    assert [p[0] for p in model.points] == [8 << 10, 32 << 10, 1 << 20]
    errors = [f / e - 1 for _, e, f in model.points]
    assert errors == pytest.approx([0.0160, -0.0219, 0.0063], abs=2e-4)
    assert model.max_error < 0.03
    for capacity, _, fitted in model.points:
        assert model.read_J(capacity, 64) == pytest.approx(fitted)


def test_sram_read_scales_with_word_width_and_capacity():
    model = costs.load_costs().sram
    assert model.read_J(8192, 8) == pytest.approx(model.read_J(8192, 64) / 8)
    assert model.read_J(4 * 8192, 64) / model.read_J(8192, 64) == pytest.approx(
        4 ** model.exponent)
    with pytest.raises(ValueError, match=r"^an SRAM needs a positive capacity and width, not "
                                         r"0 bytes of 8-bit words$"):
        model.read_J(0, 8)


def test_add_energy_is_affine_in_width_through_the_published_adders():
    table = costs.load_costs()
    assert table.add_J(8) == pytest.approx(0.03 * PJ)
    assert table.add_J(32) == pytest.approx(0.1 * PJ)
    assert table.add_J(16) == pytest.approx((0.03 + 8 * 0.07 / 24) * PJ)
    assert table.add_J(40) == pytest.approx((0.1 + 8 * 0.07 / 24) * PJ)


def test_cost_table_refuses_version_1_and_says_what_changed():
    doc = table_doc()
    doc["schema_version"] = 1
    with pytest.raises(CostTableError, match=r"^t: a version-1 cost table; version 2 fits SRAM "
                                             r"energy over capacity .* replaces static_power_W "
                                             r"by sram_leakage_per_bit_W"):
        CostTable.from_json(doc, origin="t")
    doc["schema_version"] = 7
    with pytest.raises(CostTableError, match=r"^t: schema_version 7, this version reads 2$"):
        CostTable.from_json(doc, origin="t")


def test_cost_table_rejects_unknown_and_missing_entries():
    entry = {"value": 1e-12, "node_nm": 45, "source": "somewhere"}
    with pytest.raises(CostTableError, match=r"^t: unknown entry 'static_power_W': a version-2 "
                                             r"cost table holds exactly sram_read_64b_8KB_J, "):
        CostTable.from_json(table_doc(static_power_W=entry), origin="t")
    with pytest.raises(CostTableError, match=r"^t: missing entry 'clock_Hz'$"):
        CostTable.from_json(table_doc(clock_Hz=None), origin="t")


@pytest.mark.parametrize("key, entry, message", [
    ("add_8b_J", {"value": -1e-12, "node_nm": 45, "source": "s"},
     r"add_8b_J: value must be non-negative, not -1e-12$"),
    ("add_32b_J", {"value": "1e-12", "node_nm": 45, "source": "s"},
     r"add_32b_J: value must be a finite number, not '1e-12'$"),
    ("add_32b_J", {"value": float("nan"), "node_nm": 45, "source": "s"},
     r"add_32b_J: value must be a finite number, not nan$"),
    ("clock_Hz", {"value": 0, "node_nm": 45, "source": "s"},
     r"clock_Hz: value must be positive, not 0$"),
    ("sram_read_64b_8KB_J", {"value": 0, "node_nm": 45, "source": "s"},
     r"sram_read_64b_8KB_J: value must be positive, not 0$"),
    ("add_8b_J", {"value": 1e-12, "source": "s"},
     r"add_8b_J: node_nm must be a positive number, not None$"),
    ("add_8b_J", {"value": 1e-12, "node_nm": 45, "source": "  "},
     r"add_8b_J: missing source \(say where the figure comes from\)$"),
    ("sram_leakage_per_bit_W", {"value": 1e-9, "node_nm": 45, "source": "s"},
     r"sram_leakage_per_bit_W: needs low <= value <= high, all non-negative, not low None, "
     r"value 1e-09, high None$"),
    ("logic_leakage_per_cell_W", {"value": 1e-9, "low": 2e-9, "high": 3e-9, "node_nm": 45,
                                  "source": "s"},
     r"logic_leakage_per_cell_W: needs low <= value <= high"),
    ("add_8b_J", {"value": 1e-12, "low": 0, "high": 1, "node_nm": 45, "source": "s"},
     r"add_8b_J: only sram_leakage_per_bit_W and logic_leakage_per_cell_W take low and high$"),
])
def test_cost_table_rejects_bad_entries(key, entry, message):
    with pytest.raises(CostTableError, match="^t: " + message):
        CostTable.from_json(table_doc(**{key: entry}), origin="t")


def test_load_costs_names_the_file(tmp_path):
    bad = tmp_path / "costs.json"
    bad.write_text("{not json")
    with pytest.raises(CostTableError, match=f"^{bad}: not a readable JSON cost table"):
        costs.load_costs(bad)
    with pytest.raises(CostTableError, match=r"cost table not found"):
        costs.load_costs(tmp_path / "absent.json")


def test_cost_table_round_trips_through_json(tmp_path):
    table = costs.load_costs()
    path = tmp_path / "costs.json"
    path.write_text(json.dumps(table.to_json()))
    again = costs.load_costs(path)
    assert again == table
    assert isinstance(again.costs["add_8b_J"], Cost)
    assert again.range("sram_leakage_per_bit_W") == table.range("sram_leakage_per_bit_W")
