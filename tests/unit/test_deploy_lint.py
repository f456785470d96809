"""Deployment lint: parliament on the IAM policies Zappa attaches, and the one deployment bucket per stage."""
import gc
import json
import re
import warnings

import pytest

with warnings.catch_warnings():
    # parliament 1.6.4 opens its config.yaml at import and never closes it.
    warnings.simplefilter("ignore", ResourceWarning)
    from parliament import analyze_policy_string
    gc.collect()

from tests.harness import ROOT
from tests.unit.test_deploy_config import STAGES, stage_config

# S3's bucket naming rules for general purpose buckets (3-63 chars, lower case, digits, dots, hyphens).
BUCKET_NAME = re.compile(r"^(?!xn--)(?!.*\.\.)(?!.*-s3alias$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def findings(document: str) -> list[tuple[str, str, str]]:
    """Returns parliament's findings (with its community auditors) for a policy document, as plain tuples."""
    policy = analyze_policy_string(document, include_community_auditors=True)
    return [(finding.issue, finding.severity, str(finding.detail)) for finding in policy.findings]


@pytest.mark.parametrize("stage", STAGES)
def test_parliament_finds_nothing_in_the_attached_policy(stage):
    document = (ROOT / stage_config(stage)["attach_policy"]).read_text()
    assert findings(document) == []


@pytest.mark.parametrize(("statement", "issue"), [
    ({"Effect": "Allow", "Action": "dynamodb:GetItme", "Resource": "*"}, "UNKNOWN_ACTION"),
    ({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:dynamodb:*:*:table/t"}, "RESOURCE_MISMATCH"),
    ({"Effect": "Allow", "Action": ["iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction"],
      "Resource": "*"}, "PRIVILEGE_ESCALATION"),
    ({"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*"}, "RESOURCE_STAR"),
])
def test_parliament_reports_a_broken_policy(statement, issue):
    # The linter is live: each of these mistakes in a policy would fail the build.
    document = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    assert issue in {found[0] for found in findings(document)}


def test_each_stage_deploys_through_its_own_named_bucket():
    # Without s3_bucket, every `zappa deploy/update` creates a new random zappa-xxxxxxxx bucket.
    buckets = {stage: stage_config(stage)["s3_bucket"] for stage in STAGES}
    assert len(set(buckets.values())) == len(STAGES), buckets
    assert all(BUCKET_NAME.match(name) and stage in name for stage, name in buckets.items()), buckets
