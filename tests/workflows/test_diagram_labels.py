"""Flow labels in the shipped diagrams sit by their own flow and over no other label."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from lxml import etree

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
NS = {"bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
      "dc": "http://www.omg.org/spec/DD/20100524/DC",
      "di": "http://www.omg.org/spec/DD/20100524/DI"}


def _edges(path: Path) -> dict[str, tuple[list[tuple[float, float]], tuple[float, ...] | None]]:
    tree = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True))
    found = {}
    for edge in tree.iterfind(".//bpmndi:BPMNEdge", NS):
        points = [(float(p.get("x")), float(p.get("y"))) for p in edge.iterfind("di:waypoint", NS)]
        bounds = edge.find("bpmndi:BPMNLabel/dc:Bounds", NS)
        label = None if bounds is None else tuple(
            float(bounds.get(k)) for k in ("x", "y", "width", "height"))
        found[edge.get("bpmnElement")] = (points, label)
    return found


def _distance(point: tuple[float, float], line: list[tuple[float, float]]) -> float:
    best = math.inf
    for (x1, y1), (x2, y2) in zip(line, line[1:]):
        dx, dy = x2 - x1, y2 - y1
        t = 0.0 if dx == dy == 0 else max(0.0, min(1.0, ((point[0] - x1) * dx + (point[1] - y1) * dy)
                                                   / (dx * dx + dy * dy)))
        best = min(best, math.dist(point, (x1 + t * dx, y1 + t * dy)))
    return best


def _named_flows(path: Path) -> set[str]:
    tree = etree.parse(str(path))
    return {f.get("id") for f in tree.iter("{http://www.omg.org/spec/BPMN/20100524/MODEL}sequenceFlow")
            if (f.get("name") or "").strip()}


@pytest.mark.parametrize("name", ["share_coordination", "complaint", "data_error_check"])
def test_each_flow_label_is_nearest_its_own_flow_and_overlaps_no_other(name: str) -> None:
    path = WORKFLOWS / f"{name}.bpmn"
    edges = _edges(path)
    labels = {flow: label for flow, (_, label) in edges.items()
              if label and flow in _named_flows(path)}
    for flow, (x, y, w, h) in labels.items():
        centre = (x + w / 2, y + h / 2)
        nearest = min(edges, key=lambda other: _distance(centre, edges[other][0]))
        assert nearest == flow, f"the label of {flow} sits by {nearest}"
    boxes = list(labels.items())
    for i, (a, (ax, ay, aw, ah)) in enumerate(boxes):
        for b, (bx, by, bw, bh) in boxes[i + 1:]:
            assert ax + aw <= bx or bx + bw <= ax or ay + ah <= by or by + bh <= ay, (a, b)
