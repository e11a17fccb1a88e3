"""Demo data for `govflow init --demo`: a group per role and department, a user per role.

Passwords are printed by the CLI; they are for trying govflow out, never for production.
The demo resource catalog (demo_catalog.json) has a dataset of every share and open
class. A few cases are started so that the inbox is not empty on first sign-in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.cases.govflow import Govflow
from engine.errors import EngineError
from engine.people import directory
from engine.rules import resources

CATALOG = Path(__file__).resolve().parent / "demo_catalog.json"
# Titles carry the Chinese name first and may end with an English one; pages show the
# reader's half.
GROUPS: dict[str, tuple[str, str]] = {
    "data_authority": ("数据主管部门（大数据中心） Data authority (big data centre)", "role"),
    "legal_review": ("合法性审查 Legality review", "role"),
    "expert_panel": ("专家论证组 Expert panel", "role"),
    "confidentiality": ("保密审查 Confidentiality review", "role"),
    "competent_authority": ("有权国家机关（商业秘密和个人隐私审查） Competent authority (trade secrets and privacy)", "role"),
    "hearing": ("听证与征求意见 Hearings and consultation", "role"),
    "administrators": ("系统管理员 Administrators", "role"),
    "dept_health": ("卫生健康委 Health Commission", "department"),
    "dept_civil": ("民政厅 Civil Affairs Department", "department"),
    "dept_public_security": ("公安厅 Public Security Department", "department"),
    "dept_natural_resources": ("自然资源厅 Natural Resources Department", "department"),
}

# username, display name, groups, role description
USERS: list[tuple[str, str, list[str], str]] = [
    ("dora", "杜数据", ["data_authority"], "data authority reviewer (数据主管部门)"),
    ("alice", "李卫健", ["dept_health"], "provider department reviewer, health (卫生健康委)"),
    ("amy", "王卫健", ["dept_health"], "provider department colleague, health (卫生健康委)"),
    ("carl", "陈民政", ["dept_civil"], "requesting department, civil affairs (民政厅)"),
    ("lena", "林法审", ["legal_review"], "legality review (合法性审查)"),
    ("evan", "赵专家", ["expert_panel"], "expert panel (专家论证)"),
    ("sara", "孙保密", ["confidentiality"], "confidentiality review (保密审查)"),
    ("cora", "曹审查", ["competent_authority"], "competent authority: privacy, trade secrets"),
    ("hugo", "胡听证", ["hearing"], "hearing and consultation (听证)"),
    ("pete", "彭公安", ["dept_public_security"],
     "requesting department, public security: approved scenario JL26-001 (公安厅)"),
    ("rita", "任资源", ["dept_natural_resources"],
     "responsible department for transferred objections (责任部门, 自然资源厅)"),
    ("root", "系统管理员", ["administrators"], "administrator (系统管理员)"),
    ("hank", "黄主任", ["dept_health"], "supervisor of the health department (科室负责人)"),
    ("mona", "孟主任", ["dept_civil"], "supervisor of the civil affairs department"),
]

# group -> its supervisor; the data authority (dora) oversees every department
SUPERVISORS = {"dept_health": "hank", "dept_civil": "mona"}
# demo e-mail addresses: with no GOVFLOW_SMTP_URL the mail goes to instance/notify.log
EMAILS = {"alice": ("alice@health.example.gov.cn", "zh"),
          "hank": ("hank@health.example.gov.cn", "zh")}

DEMO_CASES: list[tuple[str, str | None, dict[str, Any]]] = [
    ("share_request", "carl", {
        "requester_dept": "dept_civil", "requester_name": "民政厅社会救助处",
        "dataset_id": "HEALTH-BIRTH", "purpose": "核对困难家庭新生儿信息，办理社会救助",
        "data_items": ["姓名", "出生日期"]}),
    ("share_request", "carl", {
        "requester_dept": "dept_civil", "requester_name": "民政厅婚姻登记处",
        "dataset_id": "HEALTH-DEATH", "purpose": "婚姻登记时核验当事人状况",
        "data_items": ["姓名", "死亡日期"]}),
    ("share_request", "carl", {
        "requester_dept": "dept_civil", "requester_name": "民政厅社会救助处",
        "dataset_id": "HEALTH-RECORDS", "purpose": "核实因病致贫家庭的医疗支出",
        "data_items": ["姓名", "诊断结果"]}),
    ("share_request", "carl", {
        "requester_dept": "dept_civil", "requester_name": "民政厅养老服务处",
        "dataset": "老年人健康体检结果", "purpose": "评估特困老人照护等级",
        "data_items": ["姓名", "体检日期", "自理能力评估"]}),
    ("objection", None, {
        "requester_name": "张三", "contact": "13800000000", "provider_dept": "dept_health",
        "dataset": "出生医学证明", "data_kind": "collected", "grounds": ["wrong"],
        "details": "出生日期登记为 1990-01-02，应为 1990-01-20。", "evidence": ["户口簿复印件"]}),
    ("open_data_application", None, {
        "requester_name": "某某科技有限公司", "applicant_type": "organisation",
        "contact": "contact@example.com", "provider_dept": "dept_natural_resources",
        "dataset": "土地利用现状数据", "purpose": "城市规划研究", "term": "2027-12-31",
        "security_measures": "专人管理，数据不出内网"}),
]


def password_for(username: str) -> str:
    return f"{username}-demo-2026"


def seed_demo(gf: Govflow, *, cases: bool = True) -> list[tuple[str, str, str]]:
    """Create the demo groups and users (idempotent); return (user, password, role) rows."""
    gf.init_schema()
    seed_directory(gf, passwords=True)
    seed_catalog(gf)
    if cases:
        _demo_cases(gf)
    return [(u, password_for(u), role) for u, _, _, role in USERS]


def seed_directory(gf: Govflow, *, passwords: bool) -> None:
    """The demo groups and users; without passwords (fast) for tests that sign in directly."""
    with gf.db.write() as conn:
        for name, (title, kind) in {**GROUPS, **_groups_named_in_models(gf)}.items():
            directory.add_group(conn, name, title, kind)
        for username, display, groups, _ in USERS:
            directory.add_user(conn, username, display, groups_=groups, now=gf.now(),
                               password=password_for(username) if passwords else None)
    for group, user in SUPERVISORS.items():
        gf.set_supervisor(group, user)
    for user, (email, language) in EMAILS.items():
        gf.set_contact(user, email, language)


def seed_catalog(gf: Govflow) -> None:
    """The demo resource catalog: every share and open class, for each demo department."""
    with gf.db.write() as conn:
        resources.save(conn, resources.read_file(CATALOG), by="govflow init --demo",
                       now=gf.now(), reason="demo catalog")


def _groups_named_in_models(gf: Govflow) -> dict[str, tuple[str, str]]:
    """Groups the deployed models name literally, so every task has someone to do it."""
    found: dict[str, tuple[str, str]] = {}
    with gf.db.read() as conn:
        for row in gf.definitions.list_versions(conn):
            spec = gf.definitions.get(conn, row["id"]).spec
            for task_spec in spec.task_specs.values():
                props = (getattr(task_spec, "extensions", None) or {}).get("properties", {})
                for name in (props.get("candidateGroups") or "").split(","):
                    if name.strip() and name.strip() not in GROUPS:
                        found[name.strip()] = (name.strip(), "role")
    return found


def _demo_cases(gf: Govflow) -> None:
    """Start a few cases once, so every demo role finds work; skip a model not deployed."""
    if gf.inbox("alice").total or gf.inbox("dora").total:
        return
    for process_id, user, data in DEMO_CASES:
        try:
            gf.start_case(process_id, dict(data), user=user)
        except EngineError:  # the model is not deployed here, or its form has changed
            continue
