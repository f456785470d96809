"""A stage's monitoring: read what exists, plan against the specs, and apply a plan's steps."""
from ops import aws, escalation, plans, saturation, specs
from ops.plans import Step
from ops.stages import Stage


def topic_arn(stage: Stage) -> str:
    """Returns the ARN the stage's alert topic has, or will have once created."""
    return f"{aws.account_arn_prefix('sns')}:{specs.alert_topic(stage)}"


def topic_steps(stage: Stage, *, arn: str) -> list[Step]:
    """Returns the alert topic's step. Every function here raises aws.AwsUnavailable or ClientError."""
    return plans.topic_plan(name=specs.alert_topic(stage), arn=arn, exists=aws.topic_exists(arn))


def subscription_steps(stage: Stage, *, arn: str, emails: list[str]) -> list[Step]:
    """Returns a step per email address: the ones asked for, and the ones already on the topic."""
    return plans.subscriptions_plan(topic_arn=arn, emails=emails, current=aws.subscriptions_list(arn))


def alarm_steps(stage: Stage, *, arns: dict[str, str]) -> list[Step]:
    """Returns a step per alarm of ops.escalation.every_alarm, notifying the topics `arns` of its severity, then
    the emergency composite alarm's step."""
    desired = [alarm.put_request(topic_arn=arns[specs.WARNING], critical_topic_arn=arns[specs.CRITICAL])
               for alarm in escalation.every_alarm(stage)]
    current = aws.alarms_describe([request["AlarmName"] for request in desired])
    return plans.alarms_plan(desired=desired, current=current) + escalation.emergency_steps(stage, arns=arns)


def dashboard_steps(stage: Stage) -> list[Step]:
    """Returns the dashboard's step."""
    name = specs.dashboard_name(stage)
    return plans.dashboard_plan(name=name, desired=dashboard_body(stage), current=aws.dashboard_get(name))


def dashboard_body(stage: Stage) -> dict:
    """Returns the dashboard: ops.specs.dashboard's rows, then saturation and the stream consumer's row."""
    body = specs.dashboard(stage)
    bottom = max(widget["y"] + widget["height"] for widget in body["widgets"])
    extra = saturation.saturation_widgets(stage, queues=escalation.failure_queues(stage), y=bottom)
    return {**body, "widgets": body["widgets"] + extra}


def _log_groups(stage: Stage) -> tuple[list[specs.LogGroupSpec], list[Step]]:
    # The API's execution log group is named after the API's id, which only exists once Zappa deployed it.
    try:
        api_ids = aws.rest_api_ids(stage.api_name)
    except aws.Unsupported:
        api_ids = []
    desired = specs.log_groups(stage, api_id=api_ids[0] if len(api_ids) == 1 else None)
    return desired, plans.api_log_group_skipped(api_name=stage.api_name, api_ids=api_ids)


def log_retention_steps(stage: Stage) -> list[Step]:
    """Returns the retention steps of the function's and the API's log groups (skip when there is no API)."""
    desired, skipped = _log_groups(stage)
    current = {spec.name: aws.log_group_describe(spec.name) for spec in desired}
    return plans.log_groups_plan(desired=desired, current=current) + skipped


def teardown_steps(stage: Stage) -> list[Step]:
    """Returns the steps that remove every alarm, the dashboard, the topic and the retention of this stage."""
    arn = topic_arn(stage)
    names = [alarm.name for alarm in escalation.every_alarm(stage)]
    current_alarms = aws.alarms_with_prefix(specs.ALARM_PREFIX.format(stage=stage.name))
    dashboard = specs.dashboard_name(stage)
    desired_groups, _ = _log_groups(stage)
    groups = {spec.name: aws.log_group_describe(spec.name) for spec in desired_groups}
    exists = aws.topic_exists(arn)
    emergency, *upper_topics = escalation.teardown_steps(stage)
    return [
        emergency,  # the emergency alarm first: its rule names the others
        *plans.alarms_teardown_plan(names=names, current=current_alarms),
        *plans.dashboard_teardown_plan(name=dashboard, exists=aws.dashboard_get(dashboard) is not None),
        *plans.topic_teardown_plan(name=specs.alert_topic(stage), arn=arn, exists=exists,
                                   subscriptions=aws.subscriptions_list(arn) if exists else []),
        *upper_topics,
        *plans.log_groups_teardown_plan(desired=desired_groups, current=groups),
    ]


def step_apply(step: Step) -> str | None:
    """Makes one step's change; returns the new subscription's ARN for a subscription, else None."""
    if not step.changes:
        return None
    match step.kind, step.action:
        case "topic", plans.CREATE:
            aws.topic_create(step.name)
        case "topic", plans.DELETE:
            aws.topic_delete(step.data)
        case "subscription", plans.CREATE:
            return aws.subscription_create(step.data, step.name)
        case "subscription", plans.DELETE:
            if step.data:
                aws.subscription_delete(step.data)
        case "alarm", plans.CREATE | plans.UPDATE:
            aws.alarm_put(step.data)
        case "alarm", plans.DELETE:
            aws.alarms_delete([step.name])
        case "dashboard", plans.CREATE | plans.UPDATE:
            aws.dashboard_put(step.name, step.data)
        case "dashboard", plans.DELETE:
            aws.dashboard_delete(step.name)
        case "log retention", plans.CREATE:
            aws.log_group_create(step.name)
            aws.log_retention_put(step.name, step.data.retention_days)
        case "log retention", plans.UPDATE:
            aws.log_retention_put(step.name, step.data.retention_days)
        case "log retention", plans.DELETE:
            aws.log_retention_delete(step.name)
        case _:
            return escalation.step_apply(step)  # the escalation tier's own kinds (issue 16)
    return None
