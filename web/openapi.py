"""The OpenAPI 3 document of /api/v1, built from one table of the routes.

Every answer is described: the success bodies field by field, and the errors each
operation can give. schemathesis checks the running API against this document.
"""

from __future__ import annotations

from typing import Any

from .params import LARGEST_ID, LARGEST_PAGE

ROUTES: list[tuple[str, str, str, str, dict[str, Any] | None, str]] = [
    # (method, path, operationId, summary, request body schema, success body schema)
    ("get", "/processes", "listProcesses", "Deployed processes and their start forms", None,
     "ProcessList"),
    ("post", "/cases", "submitCase", "Start a case for the token user's department",
     {"$ref": "#/components/schemas/NewCase"}, "CaseFull"),
    ("get", "/cases", "listCases", "Cases the token user may see", None, "CaseList"),
    ("get", "/cases/{case_id}", "getCase", "One case with data, tasks and timers", None,
     "CaseFull"),
    ("get", "/cases/{case_id}/status", "getCaseStatus",
     "Status, outcome and open tasks with SLA", None, "CaseStatus"),
    ("get", "/cases/{case_id}/history", "getCaseHistory", "The case's audit trail", None,
     "CaseHistory"),
    ("get", "/tasks", "listTasks", "The token user's inbox (view=mine by default)", None,
     "TaskList"),
    ("get", "/tasks/{task_id}", "getTask", "One task", None, "Task"),
    ("post", "/tasks/{task_id}/claim", "claimTask", "Claim a task", None, "Task"),
    ("post", "/tasks/{task_id}/unclaim", "unclaimTask", "Give a claimed task back", None,
     "Task"),
    ("post", "/tasks/{task_id}/complete", "completeTask", "Submit the task's form",
     {"$ref": "#/components/schemas/TaskData"}, "CaseFull"),
    ("post", "/cases/{case_id}/withdraw", "withdrawCase",
     "撤回: the applicant withdraws a case not yet decided", {"$ref": "#/components/schemas/Reason"}, "CaseFull"),
    ("post", "/tasks/{task_id}/return", "returnTask",
     "退回: send the case back to an earlier completed step (element id or task id)",
     {"$ref": "#/components/schemas/Return"}, "CaseFull"),
    ("post", "/tasks/{task_id}/delegate", "delegateTask",
     "委派: the holder hands the task to a user who works it and hands it back",
     {"$ref": "#/components/schemas/Delegation"}, "Task"),
    ("post", "/tasks/{task_id}/add-signer", "addSigner",
     "加签: add a signer before (they sign first, it comes back) or after (they submit last)",
     {"$ref": "#/components/schemas/Signer"}, "Task"),
    ("post", "/tasks/{task_id}/resolve", "resolveDelegation",
     "The delegate hands the task back to the delegator with a note", {"$ref": "#/components/schemas/Note"}, "Task"),
    ("post", "/cases/{case_id}/copy", "copyCase",
     "抄送: copy a case to users or groups (user:NAME, group:NAME) for information",
     {"$ref": "#/components/schemas/Copy"}, "CopyResult"),
    ("get", "/copies", "listCopies", "Cases copied to the token user or their groups", None,
     "CopyList"),
    ("get", "/catalog", "listCatalog", "The resource catalog's datasets (q searches id and name)",
     None, "DatasetList"),
    ("get", "/catalog/{dataset_id}", "getDataset", "One dataset and the versions that changed it",
     None, "Dataset"),
    ("put", "/catalog/{dataset_id}", "putDataset",
     "Add or replace a dataset (data authority only); makes a new catalog version",
     {"$ref": "#/components/schemas/DatasetChange"}, "Dataset"),
    ("post", "/messages", "sendMessage",
     "Deliver a message to the one case waiting for it (to cases the token user may see), "
     "or start a case on a message start event (201)",
     {"$ref": "#/components/schemas/Message"}, "MessageDelivery"),
]
PAGE = {"type": "integer", "minimum": 1, "maximum": LARGEST_PAGE}
PER_PAGE = {"type": "integer", "minimum": 1, "maximum": 200}
TEXT = {"type": "string"}
QUERY: dict[str, dict[str, dict[str, Any]]] = {
    "listCases": {"status": TEXT, "process_id": TEXT, "q": TEXT, "page": PAGE,
                  "per_page": PER_PAGE},
    "listTasks": {"view": {"type": "string", "enum": ["all", "mine", "groups", "overdue"]},
                  "process_id": TEXT, "state": TEXT, "q": TEXT, "page": PAGE,
                  "per_page": PER_PAGE},
    "listCatalog": {"q": TEXT},
}
PATH = {"case_id": {"type": "integer", "minimum": 0, "maximum": LARGEST_ID},
        "task_id": {"type": "string"}, "dataset_id": {"type": "string"}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(required: list[str], **properties: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}


def _strings(*names: str) -> dict[str, Any]:
    return _object(list(names), **{n: {"type": "string", "minLength": 1} for n in names})


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "nullable": True}


STRING, INTEGER, BOOLEAN = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
MOMENT = {"type": "string", "format": "date-time"}
ANY_OBJECT = {"type": "object", "additionalProperties": True}
STRINGS = {"type": "array", "items": STRING}

TASK_FIELDS = {
    "id": STRING, "case_id": INTEGER, "case_number": STRING, "process_id": STRING,
    "element_id": STRING, "title": STRING, "candidate_groups": STRINGS,
    "assignee": _nullable(STRING), "requester": _nullable(STRING), "form": _nullable(STRING),
    "state": STRING, "created_at": MOMENT, "due_at": _nullable(MOMENT),
    "due_provisional": BOOLEAN, "completed_at": _nullable(MOMENT),
    "completed_by": _nullable(STRING)}
CASE_FIELDS = {
    "id": INTEGER, "number": STRING, "process_id": STRING, "version": INTEGER,
    "status": STRING, "requester": _nullable(STRING), "started_at": MOMENT,
    "completed_at": _nullable(MOMENT), "url": STRING}
TIMER = _object(["element_id", "rule", "fire_at", "provisional"], element_id=STRING,
                rule=_nullable(STRING), fire_at=_nullable(MOMENT), provisional=BOOLEAN)
SLA = _object(["state", "remaining_working_days", "overdue_working_days"], state=STRING,
              remaining_working_days=_nullable(INTEGER),
              overdue_working_days=_nullable(INTEGER))
EVENT = _object(["seq", "at", "actor", "action", "task_id", "element_id", "rule", "details",
                 "hash"], seq=INTEGER, at=MOMENT, actor=_nullable(STRING), action=STRING,
                task_id=_nullable(STRING), element_id=_nullable(STRING),
                rule=_nullable(STRING), details=_nullable(ANY_OBJECT), hash=STRING)
PROCESS = _object(["process_id", "name", "version", "starters", "start_form"],
                  process_id=STRING, name=_nullable(STRING), version=INTEGER,
                  starters=STRINGS, start_form=_nullable(ANY_OBJECT))
PAGING = {"total": INTEGER, "page": INTEGER, "per_page": INTEGER}

SCHEMAS: dict[str, Any] = {
    "NewCase": _object(["process_id", "data"], process_id={"type": "string", "minLength": 1},
                       data=ANY_OBJECT),
    "TaskData": _object(["data"], data=ANY_OBJECT),
    "Task": _object(list(TASK_FIELDS), **TASK_FIELDS, sla=SLA),
    "Case": _object(list(CASE_FIELDS), **CASE_FIELDS),
    "CaseFull": _object([*CASE_FIELDS, "data", "incident", "tasks", "timers"], **CASE_FIELDS,
                        data=ANY_OBJECT, incident=_nullable(ANY_OBJECT),
                        tasks={"type": "array", "items": _ref("Task")},
                        timers={"type": "array", "items": TIMER}),
    "CaseList": _object(["cases", *PAGING], cases={"type": "array", "items": _ref("Case")},
                        **PAGING),
    "TaskList": _object(["tasks", *PAGING], tasks={"type": "array", "items": _ref("Task")},
                        **PAGING),
    "CaseStatus": _object(["number", "status", "outcome", "incident", "open_tasks"],
                          number=STRING, status=STRING, outcome={"nullable": True},
                          incident=_nullable(ANY_OBJECT),
                          open_tasks={"type": "array", "items": _ref("Task")}),
    "CaseHistory": _object(["number", "events"], number=STRING,
                           events={"type": "array", "items": EVENT}),
    "ProcessList": _object(["processes"], processes={"type": "array", "items": PROCESS}),
    "DatasetChange": _object(["dataset", "reason"], reason={"type": "string", "maxLength": 1000},
                             dataset=_object(
                                 ["name", "provider_dept", "share_class", "open_class",
                                  "data_items"],
                                 name=STRING, provider_dept=STRING,
                                 share_class={"enum": ["unconditional", "conditional",
                                                       "not_shared"]},
                                 open_class={"enum": ["open_unconditional", "open_conditional",
                                                      "not_open"]},
                                 data_items=STRINGS,
                                 restriction_basis=_nullable(STRING))),
    "Dataset": _object(["id", "name", "provider_dept", "share_class", "open_class",
                        "data_items", "version", "url"], id=STRING, name=STRING,
                       provider_dept=STRING, share_class=STRING, open_class=STRING,
                       data_items=STRINGS, restriction_basis=_nullable(STRING),
                       version=INTEGER, url=STRING),
    "DatasetList": _object(["datasets", "total"], datasets={"type": "array",
                                                            "items": _ref("Dataset")},
                           total=INTEGER),
    "Message": _object(["name"], name=STRING, data=ANY_OBJECT,
                       case_id={"type": "integer", "minimum": 0, "maximum": LARGEST_ID},
                       correlation={"type": "object", "additionalProperties": {"oneOf": [
                           STRING, {"type": "number"}, BOOLEAN]}}),
    "MessageDelivery": _object(["message", "case_id", "case_number", "element_id", "started",
                                "status", "url"], message=STRING, case_id=INTEGER,
                               case_number=STRING, element_id=_nullable(STRING),
                               started=BOOLEAN, status=STRING, url=STRING),
    "Reason": _strings("reason"),
    "Return": _strings("to", "reason"),
    "Delegation": _strings("to_user", "reason"),
    "Note": _strings("note"),
    "Signer": {**_strings("to_user", "position", "note"), "properties": {
        **_strings("to_user", "note")["properties"], "position": {"enum": ["before", "after"]}}},
    "Copy": _object(["to"], to={"type": "array", "minItems": 1, "items": STRING}, note=STRING),
    "CopyResult": _object(["copied_to"], copied_to=STRINGS),
    "CopyList": _object(["items"], items={"type": "array", "items": _object(
        ["case_id", "number", "process_id", "status", "copied_by", "note", "copied_at", "url"],
        case_id=INTEGER, number=STRING, process_id=STRING, status=STRING,
        copied_by=_nullable(STRING), note=_nullable(STRING), copied_at=MOMENT, url=STRING)}),
    "Error": _object(["error"], error=_object(
        ["code", "message"], code=STRING, message=STRING,
        field={"type": "string", "description": "the malformed parameter or body field"},
        errors={"type": "object", "additionalProperties": STRING,
                "description": "form field -> what is wrong with it"})),
}
ERRORS = {"400": "The request is malformed; `field` names the parameter or body field",
          "401": "No valid bearer token", "403": "The token's user may not do this",
          "404": "No such case, task or process in the user's scope",
          "409": "Someone else changed the case or holds the task",
          "422": "The form data fails the form's rules; `errors` names each field"}


def _operation(op_id: str, summary: str, body: dict[str, Any] | None, success: str,
               path: str) -> dict[str, Any]:
    params = [p.strip("{}") for p in path.split("/") if p.startswith("{")]
    ok = "201" if op_id == "submitCase" else "200"
    operation: dict[str, Any] = {
        "operationId": op_id, "summary": summary,
        "parameters": [{"name": p, "in": "path", "required": True, "schema": PATH[p]}
                       for p in params]
        + [{"name": q, "in": "query", "required": False, "schema": schema}
           for q, schema in QUERY.get(op_id, {}).items()],
        "responses": {ok: {"description": "OK", "content": {"application/json": {
            "schema": _ref(success)}}},
            **{status: {"$ref": "#/components/responses/Error"} for status in ERRORS}},
    }
    if body is not None:
        operation["requestBody"] = {"required": True,
                                    "content": {"application/json": {"schema": body}}}
    if op_id == "sendMessage":
        operation["responses"]["201"] = operation["responses"]["200"]
    return operation


def _strings(*names: str) -> dict[str, Any]:
    return {"type": "object", "required": list(names),
            "properties": {n: {"type": "string", "minLength": 1} for n in names}}


def document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for method, path, op_id, summary, body, success in ROUTES:
        paths.setdefault(path, {})[method] = _operation(op_id, summary, body, success, path)
    return {
        "openapi": "3.0.3",
        "info": {"title": "govflow API", "version": "1.0.0",
                 "description": "Cases and tasks of govflow's public-data procedures. "
                                "Authenticate with `Authorization: Bearer <token>`; make a "
                                "token under /account/tokens. Errors are JSON objects "
                                "`{\"error\": {\"code\", \"message\"}}` with a stable code; "
                                + "; ".join(f"{k}: {v}" for k, v in ERRORS.items()) + "."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": SCHEMAS,
            "responses": {"Error": {"description": "An error with a stable code",
                                    "content": {"application/json": {
                                        "schema": _ref("Error")}}}},
        },
    }
