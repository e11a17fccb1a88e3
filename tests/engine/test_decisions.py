"""An edited decision table is deployed with every process that calls it."""

from __future__ import annotations

import pytest

from engine.bpmn.decisions import Decisions
from engine.cases.govflow import Govflow
from engine.errors import InvalidInput

# HEALTH-BIRTH is conditional and provided by dept_health in the demo catalog; 公安厅's
# scenario JL26-001 allows 姓名 and 出生日期 (share_scenarios.dmn).
REQUEST = {"requester_dept": "dept_public_security", "requester_name": "公安厅",
           "dataset_id": "HEALTH-BIRTH", "purpose": "落户", "data_items": ["姓名"],
           "scenario": "新生儿落户", "scope": "公安厅", "term": "2027-12-31",
           "scenario_id": "JL26-001"}


def test_an_edited_table_is_deployed_and_decides_new_cases(gf: Govflow) -> None:
    decisions = Decisions(gf)
    listed = {d.id: d.callers for d in decisions.all()}
    assert listed["share_scenarios"] == ("share_request",)
    table = decisions.xml("share_scenarios")
    assert "新生儿出生一件事".encode() in table
    old = gf.start_case("share_request", REQUEST, user="pete")
    edited = table.replace("新生儿出生一件事".encode(), "出生一件事（新）".encode())
    [done] = decisions.deploy("share_scenarios", edited, "root")
    assert (done.process_id, done.version, done.created) == ("share_request", 2, True)
    assert "出生一件事（新）".encode() in decisions.xml("share_scenarios")
    new = gf.start_case("share_request", REQUEST, user="pete")
    assert (old.data["scenario_title"], new.data["scenario_title"]) == (
        "新生儿出生一件事", "出生一件事（新）")


@pytest.mark.parametrize("body, message", [
    (b"<not xml", "well-formed"), (b"", "1 byte"),
    (b'<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d"/>',
     "does not define decision"),
])
def test_a_bad_table_is_refused_and_nothing_changes(gf: Govflow, body, message) -> None:
    with pytest.raises(InvalidInput, match=message):
        Decisions(gf).deploy("share_scenarios", body, "root")
    with gf.db.read() as conn:
        assert gf.definitions.latest(conn, "share_request").version == 1
