"""The JSON API for other government systems, under /api/v1, with bearer tokens.

A token acts as the user who made it (see /account/tokens) and has exactly that
user's rights: the handlers call the same `Desk` methods as the pages. Errors come
back as `{"error": {"code", "message"}}` (see web/errors.py); the OpenAPI document
is at /api/v1/openapi.json.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, jsonify, request, url_for

from engine.cases.inbox import InboxQuery
from engine.cases.results import result_of
from engine.errors import InvalidMessage, InvalidTaskData, InvalidToken, NotAllowed
from engine.people.access import case_number, parse_case_number, public_data

from . import results
from .auth import desk
from .i18n import result_titles
from .openapi import QUERY, document
from .params import LARGEST_ID, BadParameter, NulRefused, check_query, holds_nul, int_arg
from .security import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


@bp.before_request
def authenticate() -> None:
    if request.endpoint == "api.openapi":
        return
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("send an API token as `Authorization: Bearer <token>`")
    g.user = desk().token_viewer(token.strip())
    check_query(request.args, QUERY.get(QUERY_OF.get(request.endpoint or "", ""), {}))


QUERY_OF = {"api.list_cases": "listCases", "api.list_tasks": "listTasks",
            "api.list_catalog": "listCatalog"}


MAX_DEPTH = 32


def body() -> dict[str, Any]:
    """The request's JSON object; anything else is a 400 naming what is wrong."""
    try:
        data = request.get_json(silent=True)
    except RecursionError:
        data = None
    if not isinstance(data, dict):
        raise BadParameter("", "the request body must be a JSON object")
    if _depth(data) > MAX_DEPTH:
        raise BadParameter("", f"the request body nests deeper than {MAX_DEPTH} levels")
    if holds_nul(data):
        raise NulRefused("")
    return data


def object_field(sent: dict[str, Any], name: str) -> dict[str, Any]:
    value = sent.get(name)
    if not isinstance(value, dict):
        raise BadParameter(name, f"`{name}` must be a JSON object")
    return value


def string_field(sent: dict[str, Any], name: str) -> str:
    value = sent.get(name)
    if not isinstance(value, str) or not value:
        raise BadParameter(name, f"`{name}` must be a non-empty string")
    return value


def _depth(value: Any) -> int:
    """How deep a parsed JSON value nests, without recursing (a hostile body may be deep)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            break
        children = item.values() if isinstance(item, dict) else item if isinstance(
            item, list) else ()
        stack.extend((child, level + 1) for child in children)
    return deepest


def task_json(task: Any, sla: Any = None) -> dict[str, Any]:
    out = {"id": task.id, "case_id": task.case_id, "case_number": case_number(task.case_id),
           "process_id": task.process_id, "element_id": task.element_id, "title": task.title,
           "candidate_groups": list(task.candidate_groups), "assignee": task.assignee,
           "requester": task.requester, "form": task.form, "state": task.state,
           "created_at": task.created_at.isoformat(),
           "due_at": task.due_at.isoformat() if task.due_at else None,
           "due_provisional": task.due_provisional,
           "completed_at": task.completed_at.isoformat() if task.completed_at else None,
           "completed_by": task.completed_by}
    if sla is not None:
        out["sla"] = {"state": sla.state, "remaining_working_days": sla.remaining,
                      "overdue_working_days": sla.overdue_by}
    return out


def case_json(case: Any, *, full: bool = False) -> dict[str, Any]:
    out = {"id": case.id, "number": case_number(case.id), "process_id": case.process_id,
           "version": case.version, "status": case.status, "requester": case.requester,
           "started_at": case.started_at.isoformat(),
           "completed_at": case.completed_at.isoformat() if case.completed_at else None,
           "url": url_for("api.get_case", case_id=case.id)}
    if full:
        out["result"] = results.as_json(result_of(case.data, result_titles(case.data)))
        out["data"] = public_data(case.data)
        out["incident"] = case.incident
        out["tasks"] = [task_json(t) for t in case.tasks]
        out["timers"] = [{"element_id": t.element_id, "rule": t.rule,
                          "fire_at": t.fire_at.isoformat() if t.fire_at else None,
                          "provisional": t.provisional} for t in case.timers]
    return out


def event_json(e: Any) -> dict[str, Any]:
    return {"seq": e.seq, "at": e.at.isoformat(), "actor": e.actor, "action": e.action,
            "task_id": e.task_id, "element_id": e.element_id, "rule": e.rule,
            "details": e.details, "hash": e.hash}


@bp.route("/openapi.json")
def openapi() -> Any:
    return jsonify(document())


@bp.route("/processes")
def processes() -> Any:
    return jsonify(processes=[{"process_id": p.process_id, "name": p.name,
                               "version": p.version, "starters": list(p.starters),
                               "start_form": desk().gf.forms.schema(p.start_form)
                               if p.start_form else None} for p in desk().processes()])


@bp.route("/cases", methods=("POST",))
def submit_case() -> Any:
    sent = body()
    case = desk().start(g.user, string_field(sent, "process_id"), object_field(sent, "data"))
    return jsonify(case_json(case, full=True)), 201


@bp.route("/cases")
def list_cases() -> Any:
    args = request.args
    found = desk().cases(g.user, status=args.get("status"), process_id=args.get("process_id"),
                         search=args.get("q"), page=int_arg(args, "page", 1),
                         per_page=int_arg(args, "per_page", 25, largest=200))
    return jsonify(cases=[case_json(c) for c in found.cases], total=found.total,
                   page=found.page, per_page=found.per_page)


@bp.route("/cases/<int:case_id>")
def get_case(case_id: int) -> Any:
    return jsonify(case_json(desk().case(g.user, case_id), full=True))


@bp.route("/cases/<int:case_id>/status")
def case_status(case_id: int) -> Any:
    case = desk().case(g.user, case_id)
    clock = desk().sla_clock()
    return jsonify(number=case_number(case.id), status=case.status,
                   outcome=case.data.get("outcome"), incident=case.incident,
                   result=results.as_json(result_of(case.data, result_titles(case.data))),
                   open_tasks=[task_json(t, clock.of(t)) for t in case.tasks
                               if t.state == "open"])


@bp.route("/cases/<int:case_id>/history")
def case_history(case_id: int) -> Any:
    case = desk().case(g.user, case_id)
    return jsonify(number=case_number(case.id), events=[event_json(e) for e in case.events])


@bp.route("/tasks")
def list_tasks() -> Any:
    args = request.args
    found = desk().tasks(g.user, InboxQuery(
        view=args.get("view", "mine"), process_id=args.get("process_id"),
        state=args.get("state"), search=args.get("q"), page=int_arg(args, "page", 1),
        per_page=int_arg(args, "per_page", 50, largest=200)))
    return jsonify(tasks=[task_json(r.task, r.sla) for r in found.rows], total=found.total,
                   page=found.page, per_page=found.per_page)


@bp.route("/tasks/<task_id>")
def get_task(task_id: str) -> Any:
    task = desk().task(g.user, task_id)
    return jsonify(task_json(task, desk().sla_clock().of(task)))


@bp.route("/tasks/<task_id>/claim", methods=("POST",))
def claim(task_id: str) -> Any:
    return jsonify(task_json(desk().claim(g.user, task_id)))


@bp.route("/tasks/<task_id>/unclaim", methods=("POST",))
def unclaim(task_id: str) -> Any:
    return jsonify(task_json(desk().unclaim(g.user, task_id)))


@bp.route("/tasks/<task_id>/complete", methods=("POST",))
def complete(task_id: str) -> Any:
    data = object_field(body(), "data")
    return jsonify(case_json(desk().complete(g.user, task_id, data), full=True))


@bp.route("/cases/<int:case_id>/withdraw", methods=("POST",))
def withdraw(case_id: int) -> Any:
    return jsonify(case_json(desk().withdraw(g.user, case_id, _text("reason")), full=True))


@bp.route("/tasks/<task_id>/return", methods=("POST",))
def return_task(task_id: str) -> Any:
    case = desk().return_task(g.user, task_id, _text("to"), _text("reason"))
    return jsonify(case_json(case, full=True))


@bp.route("/tasks/<task_id>/delegate", methods=("POST",))
def delegate(task_id: str) -> Any:
    return jsonify(task_json(desk().delegate(g.user, task_id, _text("to_user"),
                                             _text("reason"))))


@bp.route("/tasks/<task_id>/add-signer", methods=("POST",))
def add_signer(task_id: str) -> Any:
    return jsonify(task_json(desk().add_signer(g.user, task_id, _text("to_user"),
                                               _text("position"), _text("note"))))


@bp.route("/tasks/<task_id>/resolve", methods=("POST",))
def resolve(task_id: str) -> Any:
    return jsonify(task_json(desk().resolve(g.user, task_id, _text("note"))))


@bp.route("/cases/<int:case_id>/copy", methods=("POST",))
def copy_case(case_id: int) -> Any:
    to = body().get("to")
    if not isinstance(to, list) or not all(isinstance(r, str) for r in to):
        raise InvalidTaskData("to must be a list of user:NAME or group:NAME",
                              {"to": "not a list of strings"})
    note = body().get("note") or ""
    return jsonify(copied_to=desk().copy(g.user, case_id, to, note if isinstance(note, str)
                                         else ""))


@bp.route("/copies")
def list_copies() -> Any:
    return jsonify(items=[{"case_id": c.case_id, "number": c.number, "process_id": c.process_id,
                           "status": c.status, "copied_by": c.copied_by, "note": c.note,
                           "copied_at": c.copied_at.isoformat(),
                           "url": url_for("api.get_case", case_id=c.case_id)}
                          for c in desk().copies(g.user)])


def _text(name: str) -> str:
    value = body().get(name, "")
    if not isinstance(value, str):
        raise InvalidTaskData(f"{name} must be a string", {name: "not a string"})
    return value


def dataset_json(dataset: Any) -> dict[str, Any]:
    return {**dataset.record(), "version": dataset.version,
            "url": url_for("api.get_dataset", dataset_id=dataset.id)}


@bp.route("/catalog")
def list_catalog() -> Any:
    found = desk().catalog(g.user, request.args.get("q"))
    return jsonify(datasets=[dataset_json(d) for d in found], total=len(found))


@bp.route("/catalog/<dataset_id>")
def get_dataset(dataset_id: str) -> Any:
    dataset, versions = desk().dataset(g.user, dataset_id)
    return jsonify(**dataset_json(dataset), changes=[
        {"version": v.version, "at": v.created_at.isoformat(), "by": v.created_by,
         "reason": v.reason} for v in versions])


@bp.route("/catalog/<dataset_id>", methods=("PUT",))
def put_dataset(dataset_id: str) -> Any:
    """Add or replace a dataset (the data authority only); a new catalog version."""
    sent = body()
    if not desk().may_edit_catalog(g.user):
        raise NotAllowed("only the data authority changes the catalog")
    record = {**object_field(sent, "dataset"), "id": dataset_id}
    version = desk().save_dataset(g.user, record, string_field(sent, "reason"))
    dataset, _ = desk().dataset(g.user, dataset_id)
    return jsonify(**dataset_json(dataset), catalog_version=version.version if version else None)


@bp.route("/messages", methods=("POST",))
def send_message() -> Any:
    sent = body()
    name, correlation, given = sent.get("name"), sent.get("correlation"), sent.get("case_id")
    number = isinstance(given, int | str) and not isinstance(given, bool)
    case_id = parse_case_number(given) if number else None
    if not isinstance(name, str) or not isinstance(correlation, dict | None) or (
            given is not None and case_id is None):
        raise InvalidMessage("send {\"name\": text, \"data\": object, and \"case_id\" or "
                             "\"correlation\": {key: value}}")
    if case_id is not None and not 0 <= case_id <= LARGEST_ID:
        raise BadParameter("case_id", "`case_id` is not a case number")
    if case_id is not None and correlation:
        raise InvalidMessage("give case_id or correlation, not both")
    done = desk().send_message(g.user, name, sent.get("data"), case_id=case_id,
                               correlation=correlation)
    return jsonify(message=done.message, case_id=done.case_id,
                   case_number=case_number(done.case_id), element_id=done.element_id,
                   started=done.started, status=done.status,
                   url=url_for("api.get_case", case_id=done.case_id)), (
        201 if done.started else 200)
