"""The OpenAPI 3 document of /api/v1, built from one table of the routes."""

from __future__ import annotations

from typing import Any

ERROR = {"$ref": "#/components/responses/Error"}
ROUTES: list[tuple[str, str, str, str, dict[str, Any] | None, list[str]]] = [
    # (method, path, operationId, summary, request body schema, path params)
    ("get", "/processes", "listProcesses", "Deployed processes and their start forms", None, []),
    ("post", "/cases", "submitCase", "Start a case for the token user's department",
     {"$ref": "#/components/schemas/NewCase"}, []),
    ("get", "/cases", "listCases", "Cases the token user may see", None, []),
    ("get", "/cases/{case_id}", "getCase", "One case with data, tasks and timers", None,
     ["case_id"]),
    ("get", "/cases/{case_id}/status", "getCaseStatus",
     "Status, outcome and open tasks with SLA", None, ["case_id"]),
    ("get", "/cases/{case_id}/history", "getCaseHistory", "The case's audit trail", None,
     ["case_id"]),
    ("get", "/tasks", "listTasks", "The token user's inbox (view=mine by default)", None, []),
    ("get", "/tasks/{task_id}", "getTask", "One task", None, ["task_id"]),
    ("post", "/tasks/{task_id}/claim", "claimTask", "Claim a task", None, ["task_id"]),
    ("post", "/tasks/{task_id}/unclaim", "unclaimTask", "Give a claimed task back", None,
     ["task_id"]),
    ("post", "/tasks/{task_id}/complete", "completeTask", "Submit the task's form",
     {"$ref": "#/components/schemas/TaskData"}, ["task_id"]),
    ("post", "/cases/{case_id}/withdraw", "withdrawCase",
     "撤回: the applicant withdraws a case not yet decided",
     {"$ref": "#/components/schemas/Reason"}, ["case_id"]),
    ("post", "/tasks/{task_id}/return", "returnTask",
     "退回: send the case back to an earlier completed step (element id or task id)",
     {"$ref": "#/components/schemas/Return"}, ["task_id"]),
    ("post", "/tasks/{task_id}/delegate", "delegateTask",
     "委派: the holder hands the task to a user who works it and hands it back",
     {"$ref": "#/components/schemas/Delegation"}, ["task_id"]),
    ("post", "/tasks/{task_id}/add-signer", "addSigner",
     "加签: add a signer before (they sign first, it comes back) or after (they submit last)",
     {"$ref": "#/components/schemas/Signer"}, ["task_id"]),
    ("post", "/tasks/{task_id}/resolve", "resolveDelegation",
     "The delegate hands the task back to the delegator with a note",
     {"$ref": "#/components/schemas/Note"}, ["task_id"]),
    ("post", "/cases/{case_id}/copy", "copyCase",
     "抄送: copy a case to users or groups (user:NAME, group:NAME) for information",
     {"$ref": "#/components/schemas/Copy"}, ["case_id"]),
    ("get", "/copies", "listCopies", "Cases copied to the token user or their groups", None,
     []),
    ("get", "/catalog", "listCatalog", "The resource catalog's datasets (q searches id and name)",
     None, []),
    ("get", "/catalog/{dataset_id}", "getDataset", "One dataset and the versions that changed it",
     None, ["dataset_id"]),
    ("put", "/catalog/{dataset_id}", "putDataset",
     "Add or replace a dataset (data authority only); makes a new catalog version",
     {"$ref": "#/components/schemas/DatasetChange"}, ["dataset_id"]),
    ("post", "/messages", "sendMessage",
     "Deliver a message to the one case waiting for it (to cases the token user may see), "
     "or start a case on a message start event (201)",
     {"$ref": "#/components/schemas/Message"}, []),
]
QUERY = {
    "listCases": ["status", "process_id", "q", "page", "per_page"],
    "listTasks": ["view", "process_id", "state", "q", "page", "per_page"],
    "listCatalog": ["q"],
}


def _operation(op_id: str, summary: str, body: dict[str, Any] | None,
               params: list[str]) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": op_id, "summary": summary,
        "parameters": [{"name": p, "in": "path", "required": True,
                        "schema": {"type": "integer" if p == "case_id" else "string"}}
                       for p in params]
        + [{"name": q, "in": "query", "required": False,
            "schema": {"type": "integer" if q in ("page", "per_page") else "string"}}
           for q in QUERY.get(op_id, [])],
        "responses": {"200": {"description": "OK", "content": {"application/json": {
            "schema": {"type": "object"}}}},
            "401": ERROR, "403": ERROR, "404": ERROR, "409": ERROR, "422": ERROR},
    }
    if body is not None:
        operation["requestBody"] = {"required": True,
                                    "content": {"application/json": {"schema": body}}}
    if op_id == "submitCase":
        operation["responses"]["201"] = operation["responses"].pop("200")
    if op_id == "sendMessage":
        operation["responses"]["201"] = {"description": "A case was started", "content": {
            "application/json": {"schema": {"type": "object"}}}}
    return operation


def _strings(*names: str) -> dict[str, Any]:
    return {"type": "object", "required": list(names),
            "properties": {n: {"type": "string", "minLength": 1} for n in names}}


def document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for method, path, op_id, summary, body, params in ROUTES:
        paths.setdefault(path, {})[method] = _operation(op_id, summary, body, params)
    return {
        "openapi": "3.0.3",
        "info": {"title": "govflow API", "version": "1.0.0",
                 "description": "Cases and tasks of govflow's public-data procedures. "
                                "Authenticate with `Authorization: Bearer <token>`; make a "
                                "token under /account/tokens. Errors are JSON objects "
                                "`{\"error\": {\"code\", \"message\"}}` with a stable code."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "NewCase": {"type": "object", "required": ["process_id", "data"],
                            "properties": {"process_id": {"type": "string"},
                                           "data": {"type": "object"}}},
                "DatasetChange": {
                    "type": "object", "required": ["dataset", "reason"],
                    "properties": {"reason": {"type": "string", "maxLength": 1000},
                                   "dataset": {"type": "object", "required": [
                                       "name", "provider_dept", "share_class", "open_class",
                                       "data_items"], "properties": {
                                       "name": {"type": "string"},
                                       "provider_dept": {"type": "string"},
                                       "share_class": {"enum": ["unconditional", "conditional",
                                                                "not_shared"]},
                                       "open_class": {"enum": ["open_unconditional",
                                                               "open_conditional", "not_open"]},
                                       "data_items": {"type": "array",
                                                      "items": {"type": "string"}},
                                       "restriction_basis": {"type": "string",
                                                             "nullable": True}}}}},
                "Message": {"type": "object", "required": ["name"], "properties": {
                    "name": {"type": "string"}, "data": {"type": "object"},
                    "case_id": {"type": "integer"},
                    "correlation": {"type": "object", "additionalProperties": {"oneOf": [
                        {"type": "string"}, {"type": "number"}, {"type": "boolean"}]}}}},
                "Reason": _strings("reason"),
                "Return": _strings("to", "reason"),
                "Delegation": _strings("to_user", "reason"),
                "Note": _strings("note"),
                "Signer": {**_strings("to_user", "position", "note"), "properties": {
                    **_strings("to_user", "note")["properties"],
                    "position": {"enum": ["before", "after"]}}},
                "Copy": {"type": "object", "required": ["to"], "properties": {
                    "to": {"type": "array", "minItems": 1, "items": {"type": "string"}},
                    "note": {"type": "string"}}},
                "TaskData": {"type": "object", "required": ["data"],
                             "properties": {"data": {"type": "object"}}},
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                    "type": "object", "required": ["code", "message"],
                    "properties": {"code": {"type": "string"},
                                   "message": {"type": "string"}}}}},
            },
            "responses": {"Error": {"description": "An error with a stable code",
                                    "content": {"application/json": {
                                        "schema": {"$ref": "#/components/schemas/Error"}}}}},
        },
    }
