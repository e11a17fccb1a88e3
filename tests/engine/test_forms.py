"""Task forms: validation by field, and the labels they give case data."""

from __future__ import annotations

import json

import pytest

from engine.cases.forms import FormLibrary
from engine.errors import EngineError, InvalidTaskData


@pytest.fixture
def forms(tmp_path):
    def write(name, properties, required=()):
        schema = {"type": "object", "additionalProperties": False, "properties": properties,
                  "required": list(required)}
        (tmp_path / name).write_text(json.dumps(schema, ensure_ascii=False), encoding="utf-8")

    write("probe.start.json", {"dataset": {"type": "string", "title": "数据资源名称"}},
          required=["dataset"])
    write("probe.review.json", {"dataset": {"type": "string", "title": "另一个标题"},
                                "granted_items": {"type": "string", "title": "同意共享的数据项"}})
    write("other.start.json", {"colour": {"type": "string", "title": "颜色"}})
    return FormLibrary(tmp_path)


def test_case_data_is_labelled_by_every_form_of_its_process(forms: FormLibrary) -> None:
    fields = forms.process_fields("probe")
    assert set(fields) == {"dataset", "granted_items"}
    assert fields["granted_items"]["title"] == "同意共享的数据项"


def test_each_bad_field_is_named_and_unknown_fields_are_refused(forms: FormLibrary) -> None:
    with pytest.raises(InvalidTaskData) as refused:
        forms.validate("probe.start.json", {"colour": "red"})
    assert set(refused.value.errors) == {"dataset", "colour"}


def test_a_form_outside_the_forms_folder_is_refused(forms: FormLibrary) -> None:
    with pytest.raises(EngineError, match="not in"):
        forms.validate("../probe.start.json", {})
