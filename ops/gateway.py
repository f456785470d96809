"""A stage's API Gateway layer: plan stage settings and gateway responses against GetStage, and apply them."""
from ops import aws, gateway_specs, monitoring, plans
from ops.gateway_specs import StageSettingsSpec
from ops.plans import ABSENT, CREATE, DELETE, UNCHANGED, UPDATE, Step
from ops.stages import Stage

ALL_METHODS = "*/*"  # methodSettings key of the stage-wide defaults; patch paths write it /*/*


class ApiNotFound(Exception):
    """The stage's REST API, or its stage, does not exist (yet), or the name is ambiguous."""


def api_id_of(stage: Stage) -> str:
    """Returns the id of the REST API Zappa deployed for the stage; raises ApiNotFound."""
    ids = aws.rest_api_ids(stage.api_name)
    if not ids:
        raise ApiNotFound(f"no REST API named {stage.api_name}: deploy the stage first (zappa deploy {stage.name})")
    if len(ids) > 1:
        raise ApiNotFound(f"{len(ids)} REST APIs are named {stage.api_name} ({', '.join(sorted(ids))}); "
                          f"delete the stale ones")
    return ids[0]


def _described_stage(api_id: str, stage: Stage) -> dict:
    described = aws.stage_get(api_id, stage.name)
    if described is None:
        raise ApiNotFound(f"REST API {stage.api_name} ({api_id}) has no stage {stage.name}")
    return described


# Pure plans

def stage_settings_plan(*, api: str, desired: StageSettingsSpec, current: dict) -> list[Step]:
    """Returns one step per stage setting (throttling, execution logging, tracing, access logging).

    Each step's data is the UpdateStage patch operations that make it so.
    """
    methods = (current.get("methodSettings") or {}).get(ALL_METHODS) or {}
    access = current.get("accessLogSettings") or {}
    wanted = [
        ("throttling", f"{desired.rate_limit:g} rps, burst {desired.burst_limit}",
         methods.get("throttlingRateLimit") == desired.rate_limit
         and methods.get("throttlingBurstLimit") == desired.burst_limit,
         [_replace("/*/*/throttling/rateLimit", str(desired.rate_limit)),
          _replace("/*/*/throttling/burstLimit", str(desired.burst_limit))]),
        ("execution logging", desired.log_level,
         methods.get("loggingLevel") == desired.log_level and methods.get("dataTraceEnabled") is False,
         [_replace("/*/*/logging/loglevel", desired.log_level),
          _replace("/*/*/logging/dataTrace", "false")]),  # data traces would log request bodies
        ("tracing", "X-Ray", current.get("tracingEnabled") is desired.tracing,
         [_replace("/tracingEnabled", str(desired.tracing).lower())]),
        ("access logging", desired.access_log_arn.rsplit(":", 1)[-1],
         access.get("destinationArn") == desired.access_log_arn and access.get("format") == desired.access_log_format,
         [_replace("/accessLogSettings/destinationArn", desired.access_log_arn),
          _replace("/accessLogSettings/format", desired.access_log_format)]),
    ]
    steps = []
    for setting, note, same, operations in wanted:
        action = UNCHANGED if same else (CREATE if not _is_set(setting, methods, access, current) else UPDATE)
        steps.append(Step("stage", f"{api} {setting}", action, note, data=operations))
    return steps


def _is_set(setting: str, methods: dict, access: dict, current: dict) -> bool:
    return {"throttling": "throttlingRateLimit" in methods, "execution logging": "loggingLevel" in methods,
            "tracing": bool(current.get("tracingEnabled")), "access logging": bool(access)}[setting]


def _replace(path: str, value: str) -> dict:
    return {"op": "replace", "path": path, "value": value}


def stage_settings_teardown_plan(*, api: str, desired: StageSettingsSpec, current: dict) -> list[Step]:
    """Returns the steps that remove what stage_settings_plan sets: the */* method settings, X-Ray, access logs."""
    methods = (current.get("methodSettings") or {}).get(ALL_METHODS)
    access = current.get("accessLogSettings") or {}
    ours = access.get("destinationArn") == desired.access_log_arn
    return [
        Step("stage", f"{api} throttling and execution logging", DELETE if methods else ABSENT,
             data=[{"op": "remove", "path": "/*/*"}]),
        Step("stage", f"{api} tracing", DELETE if current.get("tracingEnabled") else ABSENT,
             data=[_replace("/tracingEnabled", "false")]),
        Step("stage", f"{api} access logging", DELETE if ours else (UNCHANGED if access else ABSENT),
             "" if ours or not access else "logs to another group; kept",
             data=[{"op": "remove", "path": "/accessLogSettings"}]),
    ]


def _response_matches(desired: dict, current: dict) -> bool:
    return (current.get("statusCode") == desired.get("statusCode")
            and (current.get("responseParameters") or {}) == desired["responseParameters"]
            and (current.get("responseTemplates") or {}) == desired["responseTemplates"])


def gateway_responses_plan(*, desired: list[dict], current: dict[str, dict]) -> list[Step]:
    """Returns a step per response type; `current` holds only customised ones (a default counts as missing)."""
    steps = []
    for request in desired:
        kind, existing = request["responseType"], current.get(request["responseType"])
        status = request.get("statusCode", "as the error")
        if existing is None:
            steps.append(Step("gateway response", kind, CREATE, f"{status}, problem+json", data=request))
        else:
            action = UNCHANGED if _response_matches(request, existing) else UPDATE
            steps.append(Step("gateway response", kind, action, f"{status}, problem+json", data=request))
    return steps


def gateway_responses_teardown_plan(*, desired: list[dict], current: dict[str, dict]) -> list[Step]:
    """Returns a delete step per managed response type that is customised, back to AWS's default."""
    return [Step("gateway response", request["responseType"],
                 DELETE if request["responseType"] in current else ABSENT) for request in desired]


# Reading state and applying

def _access_log_arn(stage: Stage) -> str:
    return f"{aws.account_arn_prefix('logs')}:log-group:{gateway_specs.access_log_group(stage).name}"


def _stage_state(stage: Stage):
    """The API's id and described stage, and what setup_gateway wants: log group, stage settings, responses."""
    api_id = api_id_of(stage)
    current = _described_stage(api_id, stage)
    desired = gateway_specs.stage_settings(stage, access_log_arn=_access_log_arn(stage))
    return api_id, current, gateway_specs.access_log_group(stage), desired, gateway_specs.gateway_responses(stage)


def setup_steps(stage: Stage) -> list[Step]:
    """Returns the plan of setup_gateway. Raises ApiNotFound, aws.AwsUnavailable or ClientError."""
    api_id, current, group, desired, responses = _stage_state(stage)
    return [
        # The access log group exists before the stage points at it.
        *plans.log_groups_plan(desired=[group], current={group.name: aws.log_group_describe(group.name)}),
        *_with_api(api_id, stage.name, stage_settings_plan(api=f"{stage.api_name}/{stage.name}", desired=desired,
                                               current=current)),
        *_with_api(api_id, stage.name, gateway_responses_plan(desired=responses, current=aws.gateway_responses_get(api_id))),
    ]


def teardown_steps(stage: Stage) -> list[Step]:
    """Returns the plan of teardown_gateway: exactly what setup_steps sets, removed."""
    api_id, current, group, desired, responses = _stage_state(stage)
    return [
        *_with_api(api_id, stage.name, gateway_responses_teardown_plan(desired=responses,
                                                           current=aws.gateway_responses_get(api_id))),
        *_with_api(api_id, stage.name, stage_settings_teardown_plan(api=f"{stage.api_name}/{stage.name}", desired=desired,
                                                        current=current)),
        *plans.log_groups_teardown_plan(desired=[group], current={group.name: aws.log_group_describe(group.name)}),
    ]


def _with_api(api_id: str, stage: str, steps: list[Step]) -> list[Step]:
    # Applying needs the API's id and stage next to the step's own data; the printed line stays the same.
    return [Step(step.kind, step.name, step.action, step.note, data=(api_id, stage, step.data)) for step in steps]


def step_apply(step: Step) -> str | None:
    """Makes one step's change: gateway steps here, log retention through ops.monitoring."""
    if not step.changes:
        return None
    match step.kind, step.action:
        case "stage", plans.CREATE | plans.UPDATE | plans.DELETE:
            api_id, stage, operations = step.data
            aws.stage_update(api_id, stage, operations)
        case "gateway response", plans.CREATE | plans.UPDATE:
            api_id, _, request = step.data
            aws.gateway_response_put(api_id, request)
        case "gateway response", plans.DELETE:
            api_id, _, _ = step.data
            aws.gateway_response_delete(api_id, step.name)
        case _:
            return monitoring.step_apply(step)
    return None
