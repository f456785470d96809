"""Alert escalation (issue 16): severity topics, the emergency composite alarm, the failure queues and their alarms.

warning alarms notify `{stage}-task-api-alerts`; critical ones also `{stage}-task-api-alerts-critical` (email and
an optional HTTPS pager); the composite `{stage}-task-api-emergency` notifies all three tiers when two critical
alarms are in ALARM together or a critical condition is sustained for 30 minutes.
"""
import hashlib
from dataclasses import replace
from itertools import combinations
from urllib.parse import urlsplit

from ops import aws, plans, saturation, specs
from ops.plans import CREATE, DELETE, SKIP, UNCHANGED, UPDATE, Step
from ops.specs import ALARM_PREFIX, CRITICAL, EMERGENCY, STREAM_FAILURE_QUEUE, WARNING, AlarmSpec, Metric
from ops.stages import Stage

TOPICS = {WARNING: specs.ALERT_TOPIC, CRITICAL: "{stage}-task-api-alerts-critical",
          EMERGENCY: "{stage}-task-api-alerts-emergency"}
EMERGENCY_ALARM = "{stage}-task-api-emergency"
ASYNC_FAILURE_QUEUE = "{function}-async-failures"
# Critical conditions that are an emergency on their own once they last SUSTAINED_PERIODS periods (30 minutes).
SUSTAINED = ("slo-5xx-rate", "lambda-errors")
SUSTAINED_PERIODS = 6
# Lambda's asynchronous retries: 2 is its default and maximum; an event is given up after 6 hours (its maximum).
ASYNC_INVOKE = {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 6 * 3600}


def topic_names(stage: Stage) -> dict[str, str]:
    """Returns the stage's topic name per severity (warning, critical, emergency)."""
    return {severity: name.format(stage=stage.name) for severity, name in TOPICS.items()}


def topic_arns(stage: Stage) -> dict[str, str]:
    """Returns the ARN each severity's topic has, or will have once created (one STS call)."""
    prefix = aws.account_arn_prefix("sns")
    return {severity: f"{prefix}:{name}" for severity, name in topic_names(stage).items()}


def failure_queues(stage: Stage) -> list[str]:
    """Returns the SQS queues that hold what the function gave up on: async invocations, then stream records."""
    return [ASYNC_FAILURE_QUEUE.format(function=stage.function_name),
            STREAM_FAILURE_QUEUE.format(function=stage.function_name)]


def queue_depth_alarm(stage: Stage, *, queue: str, holds: str) -> AlarmSpec:
    """Returns the critical alarm on any message waiting in `queue` (each one is work the function gave up on)."""
    slug = queue.removeprefix(f"{stage.function_name}-")
    return AlarmSpec(
        name=f"{ALARM_PREFIX.format(stage=stage.name)}{slug}-queue",
        description=f"{queue} holds {holds} that {stage.function_name} gave up on after its retries.",
        threshold=0, evaluation_periods=1, datapoints_to_alarm=1, severity=CRITICAL,
        metric=Metric("AWS/SQS", "ApproximateNumberOfMessagesVisible", (("QueueName", queue),), "Maximum"))


def sustained_alarm(alarm: AlarmSpec) -> AlarmSpec:
    """Returns `alarm` over 30 minutes instead: an input of the emergency alarm that notifies nobody itself."""
    minutes = SUSTAINED_PERIODS * specs.PERIOD // 60
    return replace(alarm, name=f"{alarm.name}-sustained", severity=EMERGENCY,
                   evaluation_periods=SUSTAINED_PERIODS, datapoints_to_alarm=SUSTAINED_PERIODS,
                   description=(f"The condition of {alarm.name} held for {minutes} minutes in a row (an input of "
                                f"the emergency alarm; notifies nobody itself)."))


def every_alarm(stage: Stage) -> list[AlarmSpec]:
    """Returns all of the stage's metric alarms: the seed's six, saturation and the stream consumer, the failure
    queues' depth, then the sustained inputs of the emergency alarm."""
    async_queue, stream_queue = failure_queues(stage)
    alarms = [
        *specs.alarms(stage),
        *saturation.saturation_alarms(stage),
        queue_depth_alarm(stage, queue=async_queue, holds="asynchronous invocations (scheduled events)"),
        queue_depth_alarm(stage, queue=stream_queue, holds="stream records (changes not in the feed)"),
    ]
    prefix = ALARM_PREFIX.format(stage=stage.name)
    return alarms + [sustained_alarm(alarm) for alarm in alarms if alarm.name.removeprefix(prefix) in SUSTAINED]


def emergency_rule(alarms: list[AlarmSpec]) -> str:
    """Returns the composite rule: any sustained input in ALARM, or any two critical alarms in ALARM together."""
    sustained = [f'ALARM("{alarm.name}")' for alarm in alarms if alarm.severity == EMERGENCY]
    critical = [alarm.name for alarm in alarms if alarm.severity == CRITICAL]
    pairs = [f'(ALARM("{first}") AND ALARM("{second}"))' for first, second in combinations(critical, 2)]
    return " OR ".join(sustained + pairs)


def emergency_request(stage: Stage, *, alarms: list[AlarmSpec], arns: dict[str, str]) -> dict:
    """Returns the PutCompositeAlarm arguments of the stage's emergency alarm, notifying every tier."""
    actions = [arns[WARNING], arns[CRITICAL], arns[EMERGENCY]]
    return {
        "AlarmName": EMERGENCY_ALARM.format(stage=stage.name),
        "AlarmDescription": (f"[emergency] Two critical alarms of {stage.name} at once, or a critical condition for "
                             f"{SUSTAINED_PERIODS * specs.PERIOD // 60} minutes. Runbook: README.md#runbook-emergency"),
        "ActionsEnabled": True,
        "AlarmActions": actions,
        "OKActions": actions,
        "AlarmRule": emergency_rule(alarms),
    }


def pager_label(url: str) -> str:
    """Returns how plans print a pager URL: scheme and host, and a digest instead of the path (it often holds a key)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/…#{hashlib.sha256(url.encode()).hexdigest()[:8]}"


# Plans: pure, like ops.plans.

def composite_plan(*, desired: dict, current: dict | None) -> list[Step]:
    """Returns the composite alarm's create, update or unchanged step."""
    if current is None:
        action = CREATE
    else:
        action = UNCHANGED if plans._matches(desired, current) else UPDATE
    return [Step("composite alarm", desired["AlarmName"], action, data=desired)]


def pager_plan(*, topic_arn: str, url: str | None, current: list[dict]) -> list[Step]:
    """Returns the pager's subscription step when a URL is given; HTTPS subscriptions not asked for are kept."""
    existing = {sub["Endpoint"]: sub for sub in current if sub.get("Protocol") == "https"}
    steps = []
    if url:
        subscription = existing.pop(url, None)
        if subscription is None:
            steps.append(Step("pager", pager_label(url), CREATE, "the endpoint must confirm it", data=(topic_arn, url)))
        else:
            pending = subscription["SubscriptionArn"] == plans.PENDING
            steps.append(Step("pager", pager_label(url), UNCHANGED, "pending confirmation" if pending else ""))
    steps += [Step("pager", pager_label(other), UNCHANGED, "not requested; kept") for other in existing]
    return steps


def async_destination_plan(*, function: str, deployed: bool, queue: str, queue_arn: str, queue_exists: bool,
                           current: dict | None) -> list[Step]:
    """Returns the failure queue's step and the function's async invoke config step (skipped before a deploy)."""
    steps = [Step("queue", queue, UNCHANGED if queue_exists else CREATE, "14 days' retention, SSE")]
    if not deployed:
        return steps + [Step("async invoke config", function, SKIP,
                             "the function is not deployed yet; run again after `zappa deploy`")]
    desired = {"FunctionName": function, **ASYNC_INVOKE, "DestinationConfig": {"OnFailure": {"Destination": queue_arn}}}
    note = (f"on failure -> {queue}, {ASYNC_INVOKE['MaximumRetryAttempts']} retries, "
            f"given up after {ASYNC_INVOKE['MaximumEventAgeInSeconds'] // 3600} h")
    if current is None:
        return steps + [Step("async invoke config", function, CREATE, note, data=desired)]
    same = all(current.get(key) == value for key, value in desired.items() if key != "FunctionName")
    return steps + [Step("async invoke config", function, UNCHANGED if same else UPDATE, note, data=desired)]


# Reading what exists, and applying steps (ops.monitoring.step_apply hands over the kinds it does not know).

def topics_steps(stage: Stage, *, arns: dict[str, str], critical_emails: list[str], pager_url: str | None,
                 emergency_emails: list[str]) -> list[Step]:
    """Returns the critical and emergency topics' steps and their subscriptions' (emails, then the pager)."""
    names = topic_names(stage)
    steps = []
    for severity, emails in ((CRITICAL, critical_emails), (EMERGENCY, emergency_emails)):
        arn = arns[severity]
        exists = aws.topic_exists(arn)
        current = aws.subscriptions_list(arn) if exists else []
        steps += plans.topic_plan(name=names[severity], arn=arn, exists=exists)
        steps += plans.subscriptions_plan(topic_arn=arn, emails=emails, current=current)
        if severity == CRITICAL:
            steps += pager_plan(topic_arn=arn, url=pager_url, current=current)
    return steps


def emergency_steps(stage: Stage, *, arns: dict[str, str]) -> list[Step]:
    """Returns the emergency composite alarm's step."""
    desired = emergency_request(stage, alarms=every_alarm(stage), arns=arns)
    return composite_plan(desired=desired, current=aws.composite_alarm_describe(desired["AlarmName"]))


def async_destination_steps(stage: Stage) -> list[Step]:
    """Returns the steps that send the function's failed asynchronous invocations to its SQS queue."""
    queue = failure_queues(stage)[0]
    existing = aws.queue_arn(queue)
    deployed = aws.function_arn(stage.function_name) is not None
    current = aws.function_invoke_config(stage.function_name) if deployed else None
    return async_destination_plan(function=stage.function_name, deployed=deployed, queue=queue,
                                  queue_arn=existing or f"{aws.account_arn_prefix('sqs')}:{queue}",
                                  queue_exists=existing is not None, current=current)


def teardown_steps(stage: Stage) -> list[Step]:
    """Returns the steps that delete the emergency alarm (first: it names the others) and the two upper topics.

    The failure queues and the invoke config stay: they hold failed work, not monitoring.
    """
    name = EMERGENCY_ALARM.format(stage=stage.name)
    steps = [Step("composite alarm", name, DELETE if aws.composite_alarm_describe(name) else plans.ABSENT)]
    arns, names = topic_arns(stage), topic_names(stage)
    for severity in (CRITICAL, EMERGENCY):
        exists = aws.topic_exists(arns[severity])
        subscriptions = [{**sub, "Endpoint": pager_label(sub["Endpoint"])} if sub.get("Protocol") == "https" else sub
                         for sub in (aws.subscriptions_list(arns[severity]) if exists else [])]
        steps += plans.topic_teardown_plan(name=names[severity], arn=arns[severity], exists=exists,
                                           subscriptions=subscriptions)
    return steps


def step_apply(step: Step) -> str | None:
    """Makes one of this module's steps' change; returns a pager subscription's ARN (or `pending confirmation`).

    Raises ValueError for a kind it does not know.
    """
    match step.kind, step.action:
        case "composite alarm", plans.CREATE | plans.UPDATE:
            aws.composite_alarm_put(step.data)
        case "composite alarm", plans.DELETE:
            aws.alarms_delete([step.name])
        case "pager", plans.CREATE:
            topic_arn, url = step.data
            return aws.subscription_create_https(topic_arn, url)
        case "queue", plans.CREATE:
            aws.queue_create(step.name)
        case "async invoke config", plans.CREATE | plans.UPDATE:
            aws.function_invoke_config_put(step.data)
        case _:
            raise ValueError(f"no way to apply {step}")
    return None
