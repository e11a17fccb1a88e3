"""Parse and validate one BPMN file into a SpiffWorkflow process spec.

SpiffWorkflow's parser reports problems in many shapes: a raw lxml `XMLSyntaxError`,
a `TypeError` for a process with no id, a misleading message for a dangling
`targetRef`, and nothing at all for a Python error in a condition, which only shows
when a case reaches that gateway. A deployed process runs for weeks, so everything
that can be checked is checked here, once, and every failure becomes exactly one
`BpmnValidationError` naming the file, the element id and the line.

Order of checks: well-formed XML; one executable process with an id; the XSD (inside
SpiffWorkflow's parser); govflow's own checks on the executable process, in document
order; the DMN decision tables embedded in business rule tasks; SpiffWorkflow building
the spec; who may act on each human task.

A business rule task calls a DMN decision by id. `embed_decisions` copies the decision's
`.dmn` file into the task's extensionElements at deploy time, so a stored version keeps
the table it was deployed with and editing the table makes a new version.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.spiff.parser.process import SPIFF_XSD, SpiffBpmnParser

from engine.bpmn import checks
from engine.bpmn.checks import Problem as _Problem
from engine.bpmn.limits import check_constant
from engine.bpmn.wiring import wire
from engine.errors import BpmnValidationError
from engine.scripts.sandbox import check_script

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NSMAP = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}

#: The spiffworkflow:properties govflow reads on human tasks, and how each is checked:
#: "groups" comma-separated group names, "expression" compiled by the sandbox in eval
#: mode, "form" a JSON file name under workflows/forms/, "rules" regulation rule ids.
GOVFLOW_PROPERTIES: dict[str, str] = {
    "candidateGroups": "groups",             # static, e.g. "provider_reviewers,dept_leads"
    "candidateGroupsExpression": "expression",  # over case data: a group name or a list
    "dueWorkingDays": "expression",          # e.g. 10 or limits["share_answer_days"]
    "dueFrom": "expression",                 # receipt moment (ISO string); default: creation
    "form": "form",                          # JSON Schema file name, e.g. share_review.json
    "rule": "rules",                         # ids from regulations.md, e.g. "S3,S4"
    "formCheck": "expression",               # over case data + the submission: {field: error}
    "assigneeExpression": "expression",      # over case data: the one user who works it
    "approvalMode": "approval",              # 会签/或签 on a multi-instance task: all|any|k
    "allowReturn": "flag",                   # 退回 from this task (default true)
    "allowDelegate": "flag",                 # 委派 of this task (default true)
    "allowWithdraw": "flag",                 # 撤回 while this task is open (default true)
    "allowAddSigner": "flag",                # 加签 on this task (default true)
    "allowCopy": "flag",                     # 抄送 while this task is open (default true)
}

# SpiffWorkflow marks all three `manual`, so all three show up as inbox tasks.
_HUMAN_TASKS = ("userTask", "manualTask", "task")
# Expression elements run by the script engine, besides conditions and timers.
_LOOP_EXPRESSIONS = ("loopCondition", "loopCardinality", "completionCondition")
_TIMER_KINDS = ("timeDate", "timeDuration", "timeCycle")  # SpiffWorkflow's order of preference
# Names of SpiffWorkflow's own task specs: an element with one of these ids is silently
# taken for the built-in spec, and everything after it vanishes from the process.
_RESERVED_IDS = re.compile(r"^(Start|End|Root|StartEventSplit|StartEventJoin)$"
                           r"|\.(EndJoin|BoundaryEventSplit|BoundaryEventJoin)$")
_GROUP = re.compile(r"^[\w.\-]+$")
_RULE = re.compile(r"^[A-Z]+\d+$")
_FORM = re.compile(r"^[\w.\-]+\.json$")
_APPROVAL = re.compile(r"^(all|any|[1-9]\d{0,3})$")
DECISION_ID = re.compile(r"^[A-Za-z_][\w.\-]*$")
#: The DMN namespaces SpiffWorkflow's DMN parser reads (1.1, 1.2, 1.3).
DMN_NAMESPACES = frozenset({
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
    "http://www.omg.org/spec/DMN/20180521/MODEL/",
    "https://www.omg.org/spec/DMN/20191111/MODEL/",
})


@dataclass(frozen=True)
class ParsedBpmn:
    """One deployable process: the file's bytes, their hash and the parsed specs."""

    process_id: str
    name: str | None
    xml: bytes
    content_hash: str  # sha256 hex of `xml`: a redeploy of the same bytes is a no-op
    spec: BpmnProcessSpec
    subprocess_specs: dict[str, Any]
    #: processes called from other files: called process id -> (callActivity id, line);
    #: their specs are None in `subprocess_specs` until a case pins a deployed version
    calls: dict[str, tuple[str, int | None]] = field(default_factory=dict)


class _FirstErrorValidator(BpmnValidator):
    """Report the first XSD error rather than SpiffWorkflow's last: later ones often follow
    from the first. Built per parse, because an XMLSchema keeps its error log on itself
    and a shared one would mix errors between threads (building costs about 7 ms)."""

    def __init__(self) -> None:
        super().__init__(imports={"spiffworkflow": SPIFF_XSD})

    def validate(self, bpmn: Any, filename: str | None = None) -> None:
        self.preprocess(bpmn)
        if not self.validator.validate(bpmn):
            first = self.validator.error_log[0]
            raise ValidationException(first.message, file_name=filename, line_number=first.line)


def parse_bpmn(xml: bytes, filename: str, *, check: bool = True,
               process_id: str | None = None) -> ParsedBpmn:
    """Parse `xml` (bytes, so an encoding declaration is honoured) or raise one
    BpmnValidationError; no parser exception escapes with its own type.

    `process_id` picks one executable process of a collaboration (see `iter_process_ids`).

    `check=False` only builds the spec: a stored version was checked under the rules of
    its deploy, and stricter rules later must not make a running case unloadable."""
    root = _read(xml, filename)
    try:
        return _parse(root, xml, filename, check=check, process_id=process_id)
    except _Problem as problem:
        node = problem.node
        raise BpmnValidationError(
            _one_line(problem.message), file=filename,
            element=node.get("id") if node is not None else None,
            line=node.sourceline if node is not None else None,
        ) from None
    except ValidationException as exc:
        raise _from_spiff(exc, root, filename) from None
    except Exception as exc:  # anything else SpiffWorkflow or lxml may raise
        message = _one_line(f"{type(exc).__name__}: {exc}")
        raise BpmnValidationError(message, file=filename) from None


def embed_decisions(xml: bytes, filename: str,
                    read: Callable[[str], bytes | None]) -> bytes:
    """Copy the DMN decision each business rule task calls into the task, unless already there.

    `read(decision_id)` returns the bytes of `<decision_id>.dmn`, or None. Returns `xml`
    unchanged when nothing had to be embedded, so redeploying identical files is a no-op.
    """
    root = _read(xml, filename)
    changed = False
    for task in root.iterfind(".//bpmn:businessRuleTask", NSMAP):
        called = task.find("bpmn:extensionElements/spiffworkflow:calledDecisionId", NSMAP)
        decision_id = (called.text or "").strip() if called is not None else ""
        if not decision_id or any(_decision_ids(dmn) & {decision_id} for dmn in _dmn_roots(task)):
            continue
        dmn = read(decision_id) if DECISION_ID.match(decision_id) else None
        if dmn is None:
            raise BpmnValidationError(
                f"calls decision {decision_id!r}, which is neither embedded nor in "
                f"{decision_id}.dmn next to the BPMN files", file=filename,
                element=task.get("id"), line=task.sourceline)
        table = _read(dmn, f"{decision_id}.dmn")
        if decision_id not in _decision_ids(table):
            raise BpmnValidationError(f"{decision_id}.dmn does not define decision "
                                      f"{decision_id!r}", file=f"{decision_id}.dmn")
        called.getparent().append(table)
        changed = True
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8") if changed else xml


def _dmn_roots(node: Any) -> list[Any]:
    return [n for n in node.iter(etree.Element)
            if etree.QName(n).localname == "definitions"
            and etree.QName(n).namespace in DMN_NAMESPACES]


def _decision_ids(dmn: Any) -> set[str]:
    namespace = etree.QName(dmn).namespace
    return {d.get("id") for d in dmn.iterfind(f"{{{namespace}}}decision")}


def with_prefixed_decisions(xml: bytes) -> bytes:
    """`xml` with each embedded decision table under namespace prefixes of its own.

    A table keeps the DMN file's default namespace and its `dc` prefix, which means another
    namespace than the BPMN part's `dc`; bpmn-js reads such a file but cannot write it back.
    The prefixes here ("dmn" for the model, which SpiffWorkflow's DMN parser expects) can.
    """
    root = _read(xml, None)
    tables = [t for task in root.iterfind(".//bpmn:businessRuleTask", NSMAP)
              for t in _dmn_roots(task)]
    for table in tables:
        used = sorted({etree.QName(n).namespace for n in table.iter(etree.Element)} - {None})
        nsmap = {("dmn" if uri in DMN_NAMESPACES else f"dmn{i}"): uri for i, uri in enumerate(used)}
        table.getparent().replace(table, _copy_under(table, nsmap))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8") if tables else xml


def _copy_under(node: Any, nsmap: dict[str, str] | None) -> Any:
    copy = etree.Element(node.tag, attrib=dict(node.attrib), nsmap=nsmap)
    copy.text, copy.tail = node.text, node.tail
    for child in node:
        copy.append(_copy_under(child, None) if isinstance(child.tag, str) else child.__copy__())
    return copy


def _check_decision(dmn: Any) -> None:
    """Compile a decision table's expressions with the sandbox, as conditions are."""
    namespace = etree.QName(dmn).namespace
    for node in dmn.iter(f"{{{namespace}}}inputExpression", f"{{{namespace}}}outputEntry",
                         f"{{{namespace}}}inputEntry"):
        text = node.findtext(f"{{{namespace}}}text")
        owner = next(a for a in (node, *node.iterancestors()) if a.get("id"))
        kind = etree.QName(node).localname
        if kind == "inputEntry":
            if not text or text.strip() in ("", "-"):
                continue
            text = text.replace("?", "dmninputexpr")
            if check_script(f"({text})", "eval") and check_script(f"dmninputexpr {text}",
                                                                  "eval"):
                raise _Problem(f"DMN input entry {text!r} is neither a value nor a comparison",
                               owner)
        elif kind == "outputEntry" and not (text or "").strip():
            continue
        else:
            _compile(text, "eval", f"DMN {kind}", owner)


def iter_process_ids(xml: bytes) -> list[str]:
    """Ids of the executable processes in `xml`, without building any spec."""
    return [p.get("id") for p in _executable(_read(xml, None)) if p.get("id")]


def _read(xml: bytes, filename: str | None) -> Any:
    try:  # entities stay unexpanded and nothing is fetched: the file may come from a browser
        return etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        raise BpmnValidationError(_one_line(exc.msg), file=filename, line=exc.lineno) from None


def _parse(root: Any, xml: bytes, filename: str, *, check: bool,
           process_id: str | None = None) -> ParsedBpmn:
    process = _the_process(root, process_id)
    parser = SpiffBpmnParser(validator=_FirstErrorValidator() if check else None)
    parser.add_bpmn_str(xml, filename=filename)
    if check:
        for node in process.iter(etree.Element):
            _check_element(node, process)
    for dmn in _dmn_roots(process):
        if check:
            _check_decision(dmn)
        parser.add_dmn_xml(dmn, filename=filename)
    process_id = process.get("id")
    spec = parser.get_spec(process_id)
    subprocess_specs = parser.get_subprocess_specs(process_id,
                                                   require_call_activity_specs=False)
    specs = [spec, *(s for s in subprocess_specs.values() if s is not None)]
    checks.apply_lane_groups(root, specs)
    checks.quote_bare_timers(specs)
    if check:
        _check_assignees(root, specs)
    wire(specs)
    return ParsedBpmn(process_id, process.get("name"), xml, hashlib.sha256(xml).hexdigest(),
                      spec, subprocess_specs, _external_calls(root, subprocess_specs))


def _external_calls(root: Any,
                    subprocess_specs: dict[str, Any]) -> dict[str, tuple[str, int | None]]:
    """Called processes that are not in this file, with the first call activity naming each."""
    here = {p.get("id") for p in root.iterfind(".//bpmn:process", NSMAP)}
    found: dict[str, tuple[str, int | None]] = {}
    for node in root.iterfind(".//bpmn:callActivity", NSMAP):
        called = node.get("calledElement")
        if called not in here or subprocess_specs.get(called, ...) is None:
            found.setdefault(called, (node.get("id"), node.sourceline))
    return found


def _executable(root: Any) -> list[Any]:
    # SpiffWorkflow's own test: only a missing attribute or the exact string "true".
    return [p for p in root.iterfind(".//bpmn:process", NSMAP)
            if p.get("isExecutable", "true") == "true"]


def _the_process(root: Any, process_id: str | None = None) -> Any:
    """Return the executable process `process_id`, or the file's only executable process."""
    processes = root.findall(".//bpmn:process", NSMAP)
    if not processes:
        raise _Problem("no bpmn:process in this file", root)
    for process in processes:
        if not process.get("id"):
            raise _Problem("process has no id", process)
    executable = _executable(root)
    if process_id is not None:
        executable = [p for p in executable if p.get("id") == process_id]
    if not executable:
        raise _Problem('no executable process (bpmn:process isExecutable="true")', root)
    if len(executable) > 1:
        ids = ", ".join(p.get("id") for p in executable)
        raise _Problem(f"more than one executable process ({ids}); "
                       "deploy the file to get each as its own process", executable[1])
    return executable[0]


def _check_element(node: Any, process: Any) -> None:
    """Run govflow's checks for one element of the executable process."""
    tag = etree.QName(node)
    name = tag.localname
    if tag.namespace == SPIFF_NS and name in ("preScript", "postScript"):
        if node.text and node.text.strip():
            _compile(node.text, "exec", f"spiffworkflow:{name}", node.getparent().getparent())
    if tag.namespace != BPMN_NS:
        return
    if _RESERVED_IDS.search(node.get("id") or ""):
        raise _Problem(f"id {node.get('id')!r} is reserved by SpiffWorkflow; rename it", node)
    checks.check_element(node, process)
    if name == "sequenceFlow":
        _check_flow(node, process)
    elif name == "scriptTask":
        script = node.find("bpmn:script", NSMAP)
        _compile(script.text if script is not None else None, "exec", "script", node)
    elif name == "timerEventDefinition":
        _check_timer(node)
    elif name in _LOOP_EXPRESSIONS:
        owner = next(a for a in node.iterancestors() if a.get("id"))
        _compile(node.text, "eval", name, owner)
    elif name == "conditionalEventDefinition":
        condition = node.find("bpmn:condition", NSMAP)
        _compile(condition.text if condition is not None else None, "eval", "condition",
                 node.getparent())
    elif name == "callActivity" and not (node.get("calledElement") or "").strip():
        raise _Problem("call activity names no calledElement", node)
    elif name in _HUMAN_TASKS:
        _check_properties(node)
    elif name == "lane":
        groups = checks.lane_groups(node.getparent()).get(node.get("name") or "")
        if groups is not None and not _all_match(_GROUP, groups):
            raise _Problem(f"lane candidateGroups {groups!r} is not a comma-separated list "
                           "of group names", node)


def _check_flow(flow: Any, process: Any) -> None:
    """Check refs ourselves: SpiffWorkflow ignores a dangling sourceRef and reports a
    dangling targetRef as a duplicate id on the gateway before it."""
    container = flow.getparent()  # flows connect nodes of the same (sub)process only
    siblings = {child.get("id") for child in container if child.get("id")}
    where = f"{etree.QName(container).localname} {container.get('id')}"
    for attr in ("sourceRef", "targetRef"):
        ref = flow.get(attr)
        if ref not in siblings:
            raise _Problem(f"{attr} {ref!r} names no element of {where}", flow)
    condition = flow.find("bpmn:conditionExpression", NSMAP)
    if condition is not None:
        _compile(condition.text, "eval", "conditionExpression", flow)


def _check_timer(definition: Any) -> None:
    event = definition.getparent()
    for kind in _TIMER_KINDS:
        expression = definition.find(f"bpmn:{kind}", NSMAP)
        if expression is not None:
            literal = checks.timer_literal(expression.text)
            if literal is None:
                _compile(expression.text, "eval", f"timer {kind}", event)
            elif error := checks.check_timer_literal(kind, literal):
                raise _Problem(f"timer {kind}: {error}", event)
            return
    raise _Problem("timer has no timeDate, timeDuration or timeCycle", event)


def _check_properties(task: Any) -> None:
    properties: dict[str, str] = {}
    for prop in task.iterfind(
            "bpmn:extensionElements/spiffworkflow:properties//spiffworkflow:property", NSMAP):
        key, value = prop.get("name"), prop.get("value")
        if not key or value is None:  # SpiffWorkflow would fail with KeyError('name')
            raise _Problem("spiffworkflow:property needs both name and value", task)
        if key not in GOVFLOW_PROPERTIES:  # a typo here would silently drop a legal limit
            raise _Problem(f"unknown property {key!r}; govflow reads "
                           f"{', '.join(GOVFLOW_PROPERTIES)}", task)
        properties[key] = value
        kind = GOVFLOW_PROPERTIES[key]
        if kind == "expression":
            _compile(value, "eval", f"property {key}", task)
        elif kind == "groups" and not _all_match(_GROUP, value):
            raise _Problem(f"candidateGroups {value!r} is not a comma-separated list of "
                           "group names (use candidateGroupsExpression for an expression)", task)
        elif kind == "rules" and not _all_match(_RULE, value):
            raise _Problem(f"rule {value!r} is not a comma-separated list of rule ids "
                           "such as S3,S4", task)
        elif kind == "flag" and value.strip().lower() not in ("true", "false"):
            raise _Problem(f"{key} {value!r} is not true or false", task)
        elif kind == "approval" and (task.find("bpmn:multiInstanceLoopCharacteristics", NSMAP)
                                     is None or not _APPROVAL.match(value.strip().lower())):
            raise _Problem(f"approvalMode {value!r} needs a multi-instance task and one of "
                           "all, any or a number of signatures", task)
        elif kind == "form" and not _FORM.match(value):
            raise _Problem(f"form {value!r} is not a .json file name under workflows/forms/",
                           task)
    if "candidateGroups" in properties and "candidateGroupsExpression" in properties:
        raise _Problem("set candidateGroups or candidateGroupsExpression, not both", task)
    if "dueFrom" in properties and "dueWorkingDays" not in properties:
        raise _Problem("dueFrom is set but dueWorkingDays is not", task)


def _check_assignees(root: Any, specs: list[Any]) -> None:
    """Every human task needs candidate groups, its own or its lane's, or nobody could claim it.

    Checked on the built specs, because SpiffWorkflow decides the lane (a task inside an
    embedded subprocess takes the subprocess's lane), and the inbox will use its answer.
    """
    nodes = {el.get("id"): el for el in root.iter(etree.Element) if el.get("id")}
    missing = []
    for spec in specs:
        for task_spec in spec.task_specs.values():
            if not getattr(task_spec, "manual", False):
                continue
            properties = (getattr(task_spec, "extensions", None) or {}).get("properties", {})
            if not (properties.get("candidateGroups") or properties.get("assigneeExpression")
                    or properties.get("candidateGroupsExpression")):
                missing.append((nodes[task_spec.bpmn_id], task_spec.lane))
    if missing:
        first, lane = min(missing, key=lambda found: found[0].sourceline or 0)
        where = (f"and its lane {lane!r} names no candidateGroups property" if lane
                 else "and no lane with a candidateGroups property")
        raise _Problem("human task has no candidateGroups, no candidateGroupsExpression "
                       f"{where}, so nobody could claim it", first)


def _compile(source: str | None, mode: str, what: str, owner: Any) -> None:
    if source is None or not source.strip():
        raise _Problem(f"empty {what}", owner)
    error = (check_script(source, mode) or check_constant(what, source)
             or checks.undefined_names(source, mode))
    if error:
        raise _Problem(f"{what} is rejected: {error}", owner)


def _all_match(pattern: re.Pattern[str], value: str) -> bool:
    return all(pattern.match(part.strip()) for part in value.split(","))


def _from_spiff(exc: ValidationException, root: Any, filename: str) -> BpmnValidationError:
    """Keep the element and line SpiffWorkflow knows, and find the ones it loses: it sets
    `line_number` from an attribute lxml elements do not have, and XSD errors carry a line
    but no element."""
    message = exc.args[0] if exc.args else type(exc).__name__
    message = " ".join([str(message), *getattr(exc, "notes", [])])
    element = exc.id or None
    line = exc.line_number if isinstance(exc.line_number, int) and exc.line_number > 0 else None
    if element and line is None:
        node = next((n for n in root.iter(etree.Element) if n.get("id") == element), None)
        line = node.sourceline if node is not None else None
    elif line and not element:
        element = _element_at(root, line, message)
    message = message.replace(f"{{{BPMN_NS}}}", "bpmn:").replace(f"{{{SPIFF_NS}}}",
                                                                 "spiffworkflow:")
    return BpmnValidationError(_one_line(message), file=filename, element=element, line=line)


def _element_at(root: Any, line: int, message: str) -> str | None:
    """Id of the element an XSD message names ("Element '{ns}tag' ..."), or of its nearest
    ancestor with an id; lxml's error path has no positions to find it by."""
    tag = re.match(r"Element '([^']+)'", message)
    for node in root.iter(tag.group(1) if tag else etree.Element):
        if node.sourceline == line:
            return next((n.get("id") for n in (node, *node.iterancestors()) if n.get("id")), None)
    return None


def _one_line(text: str) -> str:
    return " ".join(str(text).split())
