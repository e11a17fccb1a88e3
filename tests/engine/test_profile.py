"""Jurisdiction profiles: one per seed regulation, chosen by a setting, checked on load."""

from __future__ import annotations

import pytest

from engine.errors import EngineError
from engine.rules.profile import JurisdictionProfile, load_profile, shipped_profiles

# What the regulation texts say, profile by profile (workflows/README.md tables them).
EXPECTED = {
    "zhejiang": {"share_joint_review": True, "share_silence_approves": False},
    "guangdong": {"share_joint_review": True, "coordination_body": "leading_group"},
    "zhenhai": {"share_joint_review": True, "share_silence_approves": False},
    "hubei": {"share_joint_review": False, "share_silence_approves": True,
              "share_review_lead": "provider"},
    "jilin": {"complaint_counted_from": "acceptance", "share_review_lead": "data_authority"},
}
LIMITS = {"guangdong": {"catalog_answer_days": 15}, "zhenhai": {"data_error_answer_days": 5},
          "hubei": {"data_error_answer_days": 3, "share_answer_days": 10}}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_S5_each_shipped_profile_carries_its_regulations_switches_and_limits(name) -> None:
    profile = load_profile(name)
    assert profile.name == name and profile.title and profile.regulation
    for switch, value in EXPECTED[name].items():
        assert profile.switches[switch] == value, switch
    for limit, days in LIMITS.get(name, {}).items():
        assert profile.limits[limit] == days, limit
    # The 0/1 mirrors older process versions read agree with the switches.
    assert profile.limits["share_joint_review"] == int(profile.switches["share_joint_review"])


def test_S5_the_profile_is_a_setting_by_short_name_or_path(monkeypatch, tmp_path) -> None:
    assert shipped_profiles() == sorted(EXPECTED)
    monkeypatch.setenv("GOVFLOW_PROFILE", "jilin")
    assert load_profile().name == "jilin"
    own = tmp_path / "city.toml"
    own.write_text('name = "city"\n[limits]\nshare_answer_days = 15\n'
                   '[switches]\nshare_silence_approves = true\n', encoding="utf-8")
    monkeypatch.setenv("GOVFLOW_PROFILE", str(own))
    city = load_profile()
    assert (city.name, city.limits["share_answer_days"], city.switches["share_silence_approves"],
            city.switches["share_joint_review"]) == ("city", 15, True, False)
    monkeypatch.delenv("GOVFLOW_PROFILE")
    default = load_profile()
    assert default.name == "default" and default.switches["share_silence_approves"] is False


@pytest.mark.parametrize("data, complaint", [
    ({"switches": {"share_silence_approves": "yes"}}, "wrong type"),
    ({"switches": {"silence": True}}, "unknown switches"),
    ({"limits": {"share_answer_days": -1}}, "whole numbers"),
    ({"limits": {"share_answer_days": True}}, "whole numbers"),
])
def test_S5_a_malformed_profile_is_refused_with_the_reason(data, complaint) -> None:
    with pytest.raises(EngineError) as refused:
        JurisdictionProfile.from_dict(data, source="bad.toml")
    assert complaint in str(refused.value) and "bad.toml" in str(refused.value)


def test_S5_an_unknown_short_name_lists_the_shipped_profiles() -> None:
    with pytest.raises(EngineError) as refused:
        load_profile("shanghai")
    assert "hubei" in str(refused.value) and "shanghai" in str(refused.value)


def test_S5_a_profile_written_before_switches_still_loads() -> None:
    old = JurisdictionProfile.from_dict({"limits": {"share_joint_review": 1},
                                         "silence_approves": {"share_request": True}})
    assert old.switches["share_joint_review"] is True
    assert old.switches["share_silence_approves"] is True
