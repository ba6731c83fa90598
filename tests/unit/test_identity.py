"""The two-person rule compares people behind real identity formats, and refuses when it cannot tell."""

from __future__ import annotations

import pytest

from mlstack.identity import person_of, two_person_refusal

PEOPLE = {"jane-doe": "Jane@Example.org", "arn:aws:sts::123456789012:assumed-role/CiDeploy/run-77": "release-bot"}


@pytest.mark.parametrize(("identity", "person"), [
    ("jane-doe", "jane@example.org"),  # a Studio user profile, mapped
    ("arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_MLLead_0a1b2c/jane@example.org", "jane@example.org"),
    ("arn:aws-us-gov:sts::123456789012:assumed-role/Release/bob", "bob"),
    ("arn:aws:iam::123456789012:user/teams/ml/carol", "carol"),
    ("arn:aws:sts::123456789012:assumed-role/CiDeploy/run-77", "release-bot"),  # an exact ARN, mapped
    ("other-profile", None),  # a Studio profile nobody mapped
    ("arn:aws:iam::123456789012:role/MLLead", None),  # a role is not a person
    ("arn:aws:iam::123456789012:root", None),
    ("unknown", None),
])
def test_identities_name_their_person(identity, person):
    assert person_of(identity, PEOPLE) == person


def test_the_same_person_through_studio_and_an_sso_session_is_refused():
    refusal = two_person_refusal(
        "jane-doe", "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Release_9f/jane@example.org", PEOPLE, 3)
    assert refusal == "two-person rule: jane@example.org approved v3 and cannot also promote it"


def test_two_people_pass():
    assert two_person_refusal("jane-doe", "arn:aws:sts::123456789012:assumed-role/Release/bob", PEOPLE, 3) is None


def test_an_approver_or_promoter_that_cannot_be_told_is_refused_not_guessed():
    assert "cannot tell which person approved v3 (other-profile)" in two_person_refusal(
        "other-profile", "arn:aws:sts::123456789012:assumed-role/Release/bob", PEOPLE, 3)
    assert "cannot tell which person is promoting" in two_person_refusal(
        "jane-doe", "arn:aws:iam::123456789012:role/Release", PEOPLE, 3)
