"""Usage plans and API keys of a stage: per-client throttling, quotas and metering on the REST API's stage."""
import datetime as dt
import re

from ops import aws, gateway_specs
from ops.gateway_specs import CLIENT_TAG, STAGE_TAG, UsagePlanSpec
from ops.plans import CREATE, UNCHANGED, UPDATE, Step
from ops.stages import Stage

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class UsageError(Exception):
    """A usage plan or key request that cannot be carried out; the message says why, in one line."""


def name_check(what: str, value: str) -> str:
    """Returns `value` if it is a valid plan or client name; raises UsageError."""
    if not _NAME.match(value):
        raise UsageError(f"{value!r} is not a valid {what} name (letters, digits, - and _; at most 64)")
    return value


def usage_plan_spec(stage: Stage, *, name: str, rate: float, burst: int, quota: int | None,
                    period: str | None) -> UsagePlanSpec:
    """Returns the desired plan; raises UsageError for limits AWS would refuse or that contradict each other."""
    name_check("usage plan", name)
    if rate <= 0 or burst < 1:
        raise UsageError("--rate must be above 0 and --burst at least 1")
    if burst < rate:
        raise UsageError(f"--burst {burst} is below --rate {rate:g}: a burst that small refuses steady traffic")
    if (quota is None) != (period is None):
        raise UsageError("--quota and --period go together")
    if quota is not None and quota < 1:
        raise UsageError("--quota must be at least 1")
    if period is not None and period not in gateway_specs.PERIODS:
        raise UsageError(f"--period must be one of {', '.join(gateway_specs.PERIODS)}")
    return UsagePlanSpec(name=gateway_specs.usage_plan_name(stage, name), rate_limit=float(rate), burst_limit=burst,
                         quota_limit=quota, quota_period=period)


def _describe(spec: UsagePlanSpec) -> str:
    quota = f", {spec.quota_limit} a {spec.quota_period}" if spec.quota_limit else ", no quota"
    return f"{spec.rate_limit:g} rps, burst {spec.burst_limit}{quota}"


def usage_plan_plan(*, spec: UsagePlanSpec, api_id: str, stage: str, current: dict | None) -> list[Step]:
    """Returns the step that creates the plan, or patches the limits and stages that differ (pure)."""
    note = _describe(spec)
    if current is None:
        request = {"name": spec.name, "description": f"API Gateway usage plan of stage {stage}",
                   "apiStages": [{"apiId": api_id, "stage": stage}],
                   "throttle": {"rateLimit": spec.rate_limit, "burstLimit": spec.burst_limit},
                   "tags": {STAGE_TAG: stage}}
        if spec.quota_limit:
            request["quota"] = {"limit": spec.quota_limit, "period": spec.quota_period, "offset": 0}
        return [Step("usage plan", spec.name, CREATE, note, data=("create", request))]
    operations = []
    throttle = current.get("throttle") or {}
    if throttle.get("rateLimit") != spec.rate_limit:
        operations.append({"op": "replace", "path": "/throttle/rateLimit", "value": f"{spec.rate_limit:g}"})
    if throttle.get("burstLimit") != spec.burst_limit:
        operations.append({"op": "replace", "path": "/throttle/burstLimit", "value": str(spec.burst_limit)})
    quota = current.get("quota") or {}
    if spec.quota_limit is None and quota:
        operations.append({"op": "remove", "path": "/quota"})
    elif spec.quota_limit is not None:
        if str(quota.get("limit")) != str(spec.quota_limit):  # moto keeps a patched limit as the string sent
            operations.append({"op": "replace", "path": "/quota/limit", "value": str(spec.quota_limit)})
        if quota.get("period") != spec.quota_period:
            operations.append({"op": "replace", "path": "/quota/period", "value": spec.quota_period})
    stages = {(item.get("apiId"), item.get("stage")) for item in current.get("apiStages") or []}
    if (api_id, stage) not in stages:
        operations.append({"op": "add", "path": "/apiStages", "value": f"{api_id}:{stage}"})
    action = UPDATE if operations else UNCHANGED
    return [Step("usage plan", spec.name, action, note, data=("update", current["id"], operations))]


def plan_named(name: str) -> dict | None:
    """Returns the usage plan of that exact name, or None; raises UsageError when several share it."""
    found = [plan for plan in aws.usage_plans() if plan.get("name") == name]
    if len(found) > 1:
        raise UsageError(f"{len(found)} usage plans are named {name}; delete the extra ones")
    return found[0] if found else None


def usage_plan_steps(stage: Stage, spec: UsagePlanSpec, *, api_id: str) -> list[Step]:
    return usage_plan_plan(spec=spec, api_id=api_id, stage=stage.name, current=plan_named(spec.name))


def usage_plan_apply(step: Step) -> None:
    if not step.changes:
        return
    if step.data[0] == "create":
        aws.usage_plan_create(step.data[1])
    else:
        aws.usage_plan_update(step.data[1], step.data[2])


# API keys: one per client, named <api>-<client> and tagged with stage and client.

def stage_keys(stage: Stage) -> list[dict]:
    """Returns the stage's API keys (by tag; names only narrow the listing), oldest first."""
    keys = aws.api_keys(name_prefix=f"{stage.api_name}-")
    ours = [key for key in keys if (key.get("tags") or {}).get(STAGE_TAG) == stage.name]
    return sorted(ours, key=lambda key: (str(key.get("createdDate", "")), key["id"]))


def client_of(key: dict) -> str:
    return (key.get("tags") or {}).get(CLIENT_TAG, "?")


def usage_summary(items: dict[str, list], key_id: str) -> str:
    """Returns GetUsage's days for one key as "N used, M left" of the last day (GetUsage: [[used, remaining]])."""
    days = items.get(key_id) or []
    if not days:
        return "0 used"
    used, remaining = days[-1]
    total = sum(day[0] for day in days)
    return f"{used} used today, {remaining} left" + (f" ({total} in {len(days)} days)" if len(days) > 1 else "")


def key_usage(plan_id: str, key_id: str, *, today: dt.date) -> str:
    """Returns the key's usage on the plan over the last 7 days, or why it cannot be read here."""
    try:
        items = aws.usage_get(plan_id, key_id=key_id, start=(today - dt.timedelta(days=6)).isoformat(),
                              end=today.isoformat())
    except aws.Unsupported as error:
        return f"usage unavailable ({error})"
    return usage_summary(items, key_id)
