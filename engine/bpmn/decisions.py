"""Decision tables (DMN) for administrators: read the table in force, deploy an edited one.

A process version carries the tables it calls, embedded at deploy (engine/bpmn/parse.py), so
the table in force is the one in the newest version of a process that calls it. An
edited table is deployed by embedding it, in place of the old one, into the newest
version of every such process; each becomes a new version after the same checks as
any deploy (validation and lint), and running cases keep the table they started with.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from engine.bpmn.lint import ModelRefused, lint
from engine.bpmn.parse import DMN_NAMESPACES, NSMAP, embed_decisions
from engine.cases.govflow import Govflow
from engine.cases.models import DeployResult
from engine.errors import InvalidInput, NotFound

MAX_TABLE_BYTES = 512 * 1024


@dataclass(frozen=True)
class Decision:
    id: str
    name: str
    callers: tuple[str, ...]    # processes whose newest version calls it


class Decisions:
    def __init__(self, gf: Govflow) -> None:
        self.gf = gf

    def all(self) -> list[Decision]:
        found = []
        for path in sorted(self.gf.definitions.decisions_dir.glob("*.dmn")):
            table = _parse(path.read_bytes())
            name = next((d.get("name") for d in _decisions(table)), None) or path.stem
            found.append(Decision(path.stem, name, tuple(sorted(self._callers(path.stem)))))
        return found

    def xml(self, decision_id: str) -> bytes:
        """The table in force: embedded in the newest caller, else the shipped file."""
        for root in self._callers(decision_id).values():
            for task in _calling(root, decision_id):
                for dmn in _tables(task):
                    return etree.tostring(dmn, xml_declaration=True, encoding="UTF-8")
        return self._file(decision_id)

    def deploy(self, decision_id: str, dmn: bytes, admin: str) -> list[DeployResult]:
        if not dmn or len(dmn) > MAX_TABLE_BYTES:
            raise InvalidInput(f"a decision table is 1 byte to {MAX_TABLE_BYTES // 1024} KB",
                               reason="size", kb=MAX_TABLE_BYTES // 1024)
        table = _parse(dmn)
        if decision_id not in {d.get("id") for d in _decisions(table)}:
            raise InvalidInput(f"the table does not define decision {decision_id!r}",
                               reason="no_decision", decision=decision_id)
        callers = self._callers(decision_id)
        if not callers:
            raise NotFound(f"no deployed process calls decision {decision_id!r}")
        done = []
        for process_id, root in callers.items():
            for task in _calling(root, decision_id):
                for old in _tables(task):
                    old.getparent().remove(old)
            xml = embed_decisions(etree.tostring(root, xml_declaration=True, encoding="UTF-8"),
                                  f"{process_id}.bpmn", lambda _id: dmn)
            problems = lint(xml, f"{process_id}.bpmn", self.gf)
            if problems:
                raise ModelRefused(problems)
            done.append(self.gf.deploy(xml, f"{process_id}.bpmn", by=admin))
        return done

    def _callers(self, decision_id: str) -> dict[str, etree._Element]:
        """Process id -> the parsed newest version, for each process that calls the decision."""
        found = {}
        with self.gf.db.read() as conn:
            for process_id in sorted({r["process_id"]
                                      for r in self.gf.definitions.list_versions(conn)}):
                latest = self.gf.definitions.latest(conn, process_id)
                root = _parse(self.gf.definitions.xml(conn, latest.id))
                if _calling(root, decision_id):
                    found[process_id] = root
        return found

    def _file(self, decision_id: str) -> bytes:
        data = self.gf.definitions._decision_file(decision_id)
        if data is None:
            raise NotFound(f"no decision table {decision_id!r}")
        return data


def _parse(xml: bytes) -> etree._Element:
    try:
        return etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        raise InvalidInput(f"the table is not well-formed XML: {exc.msg}",
                           reason="not_xml") from None


def _decisions(table: etree._Element) -> list[etree._Element]:
    return [n for n in table.iter(etree.Element) if etree.QName(n).localname == "decision"
            and etree.QName(n).namespace in DMN_NAMESPACES]


def _calling(root: etree._Element, decision_id: str) -> list[etree._Element]:
    return [task for task in root.iterfind(".//bpmn:businessRuleTask", NSMAP)
            if (task.findtext("bpmn:extensionElements/spiffworkflow:calledDecisionId",
                              namespaces=NSMAP) or "").strip() == decision_id]


def _tables(task: etree._Element) -> list[etree._Element]:
    return [n for n in task.iter(etree.Element) if etree.QName(n).localname == "definitions"
            and etree.QName(n).namespace in DMN_NAMESPACES]
