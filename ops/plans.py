"""Pure diffs of desired against described AWS state, as the steps a command prints and applies."""
import math
from dataclasses import dataclass, field
from typing import Any

from ops.specs import LogGroupSpec

CREATE, UPDATE, UNCHANGED, DELETE, ABSENT, SKIP = "create", "update", "unchanged", "delete", "absent", "skip"
CHANGES = (CREATE, UPDATE, DELETE)
PENDING = "PendingConfirmation"  # what SNS lists as the ARN of a subscription nobody has confirmed yet


@dataclass(frozen=True)
class Step:
    """One resource's line of a plan: `kind name: action (note)`; `data` is what applying it needs."""

    kind: str
    name: str
    action: str
    note: str = ""
    data: Any = field(default=None, compare=False, repr=False)

    @property
    def changes(self) -> bool:
        return self.action in CHANGES

    def __str__(self) -> str:
        return f"{self.kind} {self.name}: {self.action}" + (f" ({self.note})" if self.note else "")


def _matches(desired: Any, current: Any) -> bool:
    """Returns whether `current` has every value `desired` sets; keys AWS adds on its own are ignored."""
    if isinstance(desired, dict):
        return isinstance(current, dict) and all(
            key in current and _matches(value, current[key]) for key, value in desired.items()
        )
    if isinstance(desired, list):
        return (isinstance(current, list) and len(desired) == len(current)
                and all(_matches(want, have) for want, have in zip(desired, current, strict=True)))
    if isinstance(desired, float) or isinstance(current, float):
        return isinstance(current, int | float) and math.isclose(desired, current, rel_tol=1e-9)
    return desired == current


def topic_plan(*, name: str, arn: str, exists: bool) -> list[Step]:
    """Returns the step that creates the alert topic, or says it is there."""
    return [Step("topic", name, UNCHANGED if exists else CREATE, data=arn)]


def subscriptions_plan(*, topic_arn: str, emails: list[str], current: list[dict]) -> list[Step]:
    """Returns one step per address: subscribe it unless it already is (pending or confirmed).

    Email subscriptions already on the topic but not asked for are listed as unchanged: they are kept.
    """
    existing = {sub["Endpoint"].lower(): sub for sub in current if sub.get("Protocol") == "email"}
    steps, seen = [], set()
    for email in emails:
        if email.lower() in seen:
            continue
        seen.add(email.lower())
        subscription = existing.get(email.lower())
        if subscription is None:
            steps.append(Step("subscription", email, CREATE, "SNS emails a confirmation link", data=topic_arn))
        else:
            steps.append(_subscription_kept(subscription, note=""))
    for address, subscription in existing.items():
        if address not in seen:
            steps.append(_subscription_kept(subscription, note="not requested; kept"))
    return steps


def _subscription_kept(subscription: dict, *, note: str) -> Step:
    if subscription["SubscriptionArn"] == PENDING:
        note = ", ".join(filter(None, ["pending confirmation", note]))
    return Step("subscription", subscription["Endpoint"], UNCHANGED, note)


def alarms_plan(*, desired: list[dict], current: dict[str, dict]) -> list[Step]:
    """Returns a create, update or unchanged step per PutMetricAlarm request in `desired`."""
    steps = []
    for request in desired:
        name = request["AlarmName"]
        described = current.get(name)
        if described is None:
            steps.append(Step("alarm", name, CREATE, data=request))
        elif _matches(request, described):
            steps.append(Step("alarm", name, UNCHANGED, data=request))
        else:
            steps.append(Step("alarm", name, UPDATE, data=request))
    return steps


def dashboard_plan(*, name: str, desired: dict, current: dict | None) -> list[Step]:
    """Returns the step that creates or replaces the dashboard, unless its body is already `desired`."""
    if current is None:
        return [Step("dashboard", name, CREATE, data=desired)]
    return [Step("dashboard", name, UNCHANGED if current == desired else UPDATE, data=desired)]


def log_groups_plan(*, desired: list[LogGroupSpec], current: dict[str, dict | None]) -> list[Step]:
    """Returns a step per log group: set its retention (creating the group if missing), or nothing."""
    steps = []
    for spec in desired:
        group = current.get(spec.name)
        days = f"{spec.retention_days} days"
        if group is None:
            steps.append(Step("log retention", spec.name, CREATE, f"{days}; creates the log group", data=spec))
        elif group.get("retentionInDays") == spec.retention_days:
            steps.append(Step("log retention", spec.name, UNCHANGED, days, data=spec))
        else:
            before = f"{group['retentionInDays']} days" if group.get("retentionInDays") else "never expire"
            steps.append(Step("log retention", spec.name, UPDATE, f"{before} -> {days}", data=spec))
    return steps


def api_log_group_skipped(*, api_name: str, api_ids: list[str]) -> list[Step]:
    """Returns a skip step saying why the API's execution log group is left alone, when it is; else nothing.

    Commands print it after the plan: it is not a change, and not a resource that exists.
    """
    if len(api_ids) == 1:
        return []
    why = ("the API is not deployed yet; run again after deploying" if not api_ids
           else f"{len(api_ids)} REST APIs share that name")
    return [Step("log retention", f"API-Gateway-Execution-Logs_<id of {api_name}>", SKIP, why)]


# Teardown: delete what the plans above create.

def alarms_teardown_plan(*, names: list[str], current: dict[str, dict]) -> list[Step]:
    """Returns a delete step per alarm that exists among `names` and those in `current`, else absent."""
    every = list(dict.fromkeys([*names, *sorted(current)]))
    return [Step("alarm", name, DELETE if name in current else ABSENT) for name in every]


def dashboard_teardown_plan(*, name: str, exists: bool) -> list[Step]:
    return [Step("dashboard", name, DELETE if exists else ABSENT)]


def topic_teardown_plan(*, name: str, arn: str, exists: bool, subscriptions: list[dict]) -> list[Step]:
    """Returns the steps that unsubscribe every confirmed subscription, then delete the topic."""
    steps = []
    for subscription in subscriptions:
        arn_or_pending = subscription["SubscriptionArn"]
        if arn_or_pending == PENDING:
            # SNS cannot unsubscribe a pending subscription; it goes with the topic.
            steps.append(Step("subscription", subscription["Endpoint"], DELETE, "pending; removed with the topic"))
        else:
            steps.append(Step("subscription", subscription["Endpoint"], DELETE, data=arn_or_pending))
    steps.append(Step("topic", name, DELETE if exists else ABSENT, data=arn))
    return steps


def log_groups_teardown_plan(*, desired: list[LogGroupSpec], current: dict[str, dict | None]) -> list[Step]:
    """Returns the steps that remove the retention these plans set; the groups and their logs stay."""
    steps = []
    for spec in desired:
        group = current.get(spec.name)
        if group is None or not group.get("retentionInDays"):
            steps.append(Step("log retention", spec.name, ABSENT))
        elif group["retentionInDays"] == spec.retention_days:
            steps.append(Step("log retention", spec.name, DELETE, "the log group and its logs are kept", data=spec))
        else:
            note = f"{group['retentionInDays']} days, not set by setup_monitoring"
            steps.append(Step("log retention", spec.name, UNCHANGED, note))
    return steps
