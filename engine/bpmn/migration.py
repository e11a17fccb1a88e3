"""Move running cases from one version of a process to a newer one, where it is safe.

SpiffWorkflow aligns the old and new specs by element id (`diff_workflow`) and moves a
workflow onto the new spec (`migrate_workflow`), resetting its waiting tasks so they
are entered again under the new definition. govflow allows it only when every task of
the case, done or waiting, still has its element in the new version (otherwise the
saved history could not be read back), and only for cases running without incident or
hold. A dry run (`plan`) lists what would change and what blocks each case.

Migrating is one step per case: the waiting tasks are re-entered, so working-day due
dates and timers are computed again on the new definition; claims are kept; the move
is audited (`case_migrated`) and saved with the usual revision check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.util.diff import SpecDiff, diff_workflow, migrate_workflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import delete, select, update

from engine.cases.govflow import Govflow
from engine.errors import Conflict, InvalidInput
from engine.people.access import case_number
from engine.store.audit import PendingEvent
from engine.store.schema import cases, human_tasks, reminders, task_candidates

ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED
# Spec attributes that only say where an element sits or what SpiffWorkflow derived.
_NOISE = {"inputs", "outputs", "bpmn_name", "lane", "documentation", "data_input_associations",
          "data_output_associations", "io_specification", "description"}


@dataclass(frozen=True)
class CasePlan:
    case_id: int
    number: str
    changes: tuple[str, ...]
    blockers: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.blockers


class Migrations:
    def __init__(self, gf: Govflow) -> None:
        self.gf = gf

    def plan(self, from_id: int, to_id: int) -> list[CasePlan]:
        """What migrating every case of version `from_id` to `to_id` would do (changes nothing)."""
        with self.gf.db.read() as conn:
            old, new = self._versions(conn, from_id, to_id)
            rows = conn.execute(select(cases.c.id, cases.c.status).where(
                cases.c.version_id == from_id, cases.c.status.in_(
                    ("running", "error", "suspended"))).order_by(cases.c.id)).all()
            found = []
            for case_id, status in rows:
                workflow, _ = self.gf.store.read_workflow(conn, case_id, self.gf.definitions)
                found.append(self._plan(case_id, status, workflow, new))
        return found

    def migrate(self, from_id: int, to_id: int, admin: str, reason: str) -> list[CasePlan]:
        """Migrate every case the plan allows; return the plan of each case considered."""
        if not (reason or "").strip():
            raise InvalidInput("give a reason; it is kept in each case's history",
                               reason="no_reason")
        plans = self.plan(from_id, to_id)
        for plan in plans:
            if plan.ok:
                self._migrate_case(plan.case_id, from_id, to_id, admin, reason.strip())
        return plans

    # -- one case ------------------------------------------------------------------------
    def _plan(self, case_id: int, status: str, workflow: Any, new: Any) -> CasePlan:
        blockers = []
        if status != "running":
            blockers.append(f"the case is {status}; resolve that first")
        top, subs = diff_workflow(self.gf.store.codec.registry, workflow, new.spec,
                                  new.subprocess_specs)
        for task in top.removed:
            blockers.append(f"{_label(task)} does not exist in the new version")
        for sub_id, sub in subs.items():
            if sub is None:
                blockers.append(f"subprocess {sub_id} does not exist in the new version")
            else:
                blockers += [f"{_label(t)} does not exist in the new version" for t in sub.removed]
        changed = SpecDiff(self.gf.store.codec.registry, workflow.spec, new.spec).changed
        changes = []
        for task in top.changed:
            what = _readable(set(changed.get(task.task_spec, ())) - _NOISE, task.task_spec,
                             new.spec.task_specs.get(task.task_spec.name))
            if task.state & ACTIVE and what:
                changes.append(f"{_label(task)} ({TaskState.get_name(task.state).lower()}): "
                               f"{', '.join(what)} changed; entered again on the new version")
        return CasePlan(case_id, case_number(case_id), tuple(changes), tuple(blockers))

    def _migrate_case(self, case_id: int, from_id: int, to_id: int, admin: str,
                      reason: str) -> None:
        with self.gf.db.write() as conn:
            case = self.gf.store.load(conn, case_id, self.gf.definitions)
            if case.deployed.id != from_id or case.status != "running":
                raise Conflict(f"case {case_number(case_id)} changed meanwhile; plan again")
            new = self.gf.definitions.get(conn, to_id)
            claims = dict(conn.execute(select(human_tasks.c.id, human_tasks.c.assignee).where(
                human_tasks.c.case_id == case_id, human_tasks.c.state == "open")).all())
            # The waiting tasks are entered again: their rows are written anew from the new
            # definition (groups, form, due date), then the claims are put back.
            conn.execute(delete(task_candidates).where(task_candidates.c.task_id.in_(claims)))
            # their reminder ladders follow the new due dates
            conn.execute(delete(reminders).where(reminders.c.task_id.in_(claims)))
            conn.execute(delete(human_tasks).where(human_tasks.c.id.in_(claims)))
            case.open_tasks = set()
            case.events.append(PendingEvent(self.gf.now(), admin, "case_migrated", details={
                "reason": reason, "from": case.deployed.version, "to": new.version}))

            def move(workflow: Any) -> None:
                top, subs = diff_workflow(self.gf.store.codec.registry, workflow, new.spec,
                                          new.subprocess_specs)
                migrate_workflow(top, workflow, new.spec)
                for sub_id, sub in subs.items():
                    sp = workflow.subprocesses[sub_id]
                    migrate_workflow(sub, sp, new.subprocess_specs[sp.spec.name])

            case.deployed = new
            self.gf._step(conn, case, move, actor=admin)
            conn.execute(update(cases).where(cases.c.id == case_id).values(version_id=to_id))
            for task_id, assignee in claims.items():
                if assignee:
                    conn.execute(update(human_tasks).where(
                        human_tasks.c.id == task_id, human_tasks.c.state == "open")
                        .values(assignee=assignee))
        self.gf.store.forget(case_id)

    def _versions(self, conn: Any, from_id: int, to_id: int) -> tuple[Any, Any]:
        old, new = self.gf.definitions.get(conn, from_id), self.gf.definitions.get(conn, to_id)
        if old.process_id != new.process_id or old.version >= new.version:
            raise InvalidInput("migrate to a newer version of the same process",
                               reason="not_newer")
        return old, new


def _label(task: Any) -> str:
    spec = task.task_spec
    return f"“{spec.bpmn_name}”" if getattr(spec, "bpmn_name", None) else f"element {spec.name}"


def _readable(changed: set[str], old: Any, new: Any) -> list[str]:
    """Name govflow's own properties (limit, groups, form...) instead of "extensions"."""
    if "extensions" in changed and new is not None:
        before = (old.extensions or {}).get("properties", {})
        after = (new.extensions or {}).get("properties", {})
        changed = (changed - {"extensions"}) | {
            key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}
    return sorted(changed)
