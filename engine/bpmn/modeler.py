"""The modeler's use cases: open a version, keep a draft, check it, deploy it.

A draft is one per process and lives until it is deployed. Saving or uploading a draft
returns the lint's problems (engine/bpmn/lint.py); deploying refuses a draft that has any,
so nothing invalid reaches `Govflow.deploy`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, insert, select

from engine.bpmn.lint import MAX_MODEL_BYTES, ModelRefused, Problem, lint
from engine.bpmn.parse import iter_process_ids, with_prefixed_decisions
from engine.cases.govflow import Govflow
from engine.cases.models import DeployResult
from engine.errors import BpmnValidationError, InvalidInput, NotFound
from engine.store.schema import model_drafts


@dataclass(frozen=True)
class Draft:
    process_id: str
    file_name: str
    xml: bytes
    saved_at: dt.datetime
    saved_by: str


class Modeler:
    def __init__(self, gf: Govflow) -> None:
        self.gf = gf

    def xml(self, process_id: str, version_id: int | None = None) -> bytes:
        """A version's XML (the newest by default), which must belong to `process_id`, as the
        modeler can write it back."""
        with self.gf.db.read() as conn:
            deployed = (self.gf.definitions.get(conn, version_id) if version_id
                        else self.gf.definitions.latest(conn, process_id))
            if deployed.process_id != process_id:
                raise NotFound(f"version {version_id} is not a version of {process_id}")
            return with_prefixed_decisions(self.gf.definitions.xml(conn, deployed.id))

    def draft(self, process_id: str) -> Draft | None:
        with self.gf.db.read() as conn:
            row = conn.execute(select(model_drafts).where(
                model_drafts.c.process_id == process_id)).first()
        return None if row is None else Draft(row.process_id, row.file_name, bytes(row.xml),
                                              row.saved_at, row.saved_by)

    def save_draft(self, xml: bytes, admin: str,
                   expected: str | None = None) -> tuple[str, list[Problem]]:
        """Keep `xml` as its process's draft and return the process id and its problems.

        With `expected`, the model must be that process (the modeler saves what it opened)."""
        if not xml or len(xml) > MAX_MODEL_BYTES:
            raise InvalidInput(f"a model is 1 byte to {MAX_MODEL_BYTES // 1024} KB", reason="size",
                               kb=MAX_MODEL_BYTES // 1024)
        ids = iter_process_ids(xml)
        if len(ids) != 1:
            raise BpmnValidationError("a model holds exactly one executable process")
        process_id = ids[0]
        if expected and process_id != expected:
            raise InvalidInput(f"this model is process {process_id!r}, not {expected!r}",
                               reason="wrong_process", process=process_id, expected=expected)
        problems = lint(xml, f"{process_id}.bpmn", self.gf)
        with self.gf.db.write() as conn:
            conn.execute(delete(model_drafts).where(model_drafts.c.process_id == process_id))
            conn.execute(insert(model_drafts).values(
                process_id=process_id, file_name=f"{process_id}.bpmn", xml=xml,
                saved_at=self.gf.now(), saved_by=admin))
        return process_id, problems

    def deploy_draft(self, process_id: str, admin: str) -> DeployResult:
        draft = self.draft(process_id)
        if draft is None:
            raise NotFound(f"there is no draft of {process_id}")
        problems = lint(draft.xml, draft.file_name, self.gf)
        if problems:
            raise ModelRefused(problems)
        done = self.gf.deploy(draft.xml, draft.file_name, by=admin)
        with self.gf.db.write() as conn:
            conn.execute(delete(model_drafts).where(model_drafts.c.process_id == process_id))
        return done
