"""Which person is behind an AWS identity: the prod two-person rule compares people, not strings.

An approval in SageMaker Studio is recorded with the Studio user profile name; one made with the
API or console, with the caller's IAM identity (often an assumed-role session). A promotion comes
from `sts:GetCallerIdentity`. These name the same person in different ways, so:

1. an entry of `deployment.people` (a Studio user profile name or an exact IAM ARN -> person) wins;
2. an assumed-role session ARN names the session's person (IAM Identity Center and federated
   logins name the session after the user, e.g. `.../AWSReservedSSO_MLLead_x/jane@example.org`);
3. an IAM user ARN names that user;
4. anything else (a Studio profile not in the map, a role without a session, root, "unknown")
   cannot be told, and the rule refuses rather than guess.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_SESSION = re.compile(r"^arn:aws[a-z-]*:sts::\d{12}:assumed-role/[^/]+/(?P<person>[^/]+)$")
_USER = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:user/(?:[^/]+/)*(?P<person>[^/]+)$")


def person_of(identity: str, people: Mapping[str, str]) -> str | None:
    """The person (lower-cased) an approver or promoter identity names, or None if it cannot be told."""
    if identity in people:
        return people[identity].strip().lower()
    match = _SESSION.match(identity) or _USER.match(identity)
    return match.group("person").lower() if match else None


def two_person_refusal(approver: str, promoter: str, people: Mapping[str, str], version: int) -> str | None:
    """Why the two-person rule refuses this promotion, or None when two different people are involved."""
    approved_by, promoted_by = person_of(approver, people), person_of(promoter, people)
    if approved_by is None:
        return (f"two-person rule: cannot tell which person approved v{version} ({approver}); map it to a person "
                "in deployment.people")
    if promoted_by is None:
        return (f"two-person rule: cannot tell which person is promoting ({promoter}); promote as an IAM user or "
                "a role session named for you, or map the identity in deployment.people")
    if approved_by == promoted_by:
        return f"two-person rule: {promoted_by} approved v{version} and cannot also promote it"
    return None
