"""The resource catalog: checked imports, all or nothing, and a version for every change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.cases.govflow import Govflow
from engine.errors import InvalidCatalog, NotAllowed
from engine.store.schema import catalog_datasets, catalog_versions

HEADER = "id,name,provider_dept,share_class,open_class,data_items,restriction_basis\n"
GOOD_ROW = ("CIVIL-MARRIAGE,婚姻登记信息,dept_civil,有条件共享,不予开放,姓名|身份证号|登记日期,"
            "《婚姻登记条例》第十条：婚姻登记档案限于履职查询\n")


def snapshot(gf: Govflow) -> tuple[int, int, list[dict]]:
    with gf.db.read() as conn:
        return (conn.execute(select(func.count()).select_from(catalog_versions)).scalar_one(),
                conn.execute(select(func.count()).select_from(catalog_datasets)).scalar_one(),
                [d.record() for d in gf.catalog()])


def test_S1_a_malformed_csv_is_refused_naming_row_and_field_and_changes_nothing(
        gf: Govflow, tmp_path: Path) -> None:
    before = snapshot(gf)
    bad = tmp_path / "catalog.csv"
    bad_row = "CIVIL-BAD,坏数据,dept_civil,shared,不予开放,姓名,依据充分的条款\n"
    bad.write_text(HEADER + GOOD_ROW + bad_row, encoding="utf-8")
    with pytest.raises(InvalidCatalog) as refused:
        gf.import_catalog(bad, by="dora")
    assert refused.value.message.startswith("row 3, field share_class:")
    assert set(refused.value.errors) == {"row 3.share_class"}
    assert snapshot(gf) == before             # the good first row was not saved either


def test_S2_a_json_catalog_naming_a_role_group_or_no_items_is_refused(gf, tmp_path) -> None:
    before = snapshot(gf)
    bad = tmp_path / "catalog.json"
    bad.write_text(json.dumps([
        {"id": "A-1", "name": "甲数据", "provider_dept": "dept_civil",
         "share_class": "unconditional", "open_class": "open_unconditional", "data_items": ["x"]},
        {"id": "A-2", "name": "乙数据", "provider_dept": "administrators",
         "share_class": "unconditional", "open_class": "open_unconditional", "data_items": []},
    ], ensure_ascii=False), encoding="utf-8")
    with pytest.raises(InvalidCatalog) as refused:
        gf.import_catalog(bad, by="dora")
    assert set(refused.value.errors) == {"row 2.provider_dept", "row 2.data_items"}
    assert "row 2" in refused.value.message
    assert snapshot(gf) == before


def test_S7_a_restricted_dataset_must_name_the_legal_basis_of_its_restriction(gf) -> None:
    record = {"id": "HEALTH-X", "name": "某数据", "provider_dept": "dept_health",
              "share_class": "not_shared", "open_class": "not_open", "data_items": ["姓名"],
              "restriction_basis": " 。。 "}
    with pytest.raises(InvalidCatalog) as refused:
        gf.save_datasets([("row 1", record)], by="dora")
    assert set(refused.value.errors) == {"row 1.restriction_basis"}


def test_S8_every_change_is_a_new_version_recording_who_what_and_why(gf, tmp_path) -> None:
    versions, count, _ = snapshot(gf)
    good = tmp_path / "more.csv"
    good.write_text(HEADER + GOOD_ROW, encoding="utf-8")
    added = gf.import_catalog(good, by="dora", reason="新增婚姻登记信息")
    assert added.version == versions + 1 and added.created_by == "dora"
    assert added.changes == [{"id": "CIVIL-MARRIAGE", "before": None, "after": {
        "id": "CIVIL-MARRIAGE", "name": "婚姻登记信息", "provider_dept": "dept_civil",
        "share_class": "conditional", "open_class": "not_open",
        "data_items": ["姓名", "身份证号", "登记日期"],
        "restriction_basis": "《婚姻登记条例》第十条：婚姻登记档案限于履职查询"}}]
    assert gf.import_catalog(good, by="dora") is None            # unchanged: no new version
    changed = gf.save_datasets([("edit", {**gf.dataset("CIVIL-MARRIAGE").record(),
                                          "share_class": "unconditional"})],
                               by="dora", reason="经评估改为无条件共享")
    assert changed.changes[0]["before"]["share_class"] == "conditional"
    assert gf.dataset("CIVIL-MARRIAGE").version == changed.version
    assert [v.version for v in gf.catalog_versions("CIVIL-MARRIAGE")] == [
        changed.version, added.version]
    assert snapshot(gf)[:2] == (versions + 2, count + 1)


def test_S8_only_the_data_authority_changes_the_catalog(gf, tmp_path) -> None:
    before = snapshot(gf)
    good = tmp_path / "more.csv"
    good.write_text(HEADER + GOOD_ROW, encoding="utf-8")
    for user in ("alice", "root", "nobody"):
        with pytest.raises(NotAllowed):
            gf.import_catalog(good, by=user)
    assert snapshot(gf) == before
