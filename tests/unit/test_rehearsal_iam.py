"""The rehearsal's IAM evaluation: calls become the requests AWS authorizes, judged as AWS judges them."""

from __future__ import annotations

import pytest

from local.iam import CallChecker, Facts, Request, evaluate, requests_for

ACCOUNT, REGION = "123456789012", "us-east-1"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/k-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ingest"
FACTS = Facts(account=ACCOUNT, region=REGION, bucket_keys={"lake": KEY, "logs": None},
              queue_keys={f"arn:aws:sqs:{REGION}:{ACCOUNT}:dlq": KEY})


def allow(actions, resources, condition=None, sid="S"):
    statement = {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}
    if condition:
        statement["Condition"] = condition
    return statement


def test_s3_operations_map_to_their_iam_actions_and_object_arns():
    assert requests_for("s3", "ListObjectsV2", {"Bucket": "logs", "Prefix": "a/"}, FACTS) == [
        Request("s3:ListBucket", "arn:aws:s3:::logs", {"s3:prefix": "a/"})]
    assert [r.action for r in requests_for("s3", "HeadObject", {"Bucket": "logs", "Key": "k"}, FACTS)] == [
        "s3:GetObject"]
    versioned = requests_for("s3", "GetObject", {"Bucket": "logs", "Key": "k", "VersionId": "v"}, FACTS)
    assert [r.action for r in versioned] == ["s3:GetObjectVersion"]


def test_writing_to_an_sse_kms_bucket_also_asks_for_the_key_through_s3():
    requests = requests_for("s3", "PutObject", {"Bucket": "lake", "Key": "curated/x"}, FACTS)
    assert requests[1] == Request("kms:GenerateDataKey", KEY, {"kms:ViaService": f"s3.{REGION}.amazonaws.com"})


def test_copy_reads_the_source_and_writes_the_target():
    requests = requests_for("s3", "CopyObject", {"Bucket": "logs", "Key": "b", "CopySource": {"Bucket": "lake",
                                                                                            "Key": "a"}}, FACTS)
    assert [(r.action, r.resource) for r in requests] == [
        ("s3:GetObject", "arn:aws:s3:::lake/a"), ("kms:Decrypt", KEY), ("s3:PutObject", "arn:aws:s3:::logs/b")]


def test_sending_to_an_encrypted_queue_needs_the_key_and_the_queue_arn():
    url = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/dlq"
    requests = requests_for("sqs", "SendMessage", {"QueueUrl": url, "MessageBody": "x"}, FACTS)
    assert [(r.action, r.resource) for r in requests] == [
        ("sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:dlq"), ("kms:GenerateDataKey", KEY)]


def test_sagemaker_and_ssm_calls_are_authorized_against_their_resource_arns():
    [start] = requests_for("api.sagemaker", "StartPipelineExecution", {"PipelineName": "Training"}, FACTS)
    assert start == Request("sagemaker:StartPipelineExecution",
                            f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/training")
    [get] = requests_for("ssm", "GetParameter", {"Name": "/mlstack/dev/pointer"}, FACTS)
    assert get.resource == f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/mlstack/dev/pointer"


@pytest.mark.parametrize(("statements", "request_", "allowed"), [
    ([allow("s3:GetObject", "arn:aws:s3:::lake/curated/*")], Request("s3:GetObject", "arn:aws:s3:::lake/curated/a"),
     True),
    ([allow("s3:GetObject", "arn:aws:s3:::lake/curated/*")], Request("s3:GetObject", "arn:aws:s3:::lake/raw/a"),
     False),
    ([allow("s3:GetObject", "arn:aws:s3:::lake/*")], Request("s3:PutObject", "arn:aws:s3:::lake/a"), False),
    ([allow("S3:Get*", "*")], Request("s3:GetObject", "arn:aws:s3:::lake/a"), True),
    ([allow("kms:Decrypt", KEY, {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}})],
     Request("kms:Decrypt", KEY, {"kms:ViaService": "s3.us-east-1.amazonaws.com"}), True),
    ([allow("kms:Decrypt", KEY, {"StringEquals": {"kms:ViaService": "sqs.us-east-1.amazonaws.com"}})],
     Request("kms:Decrypt", KEY, {"kms:ViaService": "s3.us-east-1.amazonaws.com"}), False),
    ([allow("kms:Decrypt", KEY, {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}})],
     Request("kms:Decrypt", KEY), False),  # a direct call carries no kms:ViaService
    ([allow("s3:*", "*"), {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}],
     Request("s3:DeleteObject", "arn:aws:s3:::lake/a"), False),
])
def test_identity_policies_decide_like_aws(statements, request_, allowed):
    assert evaluate(statements, None, request_, ROLE).allowed is allowed


def test_a_tls_only_bucket_policy_does_not_deny_https_calls_but_an_explicit_deny_does():
    tls_only = {"Statement": [{"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*", "Resource": "*",
                               "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}
    deny_role = {"Statement": [{"Effect": "Deny", "Principal": {"AWS": ROLE}, "Action": "s3:GetObject",
                                "Resource": "*"}]}
    identity = [allow("s3:GetObject", "*")]
    request = Request("s3:GetObject", "arn:aws:s3:::lake/a")
    assert evaluate(identity, tls_only, request, ROLE).allowed
    assert not evaluate(identity, deny_role, request, ROLE).allowed


def test_condition_keys_it_cannot_judge_are_listed():
    decision = evaluate([allow("s3:GetObject", "*", {"StringEquals": {"aws:RequestTag/team": "ml"}})], None,
                        Request("s3:GetObject", "arn:aws:s3:::lake/a"), ROLE)
    assert decision.allowed and decision.unevaluated == {"StringEquals aws:RequestTag/team"}


def test_the_checker_records_every_request_and_names_action_and_resource_when_denying():
    checker = CallChecker(ROLE, [{"Statement": [allow("s3:PutObject", "arn:aws:s3:::lake/*")]}], FACTS)
    denied = checker.check("s3", "PutObject", {"Bucket": "lake", "Key": "x"})
    assert [request.action for request in denied] == ["kms:GenerateDataKey"]
    assert [call["allowed"] for call in checker.checked] == [True, False]
    message = checker.access_denied_message(denied[0])
    assert ROLE in message and "kms:GenerateDataKey" in message and KEY in message
