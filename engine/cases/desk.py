"""The use cases of the web and the API, each checked against who is asking.

`Desk` wraps a `Govflow`: every read goes through the access rules of `engine.people.access`
(a case or task out of scope is reported as not found) and every action goes to the
engine's own use case, which checks candidacy and claims again. The web's views and
the API's handlers call one method each and render what comes back.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from engine.cases import attachments, catalog, comments, forms, history, inbox, portal
from engine.cases.govflow import Govflow
from engine.cases.models import CaseView, MessageDelivery, TaskView
from engine.errors import EngineError, InvalidTaskData, NotAllowed, ProcessNotFound
from engine.people import access, directory, sessions, tokens
from engine.people.access import Viewer
from engine.rules import resources
from engine.rules.profile import fill_limits
from engine.store.schema import cases, groups, memberships, users
from engine.time.calendar import Deadline
from engine.time.sla import Sla, SlaClock


@dataclass(frozen=True)
class TaskPage:
    task: TaskView
    sla: Sla
    case: CaseView
    number: str
    schema: dict[str, Any] | None
    instructions: str | None
    may_work: bool
    colleagues: tuple[tuple[str, str], ...]
    attachments: tuple[attachments.Attachment, ...]
    comments: tuple[comments.Comment, ...]
    start_schema: dict[str, Any] | None
    prefill: dict[str, Any] | None = None    # what the requester sent, for a returned request
    returned_because: str | None = None     # the reviewer's reason for sending it back


@dataclass(frozen=True)
class CasePage:
    case: CaseView
    number: str
    process_name: str
    slas: dict[str, Sla]
    workable: frozenset[str]
    visible: frozenset[str]
    path: history.CasePath
    attachments: tuple[attachments.Attachment, ...]
    comments: tuple[comments.Comment, ...]
    start_schema: dict[str, Any] | None
    may_coordinate: bool = False   # S6: a refused share request of the viewer's department


@dataclass(frozen=True)
class TaskOperations:
    return_targets: tuple[tuple[str, str], ...]  # (element id, title) of earlier steps
    may_delegate: bool
    delegated_by: str | None
    may_resolve: bool


@dataclass(frozen=True)
class CaseList:
    cases: tuple[CaseView, ...]
    total: int
    page: int
    per_page: int


class Desk:
    def __init__(self, gf: Govflow, files: Path | str,
                 starters: dict[str, tuple[str, ...]] | None = None) -> None:
        self.gf = gf
        self.files = Path(files)
        self.starters = dict(starters or {})
        self._names: dict[tuple[int, str], dict[str, str]] = {}
        self._english: dict[int, dict[str, str]] = {}

    # -- who -----------------------------------------------------------------------------
    def sign_in(self, username: str, password: str) -> Viewer | None:
        with self.gf.db.read() as conn:
            if not directory.check_password(conn, username, password):
                return None
        return self.viewer(username)

    def viewer(self, username: str) -> Viewer | None:
        with self.gf.db.read() as conn:
            name = conn.execute(select(users.c.display_name).where(
                users.c.username == username, users.c.is_active.is_(True))).scalar()
            return None if name is None else access.load_viewer(conn, username, name)

    def open_session(self, username: str, lifetime: dt.timedelta) -> str:
        with self.gf.db.write() as conn:
            return sessions.open_session(conn, username, now=self.gf.now(), lifetime=lifetime)

    def session_viewer(self, session_id: str) -> Viewer | None:
        """The signed-in user of a live session; None once it was closed."""
        with self.gf.db.read() as conn:
            found = sessions.session_user(conn, session_id)
            return None if found is None else access.load_viewer(conn, *found)

    def close_session(self, session_id: str) -> None:
        with self.gf.db.write() as conn:
            sessions.close_session(conn, session_id)

    def language(self, username: str) -> str | None:
        with self.gf.db.read() as conn:
            return sessions.language(conn, username)

    def set_language(self, username: str, lang: str) -> None:
        with self.gf.db.write() as conn:
            sessions.set_language(conn, username, lang)

    def user_names(self) -> dict[str, str]:
        """User name -> display name, to show people by name rather than by login."""
        with self.gf.db.read() as conn:
            return dict(conn.execute(select(users.c.username, users.c.display_name)).all())

    def group_titles(self) -> dict[str, str]:
        with self.gf.db.read() as conn:
            return dict(conn.execute(select(groups.c.name, groups.c.title)).all())

    def group_title(self, name: str) -> str | None:
        """One group's title (the body a result names), or None for no such group."""
        with self.gf.db.read() as conn:
            return directory.group_title(conn, name)

    def departments(self) -> dict[str, str]:
        """Department groups (name -> title), for choosing one on a form."""
        with self.gf.db.read() as conn:
            return dict(conn.execute(select(groups.c.name, groups.c.title)
                                     .where(groups.c.kind == "department")
                                     .order_by(groups.c.name)).all())

    def department_choices(self) -> dict[str, str]:
        """The departments a form may name: active ones only (see directory)."""
        with self.gf.db.read() as conn:
            return directory.active_departments(conn)

    def sla_clock(self) -> SlaClock:
        return SlaClock(self.gf.calendar, self.gf.now())

    def explain(self, basis: dict[str, Any] | None, lang: str) -> list[str]:
        return Deadline.from_dict(basis).explain(lang) if basis else []

    # -- the inbox -----------------------------------------------------------------------
    def inbox(self, viewer: Viewer, query: inbox.InboxQuery) -> tuple[inbox.Inbox,
                                                                       dict[str, int]]:
        """The inbox page: the tasks and how many each tab holds."""
        clock = self.sla_clock()
        with self.gf.db.read() as conn:
            return inbox.inbox(conn, viewer, query, clock), inbox.tab_counts(conn, viewer, clock)

    def tasks(self, viewer: Viewer, query: inbox.InboxQuery) -> inbox.Inbox:
        """The tasks alone (the API shows no tabs, so their counts are not read)."""
        clock = self.sla_clock()
        with self.gf.db.read() as conn:
            return inbox.inbox(conn, viewer, query, clock)

    def processes(self) -> list[catalog.ProcessInfo]:
        with self.gf.db.read() as conn:
            return catalog.processes(conn, self.gf.definitions, self.gf.forms, self.starters)

    def process_limits(self, process_id: str) -> dict[str, int]:
        """The profile's limits (name -> working days) a process's model reads."""
        with self.gf.db.read() as conn:
            latest = self.gf.definitions.latest(conn, process_id)
            xml = self.gf.definitions.xml(conn, latest.id).decode("utf-8")
        named = re.findall(r"\{(\w+)\}|limits\[(?:&quot;|\"|')(\w+)", xml)
        limits = self.gf.profile.limits
        found = {a or b for a, b in named} & set(limits)
        return {name: limits[name] for name in sorted(found) if not name.startswith(
            ("share_joint", "catalog_silence"))}   # switches, not limits

    def process(self, process_id: str, starter: str | None = None) -> catalog.ProcessInfo:
        for info in self.processes():
            if info.process_id == process_id and (starter is None or starter in info.starters):
                return info
        raise ProcessNotFound(f"process {process_id!r} is not offered here")

    # -- reading cases and tasks ---------------------------------------------------------
    def element_names(self, version_id: int, lang: str = "zh") -> dict[str, str]:
        """Names of a process version's elements in `lang`, to show instead of their ids."""
        found = self._names.get((version_id, lang))
        if found is None:
            with self.gf.db.read() as conn:
                found = history.element_names(self.gf.definitions.xml(conn, version_id), lang)
            self._names[version_id, lang] = found
        return found

    def english_names(self) -> dict[str, str]:
        """Chinese element name -> its English variant, over every deployed version: task
        titles and recorded steps carry the Chinese name the model had."""
        found: dict[str, str] = {}
        with self.gf.db.read() as conn:
            for row in self.gf.definitions.list_versions(conn):
                if row["id"] not in self._english:
                    self._english[row["id"]] = history.english_names(
                        self.gf.definitions.xml(conn, row["id"]))
                found.update(self._english[row["id"]])
        return found

    def case(self, viewer: Viewer, case_id: int) -> CaseView:
        with self.gf.db.read() as conn:
            access.require_case(conn, viewer, case_id)
        return self.gf.get_case(case_id)

    def task(self, viewer: Viewer, task_id: str) -> TaskView:
        return access.require_task(viewer, self.gf.get_task(task_id))

    def task_page(self, viewer: Viewer, task_id: str) -> TaskPage:
        task = self.task(viewer, task_id)
        case = self.gf.get_case(task.case_id)
        with self.gf.db.read() as conn:
            docs = self._documentation(conn, task.version_id, task.element_id)
            files, notes = (attachments.of_case(conn, case.id), comments.of_case(conn, case.id))
            mates = self._colleagues(conn, viewer, task)
        schema = self.gf.forms.schema(task.form) if task.form else None
        prefill, reason = _returned(task, case, schema)
        return TaskPage(task, self.sla_clock().of(task), case, access.case_number(case.id),
                        schema, docs, access.may_work(viewer, task), mates, files, notes,
                        self._start_schema(case.process_id), prefill, reason)

    def case_page(self, viewer: Viewer, case_id: int) -> CasePage:
        case = self.case(viewer, case_id)
        clock = self.sla_clock()
        with self.gf.db.read() as conn:
            path = history.case_path(conn, self.gf.store, self.gf.definitions, case_id)
            files, notes = attachments.of_case(conn, case_id), comments.of_case(conn, case_id)
            name = self.gf.definitions.get(conn, case.version_id).name or case.process_id
        return CasePage(case, access.case_number(case.id), name,
                        {t.id: clock.of(t) for t in case.tasks if t.state == "open"},
                        frozenset(t.id for t in case.tasks if access.may_work(viewer, t)),
                        frozenset(t.id for t in case.tasks if access.task_visible(viewer, t)),
                        path, files, notes, self._start_schema(case.process_id),
                        _refused_share_of(viewer, case))

    def diagram(self, viewer: Viewer, case_id: int,
                lang: str = "zh") -> tuple[bytes, history.CasePath]:
        """The case's diagram labelled in `lang`, and the path the case took through it."""
        case = self.case(viewer, case_id)
        with self.gf.db.read() as conn:
            xml = history.in_language(self.gf.definitions.xml(conn, case.version_id), lang)
            return xml, history.case_path(conn, self.gf.store, self.gf.definitions,
                                          case_id)

    def cases(self, viewer: Viewer, *, status: str | None = None, process_id: str | None = None,
              search: str | None = None, page: int = 1, per_page: int = 25) -> CaseList:
        page, per_page = max(page, 1), min(max(per_page, 1), 200)
        query = select(cases.c.id).where(access.case_scope(viewer))
        if status:
            query = query.where(cases.c.status == status)
        if process_id:
            query = query.where(cases.c.process_id == process_id)
        if search and search.strip():
            number = access.parse_case_number(search)
            query = query.where(cases.c.id == number if number is not None else
                                cases.c.requester.icontains(search.strip(), autoescape=True))
        with self.gf.db.read() as conn:
            total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
            ids = conn.execute(query.order_by(cases.c.id.desc()).limit(per_page)
                               .offset((page - 1) * per_page)).scalars().all()
        return CaseList(tuple(self.gf.get_case(i, full=False) for i in ids), total, page,
                        per_page)

    # -- acting on tasks -----------------------------------------------------------------
    def claim(self, viewer: Viewer, task_id: str) -> TaskView:
        self.task(viewer, task_id)
        return self.gf.claim_task(task_id, viewer.username)

    def unclaim(self, viewer: Viewer, task_id: str) -> TaskView:
        self.task(viewer, task_id)
        return self.gf.unclaim_task(task_id, viewer.username)

    def bulk_claim(self, viewer: Viewer, task_ids: list[str]) -> tuple[int, list[str]]:
        """Claim each task; return how many were claimed and the errors of the others."""
        done, failed = 0, []
        for task_id in task_ids[:200]:
            try:
                self.claim(viewer, task_id)
                done += 1
            except EngineError as exc:
                failed.append(exc.message)
        return done, failed

    def transfer(self, viewer: Viewer, task_id: str, to_user: str, reason: str) -> TaskView:
        task = self.task(viewer, task_id)
        with self.gf.db.read() as conn:
            if to_user not in dict(self._colleagues(conn, viewer, task)):
                raise NotAllowed(f"{to_user} is not a colleague who may take this task")
        return self.gf.transfer_task(task_id, viewer.username, to_user, reason)

    def complete(self, viewer: Viewer, task_id: str, data: dict[str, Any]) -> CaseView:
        task = self.task(viewer, task_id)
        if task.form and isinstance(data, dict):
            forms.refuse_past_dates(self.gf.forms.schema(task.form), data, self._today())
        return self.gf.complete_task(task_id, viewer.username, data)

    def _today(self) -> Any:
        return self.gf.now().astimezone(self.gf.calendar.tz).date()
    # -- approval operations (engine/cases/approvals.py) ----------------------------------------
    def withdraw(self, viewer: Viewer, case_id: int, reason: str) -> CaseView:
        self.case(viewer, case_id)
        return self.gf.withdraw_case(case_id, viewer.username, reason)

    def return_task(self, viewer: Viewer, task_id: str, to: str, reason: str) -> CaseView:
        self.task(viewer, task_id)
        return self.gf.return_task(task_id, viewer.username, to, reason)

    def delegate(self, viewer: Viewer, task_id: str, to_user: str, reason: str) -> TaskView:
        self.task(viewer, task_id)
        return self.gf.delegate_task(task_id, viewer.username, to_user.strip(), reason)

    def add_signer(self, viewer: Viewer, task_id: str, to_user: str, position: str,
                   note: str) -> TaskView:
        self.task(viewer, task_id)
        return self.gf.add_signer(task_id, viewer.username, to_user.strip(), position, note)

    def resolve(self, viewer: Viewer, task_id: str, note: str) -> TaskView:
        self.task(viewer, task_id)
        return self.gf.resolve_delegation(task_id, viewer.username, note)

    def copy(self, viewer: Viewer, case_id: int, to: list[str], note: str) -> list[str]:
        self.case(viewer, case_id)
        return self.gf.copy_case(case_id, viewer.username, to, note)

    def copies(self, viewer: Viewer) -> list[Any]:
        return self.gf.copies_for(viewer.username)

    def task_operations(self, viewer: Viewer, task_id: str) -> TaskOperations:
        """What the task page offers: steps to send back to, delegation and its state."""
        task = self.task(viewer, task_id)
        with self.gf.db.read() as conn:
            delegator = self.gf.delegated_by(conn, task.case_id, task.id)
        mine = task.state == "open" and task.assignee == viewer.username
        return TaskOperations(
            return_targets=tuple(self.gf.return_targets(task_id))
            if access.may_work(viewer, task) and delegator is None else (),
            may_delegate=mine and delegator is None, delegated_by=delegator,
            may_resolve=mine and delegator is not None)

    def may_withdraw(self, viewer: Viewer, case: CaseView) -> bool:
        if case.status not in ("running", "error") or case.data.get("outcome"):
            return False
        with self.gf.db.read() as conn:
            return self.gf.is_applicant(conn, case.started_by, case.data, viewer.username)

    def comment(self, viewer: Viewer, case_id: int, body: str,
                task_id: str | None = None) -> comments.Comment:
        self.case(viewer, case_id)
        with self.gf.db.write() as conn:
            return comments.add(conn, case_id=case_id, task_id=task_id, author=viewer.username,
                                body=body, now=self.gf.now())

    def attach(self, viewer: Viewer, case_id: int, file_name: str, content: bytes,
               task_id: str | None = None) -> attachments.Attachment:
        self.case(viewer, case_id)
        with self.gf.db.write() as conn:
            return attachments.store(conn, self.files, case_id=case_id, task_id=task_id,
                                     file_name=file_name, content=content,
                                     by=viewer.username, now=self.gf.now())

    def attachment(self, viewer: Viewer, attachment_id: int) -> tuple[attachments.Attachment,
                                                                      Path]:
        with self.gf.db.read() as conn:
            item = attachments.get(conn, attachment_id)
            access.require_case(conn, viewer, item.case_id)
        return item, attachments.path_of(self.files, item)

    # -- starting cases ------------------------------------------------------------------
    def start(self, viewer: Viewer, process_id: str, data: dict[str, Any]) -> CaseView:
        """A department user starts a case for their own department."""
        info = self.process(process_id, "department")
        own = sorted(self._departments(viewer))
        asked = data.get("requester_dept")
        if asked is not None and not isinstance(asked, str):
            raise InvalidTaskData("requester_dept must be a department name",
                                  {"requester_dept": "not a department name"})
        if asked and asked not in viewer.groups and not viewer.is_admin:
            raise InvalidTaskData("you may only submit for your own department",
                                  {"requester_dept": "not your department"})
        if not asked and own and self._has_field(info, "requester_dept"):
            data = {**data, "requester_dept": own[0]}
        if process_id == COORDINATION:
            self._require_refused_share(viewer, data)
        self.gf.forms.validate(info.start_form, data)
        if info.start_form:
            forms.refuse_past_dates(self.gf.forms.schema(info.start_form), data, self._today())
        return self.gf.start_case(process_id, data, user=viewer.username)

    def coordination_draft(self, viewer: Viewer, case_id: int) -> dict[str, Any]:
        """S6: a coordination request prefilled from a refused share request, linked to it."""
        case = self.case(viewer, case_id)
        if not _refused_share_of(viewer, case):
            raise NotAllowed("only a refused share request of your department can go to "
                             "coordination")
        keep = ("requester_dept", "requester_name", "provider_dept", "dataset", "purpose",
                "data_items", "scope", "term", "use_mode")
        draft = {k: case.data[k] for k in keep if case.data.get(k) not in (None, "", [])}
        reason = case.data.get("decision_reason")
        return {"share_case_id": case.id, **draft, **({"refusal_reason": reason} if reason
                                                      else {})}

    def _require_refused_share(self, viewer: Viewer, data: dict[str, Any]) -> None:
        case_id = data.get("share_case_id")
        refused = None
        if isinstance(case_id, int) and not isinstance(case_id, bool) and 0 < case_id < 2**63:
            try:
                refused = self.case(viewer, case_id)
            except EngineError:
                refused = None
        if refused is None or not _refused_share_of(viewer, refused) or \
                refused.data.get("requester_dept") != data.get("requester_dept"):
            raise InvalidTaskData("share_case_id must be a refused share request of your "
                                  "department", {"share_case_id":
                                                 "not a refused share request of your department"})

    def submit_public(self, process_id: str, data: dict[str, Any]) -> tuple[CaseView, str]:
        info = self.process(process_id, "public")
        if info.start_form is None:
            raise ProcessNotFound(f"process {process_id!r} has no public form")
        self.gf.forms.validate(info.start_form, data)
        forms.refuse_past_dates(self.gf.forms.schema(info.start_form), data, self._today())
        case = self.gf.start_case(process_id, data, user=None)
        with self.gf.db.write() as conn:
            code = portal.issue(conn, case.id, now=self.gf.now())
        return case, code

    def track(self, number: str, code: str) -> portal.PublicStatus:
        with self.gf.db.read() as conn:
            case_id = portal.find(conn, number, code)
        case = self.gf.get_case(case_id)
        info = next((p for p in self.processes() if p.process_id == case.process_id), None)
        schema = self.gf.forms.schema(info.start_form) if info and info.start_form else {}
        return portal.public_status(case, self.group_titles(),
                                    info.name if info else case.process_id,
                                    tuple(schema.get("properties", {})))

    # -- messages ------------------------------------------------------------------------
    def send_message(self, viewer: Viewer, name: str, data: Any, *, case_id: int | None = None,
                     correlation: dict[str, Any] | None = None) -> MessageDelivery:
        """Deliver a message as `viewer`: it reaches only cases they may see, and starts
        only processes they could start themselves (administrators: any)."""
        departments = self._departments(viewer)

        def may_start(process_id: str) -> bool:
            try:
                self.process(process_id, "department")
            except ProcessNotFound:
                return viewer.is_admin
            return viewer.is_admin or bool(departments)

        return self.gf.send_message(
            name, data, case_id=case_id, correlation=correlation, user=viewer.username,
            scope=None if viewer.is_admin else access.case_scope(viewer), may_start=may_start)

    # -- tokens --------------------------------------------------------------------------
    def create_token(self, viewer: Viewer, name: str) -> str:
        with self.gf.db.write() as conn:
            return tokens.create(conn, viewer.username, name, now=self.gf.now())

    def tokens(self, viewer: Viewer) -> list[tokens.TokenInfo]:
        with self.gf.db.read() as conn:
            return tokens.of_user(conn, viewer.username)

    def revoke_token(self, viewer: Viewer, token_id: int) -> None:
        with self.gf.db.write() as conn:
            tokens.revoke(conn, viewer.username, token_id, now=self.gf.now())

    def token_viewer(self, token: str) -> Viewer:
        """The user a bearer token acts as, read in one transaction; the token's last use
        is written at most once a minute, so API reads never wait for the write lock."""
        now = self.gf.now()
        with self.gf.db.read() as conn:
            bearer = tokens.authenticate(conn, token, now=now)
            viewer = access.load_viewer(conn, bearer.username, bearer.display_name)
        if bearer.stale:
            with self.gf.db.write() as conn:
                tokens.touch(conn, bearer.token_id, now=now)
        return viewer

    # -- the resource catalog ------------------------------------------------------------
    def catalog(self, viewer: Viewer, search: str | None = None) -> list[resources.Dataset]:
        """Every signed-in user reads the catalog; only the data authority changes it."""
        return self.gf.catalog(search)

    def dataset(self, viewer: Viewer, dataset_id: str) -> tuple[resources.Dataset,
                                                              list[resources.CatalogVersion]]:
        return self.gf.dataset(dataset_id), self.gf.catalog_versions(dataset_id)

    def dataset_choices(self, titles: dict[str, str] | None = None) -> dict[str, str]:
        """Catalog datasets to choose on a request form: id -> "name · provider"."""
        titles = titles or self.group_titles()
        return {d.id: f"{d.name} · {titles.get(d.provider_dept, d.provider_dept)}"
                for d in self.gf.catalog()}

    def may_edit_catalog(self, viewer: Viewer) -> bool:
        return resources.DATA_AUTHORITY in viewer.groups

    def save_dataset(self, viewer: Viewer, record: dict[str, Any],
                     reason: str | None) -> resources.CatalogVersion | None:
        if not reason or not reason.strip():
            raise InvalidTaskData("a change to the catalog needs a reason",
                                  {"reason": "请说明修改理由 (give a reason)"})
        try:
            return self.gf.save_datasets([("dataset", record)], by=viewer.username,
                                         reason=reason.strip())
        except InvalidTaskData as error:  # "dataset.name" -> "name": the form's fields
            raise InvalidTaskData(error.message, {k.partition(".")[2] or k: v for k, v
                                                  in error.errors.items()}) from None

    # -- helpers -------------------------------------------------------------------------
    def _departments(self, viewer: Viewer) -> set[str]:
        with self.gf.db.read() as conn:
            return set(conn.execute(select(groups.c.name).where(
                groups.c.name.in_(sorted(viewer.groups)), groups.c.kind == "department"))
                .scalars())

    def _has_field(self, info: catalog.ProcessInfo, name: str) -> bool:
        if info.start_form is None:
            return True
        return name in self.gf.forms.schema(info.start_form).get("properties", {})

    def _colleagues(self, conn: Any, viewer: Viewer, task: TaskView) -> tuple[tuple[str, str],
                                                                              ...]:
        shared = sorted(viewer.groups & set(task.candidate_groups))
        if not shared or task.state != "open":
            return ()
        rows = conn.execute(
            select(users.c.username, users.c.display_name).distinct()
            .join(memberships, memberships.c.username == users.c.username)
            .where(memberships.c.group_name.in_(shared), users.c.is_active.is_(True),
                   users.c.username != viewer.username).order_by(users.c.username))
        return tuple((r.username, r.display_name) for r in rows)

    def _documentation(self, conn: Any, version_id: int, element_id: str) -> str | None:
        """The task's instructions, with `{limit_name}` filled in from the profile."""
        spec = self.gf.definitions.get(conn, version_id).spec.task_specs.get(element_id)
        text = getattr(spec, "documentation", None) if spec is not None else None
        return fill_limits(text, self.gf.profile.limits) if text else text

    def _start_schema(self, process_id: str) -> dict[str, Any] | None:
        """The fields of the process's forms (start form first), whose titles label the
        case data on the pages."""
        try:
            info = self.process(process_id)
        except ProcessNotFound:
            return None
        start = self.gf.forms.schema(info.start_form) if info.start_form else {}
        fields = {**self.gf.forms.process_fields(process_id), **start.get("properties", {})}
        return {**start, "properties": fields}


def _returned(task: TaskView, case: CaseView, schema: dict[str, Any] | None
              ) -> tuple[dict[str, Any] | None, str | None]:
    """A request sent back to its requester opens with what they sent and why it came back.

    A task is such a return when it is open for the requesting department itself; the
    reason is the one the reviewer gave with the decision to return.
    """
    requester = case.data.get("requester_dept")
    if task.state != "open" or not requester or requester not in task.candidate_groups:
        return None, None
    props = (schema or {}).get("properties", {})
    sent = {k: v for k, v in case.data.items() if k in props and v not in (None, "", [])}
    reason = case.data.get("decision_reason") if case.data.get("decision") == "return" else None
    return sent, reason or case.data.get("returned_reason")


SHARE_REQUEST, COORDINATION = "share_request", "share_coordination"


def _refused_share_of(viewer: Viewer, case: CaseView) -> bool:
    """S6: the requesting department may ask for coordination of its refused share request."""
    return (case.process_id == SHARE_REQUEST and case.data.get("outcome") == "refused"
            and case.data.get("requester_dept") in viewer.groups)
