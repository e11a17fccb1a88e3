"""The portal: anonymous submission with a tracking code, lookup, limits; department forms."""

from __future__ import annotations

import re

from tests.web.conftest import OBJECTION, make_app


def submit(client, data=OBJECTION) -> tuple[str, str]:
    html = client.post("/portal/apply/public_probe", data=data).get_data(as_text=True)
    number = re.search(r'id="case-number">([^<]+)<', html).group(1)
    code = re.search(r'id="tracking-code">([^<]+)<', html).group(1)
    return number, code


def test_the_portal_lists_public_procedures_only(client) -> None:
    html = client.get("/portal").get_data(as_text=True)
    assert "/portal/apply/public_probe" in html and "异议申请（测试）" in html
    assert "share_probe" not in html
    assert client.get("/portal/apply/share_probe").status_code == 404


def test_a_citizen_submits_without_an_account_and_gets_a_number_and_code(client, wgf) -> None:
    form = client.get("/portal/apply/public_probe").get_data(as_text=True)
    assert 'name="requester_name"' in form and "侵犯隐私或商业秘密" in form
    number, code = submit(client)
    assert re.fullmatch(r"GF\d{6}", number) and re.fullmatch(r"([A-Z2-9]{4}-){3}[A-Z2-9]{4}", code)
    case = wgf.get_case(int(number[2:]))
    assert case.requester == "张三" and case.started_by is None
    assert [t.candidate_groups for t in case.tasks] == [("data_authority",)]


def test_a_citizen_tracks_status_and_outcome_with_number_and_code(client, wgf) -> None:
    number, code = submit(client)
    html = client.post("/portal/track", data={"number": number, "code": code.lower()}
                       ).get_data(as_text=True)
    assert number in html and "办理中" in html and "处理异议" in html
    task = wgf.get_case(int(number[2:])).tasks[0]
    wgf.complete_task(task.id, "dora", {"decision": "correct", "decision_reason": "已核实更正"})
    html = client.post("/portal/track", data={"number": number, "code": code}
                       ).get_data(as_text=True)
    assert "已办结" in html and "已更正" in html and "已核实更正" in html
    assert "corrected" not in html                       # words, never the model's keys
    assert "dora" not in html                            # never reviewers' names


def test_a_wrong_code_looks_exactly_like_an_unknown_case(client) -> None:
    number, code = submit(client)
    other_number, _ = submit(client)
    wrong = client.post("/portal/track", data={"number": other_number, "code": code})
    unknown = client.post("/portal/track", data={"number": "GF999999", "code": code})
    assert wrong.status_code == unknown.status_code == 404
    def strip(response) -> str:
        return response.get_data(as_text=True).replace(other_number, "").replace("GF999999", "")

    assert strip(wrong) == strip(unknown)
    assert "张三" not in strip(wrong)


def test_invalid_submissions_show_field_errors_and_keep_input(client) -> None:
    response = client.post("/portal/apply/public_probe",
                           data={"requester_name": "李四", "details": "短"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'value="李四"' in html and html.count('class="field-error"') >= 3


def test_anonymous_submission_and_lookup_are_rate_limited(wgf, tmp_path) -> None:
    client = make_app(wgf, tmp_path, RATELIMIT_ENABLED=True,
                      PORTAL_SUBMIT_LIMIT="2 per minute",
                      PORTAL_LOOKUP_LIMIT="3 per minute").test_client()
    codes = [client.post("/portal/apply/public_probe", data=OBJECTION).status_code
             for _ in range(3)]
    assert codes == [200, 200, 429]
    codes = [client.post("/portal/track", data={"number": "GF000001", "code": "X"}).status_code
             for _ in range(4)]
    assert codes == [404, 404, 404, 429]


def test_department_users_submit_for_their_own_department_only(wgf, client, auth) -> None:
    from engine.cases.desk import Desk
    from engine.errors import InvalidTaskData
    desk: Desk = client.application.extensions["desk"]
    carl = desk.viewer("carl")
    case = desk.start(carl, "share_probe", {"share_class": "conditional",
                                              "provider_dept": "dept_health",
                                              "requester_dept": "dept_civil", "dataset": "x"})
    assert case.started_by == "carl"
    try:
        desk.start(carl, "share_probe", {"share_class": "conditional",
                                           "provider_dept": "dept_health",
                                           "requester_dept": "dept_health", "dataset": "x"})
    except InvalidTaskData as refused:
        assert "requester_dept" in refused.errors
    else:
        raise AssertionError("carl submitted for another department")
    auth.login("carl")
    assert client.get("/cases/new/public_probe").status_code == 404
