"""Thin typed adapters over boto3: one function per AWS call, errors turned into named outcomes."""
import functools
import json
import time

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, NoCredentialsError
from django.conf import settings

_CONFIG = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=30)


class AwsUnavailable(Exception):
    """The endpoint cannot be reached or no credentials were found; the message says which."""


_REJECTED_CREDENTIALS = {"InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException", "SignatureDoesNotMatch"}


class Unsupported(Exception):
    """The endpoint (an emulator) does not implement this operation."""


@functools.cache
def client(service: str):
    """Returns a cached client; its endpoint comes from AWS_ENDPOINT_URL(_<SERVICE>) when set."""
    return boto3.session.Session().client(service, region_name=settings.AWS_REGION, config=_CONFIG)


def _code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


def _call(service: str, operation: str, **kwargs) -> dict:
    try:
        return getattr(client(service), operation)(**kwargs)
    except NoCredentialsError:
        raise AwsUnavailable("no AWS credentials found (set AWS_PROFILE or AWS_ACCESS_KEY_ID)") from None
    except (EndpointConnectionError, ConnectTimeoutError) as error:
        raise AwsUnavailable(f"cannot reach {error.kwargs.get('endpoint_url', service)}") from None
    except ClientError as error:
        if _code(error) in _REJECTED_CREDENTIALS:
            raise AwsUnavailable(f"AWS rejected the credentials ({_code(error)})") from None
        if _code(error) in {"UnknownOperationException", "UnrecognizedClientException", "NotImplemented"}:
            raise Unsupported(f"{service} {operation} is not supported by this endpoint") from None
        raise


def table_describe(name: str) -> dict | None:
    """Returns DescribeTable's Table, or None when there is no such table."""
    try:
        return _call("dynamodb", "describe_table", TableName=name)["Table"]
    except ClientError as error:
        if _code(error) == "ResourceNotFoundException":
            return None
        raise


def table_create(request: dict) -> None:
    """Creates a table and waits until it is ACTIVE."""
    try:
        _call("dynamodb", "create_table", **request)
    except ClientError as error:
        if _code(error) != "ResourceInUseException":
            raise
    client("dynamodb").get_waiter("table_exists").wait(
        TableName=request["TableName"], WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )


def table_delete(name: str) -> bool:
    """Deletes a table; returns False when there was none."""
    try:
        _call("dynamodb", "delete_table", TableName=name)
    except ClientError as error:
        if _code(error) == "ResourceNotFoundException":
            return False
        raise
    return True


def table_pitr_enabled(name: str) -> bool:
    """Returns whether point-in-time recovery is on. Raises Unsupported on emulators without it."""
    description = _call("dynamodb", "describe_continuous_backups", TableName=name)["ContinuousBackupsDescription"]
    return description["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"


def table_pitr_enable(name: str) -> None:
    """Turns point-in-time recovery on. Raises Unsupported on emulators without it."""
    _call(
        "dynamodb",
        "update_continuous_backups",
        TableName=name,
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
    )


def table_index_add(name: str, *, index: dict, attributes: list[dict]) -> None:
    """Adds a global secondary index to an existing table and waits until the index is ACTIVE."""
    _call("dynamodb", "update_table", TableName=name, AttributeDefinitions=attributes,
          GlobalSecondaryIndexUpdates=[{"Create": index}])
    client("dynamodb").get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    for _ in range(600):  # backfilling a large table can take minutes
        indexes = {gsi["IndexName"]: gsi for gsi in table_describe(name).get("GlobalSecondaryIndexes", [])}
        if indexes.get(index["IndexName"], {}).get("IndexStatus") == "ACTIVE":
            return
        time.sleep(1)
    raise AwsUnavailable(f"index {index['IndexName']} of {name} is not ACTIVE after 10 minutes")


def table_ttl_attribute(name: str) -> str | None:
    """Returns the attribute TTL expires items by, None when TTL is off."""
    description = _call("dynamodb", "describe_time_to_live", TableName=name)["TimeToLiveDescription"]
    if description.get("TimeToLiveStatus") in {"ENABLED", "ENABLING"}:
        return description.get("AttributeName")
    return None


def table_ttl_enable(name: str, attribute: str) -> None:
    """Turns TTL on for `attribute` (epoch seconds)."""
    _call("dynamodb", "update_time_to_live", TableName=name,
          TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute})


def _pages(service: str, operation: str, key: str, page_key: str = "NextToken", **kwargs) -> list[dict]:
    items, page = [], {}
    while True:
        response = _call(service, operation, **kwargs, **page)
        items.extend(response.get(key, []))
        if not response.get(page_key):
            return items
        page = {page_key: response[page_key]}


# Identity

def account_arn_prefix(service: str) -> str:
    """Returns `arn:<partition>:<service>:<region>:<account>`, from the caller's identity."""
    identity = _call("sts", "get_caller_identity")
    partition = identity["Arn"].split(":")[1]
    return f"arn:{partition}:{service}:{settings.AWS_REGION}:{identity['Account']}"


# CloudWatch alarms

def alarms_describe(names: list[str]) -> dict[str, dict]:
    """Returns the metric alarms among `names` that exist, by name."""
    alarms = _pages("cloudwatch", "describe_alarms", "MetricAlarms", AlarmNames=names, AlarmTypes=["MetricAlarm"])
    return {alarm["AlarmName"]: alarm for alarm in alarms}


def alarms_with_prefix(prefix: str) -> dict[str, dict]:
    """Returns the metric alarms whose names start with `prefix`, by name."""
    alarms = _pages("cloudwatch", "describe_alarms", "MetricAlarms", AlarmNamePrefix=prefix, AlarmTypes=["MetricAlarm"])
    return {alarm["AlarmName"]: alarm for alarm in alarms}


def alarm_put(request: dict) -> None:
    """Creates or replaces a metric alarm (PutMetricAlarm overwrites the whole definition)."""
    _call("cloudwatch", "put_metric_alarm", **request)


def alarms_delete(names: list[str]) -> None:
    """Deletes alarms; names that do not exist are ignored by CloudWatch."""
    _call("cloudwatch", "delete_alarms", AlarmNames=names)


# CloudWatch dashboards

def dashboard_get(name: str) -> dict | None:
    """Returns the dashboard's body, parsed, or None when there is no such dashboard."""
    try:
        body = _call("cloudwatch", "get_dashboard", DashboardName=name)["DashboardBody"]
    except ClientError as error:
        if _dashboard_missing(error, name):
            return None
        raise
    return json.loads(body)


def _dashboard_missing(error: ClientError, name: str) -> bool:
    """Returns whether GetDashboard's error means "no such dashboard".

    AWS answers ResourceNotFound (404) and keeps InvalidParameterValue (400) for bad input; LocalStack answers
    InvalidParameterValue "Dashboard <name> does not exist.", so only that message counts as missing.
    """
    if _code(error) in {"ResourceNotFound", "ResourceNotFoundException"}:
        return True
    message = error.response.get("Error", {}).get("Message", "")
    return _code(error) == "InvalidParameterValue" and message == f"Dashboard {name} does not exist."


def dashboard_put(name: str, body: dict) -> None:
    """Creates or replaces a dashboard."""
    _call("cloudwatch", "put_dashboard", DashboardName=name, DashboardBody=json.dumps(body, separators=(",", ":")))


def dashboard_delete(name: str) -> None:
    """Deletes a dashboard."""
    _call("cloudwatch", "delete_dashboards", DashboardNames=[name])


# SNS

def topic_exists(arn: str) -> bool:
    """Returns whether the topic exists."""
    try:
        _call("sns", "get_topic_attributes", TopicArn=arn)
    except ClientError as error:
        if _code(error) in {"NotFound", "NotFoundException"}:
            return False
        raise
    return True


def topic_create(name: str) -> str:
    """Creates the topic (CreateTopic is idempotent) and returns its ARN."""
    return _call("sns", "create_topic", Name=name)["TopicArn"]


def topic_delete(arn: str) -> None:
    """Deletes the topic; SNS deletes its subscriptions with it."""
    _call("sns", "delete_topic", TopicArn=arn)


def subscriptions_list(topic_arn: str) -> list[dict]:
    """Returns the topic's subscriptions; a pending one has SubscriptionArn `PendingConfirmation`."""
    try:
        return _pages("sns", "list_subscriptions_by_topic", "Subscriptions", TopicArn=topic_arn)
    except ClientError as error:
        if _code(error) in {"NotFound", "NotFoundException"}:
            return []
        raise


def subscription_create(topic_arn: str, email: str) -> str:
    """Subscribes an email address; returns the subscription ARN, `pending confirmation` until the owner confirms."""
    return _call("sns", "subscribe", TopicArn=topic_arn, Protocol="email", Endpoint=email)["SubscriptionArn"]


def subscription_delete(arn: str) -> None:
    """Unsubscribes a confirmed subscription."""
    _call("sns", "unsubscribe", SubscriptionArn=arn)


# CloudWatch Logs

def log_group_describe(name: str) -> dict | None:
    """Returns the log group, or None when there is none of exactly that name."""
    groups = _pages("logs", "describe_log_groups", "logGroups", page_key="nextToken", logGroupNamePrefix=name)
    return next((group for group in groups if group["logGroupName"] == name), None)


def log_group_create(name: str) -> None:
    """Creates a log group; one that already exists is left as it is."""
    try:
        _call("logs", "create_log_group", logGroupName=name)
    except ClientError as error:
        if _code(error) != "ResourceAlreadyExistsException":
            raise


def log_retention_put(name: str, days: int) -> None:
    """Sets how many days the group keeps its events."""
    _call("logs", "put_retention_policy", logGroupName=name, retentionInDays=days)


def log_retention_delete(name: str) -> None:
    """Removes the group's retention policy: its events are kept forever again."""
    _call("logs", "delete_retention_policy", logGroupName=name)


# API Gateway

def rest_api_ids(name: str) -> list[str]:
    """Returns the ids of the REST APIs with this name (normally one, or none before the first deploy)."""
    apis = _pages("apigateway", "get_rest_apis", "items", page_key="position", limit=500)
    return [api["id"] for api in apis if api.get("name") == name]


# DynamoDB Streams, for the local stand-in of Lambda's event source mapping (ops.streams).

def stream_shards(arn: str) -> list[dict]:
    """Returns every shard of the stream (DescribeStream, all pages)."""
    shards, start = [], None
    while True:
        kwargs = {"StreamArn": arn, **({"ExclusiveStartShardId": start} if start else {})}
        description = _call("dynamodbstreams", "describe_stream", **kwargs)["StreamDescription"]
        shards += description.get("Shards", [])
        start = description.get("LastEvaluatedShardId")
        if not start:
            return shards


def shard_iterator(arn: str, shard_id: str, *, after: str | None) -> str | None:
    """Returns an iterator at the shard's oldest record, or just after sequence number `after`; None
    when the shard is gone (trimmed)."""
    kwargs = ({"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": after} if after
              else {"ShardIteratorType": "TRIM_HORIZON"})
    try:
        return _call("dynamodbstreams", "get_shard_iterator", StreamArn=arn, ShardId=shard_id, **kwargs)["ShardIterator"]
    except ClientError as error:
        if _code(error) in {"ResourceNotFoundException", "TrimmedDataAccessException"}:
            return None
        raise


def stream_records(iterator: str, *, limit: int) -> tuple[list[dict], str | None]:
    """Returns up to `limit` records and the next iterator (None once a closed shard is read to its end)."""
    answer = _call("dynamodbstreams", "get_records", ShardIterator=iterator, Limit=limit)
    return answer.get("Records", []), answer.get("NextShardIterator")


# The stream consumer's event source mapping and its on-failure queue (manage.py setup_stream_consumer).

def function_arn(name: str) -> str | None:
    """Returns the function's ARN, None when there is no such function."""
    try:
        return _call("lambda", "get_function", FunctionName=name)["Configuration"]["FunctionArn"]
    except ClientError as error:
        if _code(error) == "ResourceNotFoundException":
            return None
        raise


def queue_arn(name: str) -> str | None:
    """Returns the SQS queue's ARN, None when there is no such queue."""
    try:
        url = _call("sqs", "get_queue_url", QueueName=name)["QueueUrl"]
    except ClientError as error:
        if _code(error) in {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}:
            return None
        raise
    return _call("sqs", "get_queue_attributes", QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def queue_create(name: str) -> str:
    """Creates the queue (14 days' retention, SSE) and returns its ARN."""
    url = _call("sqs", "create_queue", QueueName=name,
                Attributes={"MessageRetentionPeriod": str(14 * 24 * 3600), "SqsManagedSseEnabled": "true"})["QueueUrl"]
    return _call("sqs", "get_queue_attributes", QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def event_source_mappings(*, function: str, source_arn: str) -> list[dict]:
    """Returns the function's event source mappings from `source_arn`."""
    return _call("lambda", "list_event_source_mappings", FunctionName=function,
                 EventSourceArn=source_arn).get("EventSourceMappings", [])


def event_source_mapping_create(request: dict) -> str:
    """Creates the mapping; returns its UUID."""
    return _call("lambda", "create_event_source_mapping", **request)["UUID"]


def event_source_mapping_update(uuid: str, request: dict) -> None:
    """Updates the mapping's settings (its source, function and starting position cannot change)."""
    fixed = {"EventSourceArn", "StartingPosition", "FunctionName"}
    _call("lambda", "update_event_source_mapping", UUID=uuid, FunctionName=request["FunctionName"],
          **{key: value for key, value in request.items() if key not in fixed})

# DynamoDB recovery and bulk transfer (issue 16)

def table_restore_to_time(*, source: str, target: str, when, sse: dict) -> None:
    """Starts a point-in-time restore of `source` into the new table `target` (SSE set at restore time)."""
    _call("dynamodb", "restore_table_to_point_in_time", SourceTableName=source, TargetTableName=target,
          RestoreDateTime=when, SSESpecificationOverride=sse)


def table_wait_active(name: str, *, timeout: float) -> None:
    """Waits until the table and all its indexes are ACTIVE; raises AwsUnavailable after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        table = table_describe(name)
        if table and table["TableStatus"] == "ACTIVE" and all(
                index.get("IndexStatus", "ACTIVE") == "ACTIVE" for index in table.get("GlobalSecondaryIndexes", [])):
            return
        time.sleep(1)
    raise AwsUnavailable(f"table {name} is not ACTIVE after {timeout:.0f} s")


def table_streams_enable(name: str, view_type: str) -> None:
    """Turns the table's stream on (a restored table has none)."""
    _call("dynamodb", "update_table", TableName=name,
          StreamSpecification={"StreamEnabled": True, "StreamViewType": view_type})


def table_tags(arn: str) -> list[dict]:
    """Returns the table's tags as [{Key, Value}]."""
    return _pages("dynamodb", "list_tags_of_resource", "Tags", ResourceArn=arn)


def table_tag(arn: str, tags: list[dict]) -> None:
    """Adds or overwrites tags on the table."""
    _call("dynamodb", "tag_resource", ResourceArn=arn, Tags=tags)


def table_count(name: str) -> int:
    """Returns the exact item count by a COUNT scan (DescribeTable's ItemCount lags up to 6 hours on AWS)."""
    total, page = 0, {}
    while True:
        response = _call("dynamodb", "scan", TableName=name, Select="COUNT", **page)
        total += response["Count"]
        if "LastEvaluatedKey" not in response:
            return total
        page = {"ExclusiveStartKey": response["LastEvaluatedKey"]}


def items_scan_page(name: str, *, segment: int, segments: int, start: dict | None,
                    limit: int | None = None) -> tuple[list[dict], dict | None]:
    """Returns one page of a parallel Scan segment (items in DynamoDB JSON) and the key to go on from, or None."""
    page = {"ExclusiveStartKey": start} if start else {}
    if limit:
        page["Limit"] = limit
    response = _call("dynamodb", "scan", TableName=name, Segment=segment, TotalSegments=segments,
                     ConsistentRead=True, **page)
    return response.get("Items", []), response.get("LastEvaluatedKey")


class Throttled(Exception):
    """DynamoDB refused a request for capacity or throttling; retry it later."""


_THROTTLED = {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
              "InternalServerError", "ServiceUnavailable"}


def item_put_if(name: str, item: dict, *, condition: str, values: dict, names: dict) -> bool:
    """Puts the item when `condition` holds; returns False when it does not. Raises Throttled."""
    try:
        _call("dynamodb", "put_item", TableName=name, Item=item, ConditionExpression=condition,
              ExpressionAttributeValues=values, ExpressionAttributeNames=names)
    except ClientError as error:
        if _code(error) == "ConditionalCheckFailedException":
            return False
        if _code(error) in _THROTTLED:
            raise Throttled(_code(error)) from None
        raise
    return True


# API Gateway layer of a stage (issue 15): stage settings, gateway responses, usage plans and API keys.

def _missing(error: ClientError) -> bool:
    return _code(error) in {"NotFoundException", "ResourceNotFoundException"}


def stage_get(api_id: str, stage: str) -> dict | None:
    """Returns the REST API's stage (GetStage), or None when the API has no stage of that name."""
    try:
        return _call("apigateway", "get_stage", restApiId=api_id, stageName=stage)
    except ClientError as error:
        if _missing(error):
            return None
        raise


def stage_update(api_id: str, stage: str, operations: list[dict]) -> None:
    """Applies JSON-patch operations to the stage (UpdateStage)."""
    _call("apigateway", "update_stage", restApiId=api_id, stageName=stage, patchOperations=operations)


def gateway_responses_get(api_id: str) -> dict[str, dict]:
    """Returns the API's customised gateway responses by type; AWS's defaults (defaultResponse) are left out."""
    items = _pages("apigateway", "get_gateway_responses", "items", page_key="position", restApiId=api_id, limit=500)
    return {item["responseType"]: item for item in items if not item.get("defaultResponse")}


def gateway_response_put(api_id: str, request: dict) -> None:
    _call("apigateway", "put_gateway_response", restApiId=api_id, **request)


def gateway_response_delete(api_id: str, response_type: str) -> None:
    """Deletes a customised response: API Gateway answers with its default one again."""
    try:
        _call("apigateway", "delete_gateway_response", restApiId=api_id, responseType=response_type)
    except ClientError as error:
        if not _missing(error):
            raise


def usage_plans(*, key_id: str | None = None) -> list[dict]:
    """Returns every usage plan of the account (GetUsagePlans), or only those holding the key `key_id`."""
    return _pages("apigateway", "get_usage_plans", "items", page_key="position", limit=500,
                  **({"keyId": key_id} if key_id else {}))


def usage_plan_create(request: dict) -> str:
    return _call("apigateway", "create_usage_plan", **request)["id"]


def usage_plan_update(plan_id: str, operations: list[dict]) -> None:
    _call("apigateway", "update_usage_plan", usagePlanId=plan_id, patchOperations=operations)


def usage_plan_delete(plan_id: str) -> None:
    _call("apigateway", "delete_usage_plan", usagePlanId=plan_id)


def usage_plan_key_add(plan_id: str, key_id: str) -> None:
    """Puts the API key on the usage plan; one already on it stays."""
    try:
        _call("apigateway", "create_usage_plan_key", usagePlanId=plan_id, keyId=key_id, keyType="API_KEY")
    except ClientError as error:
        if _code(error) != "ConflictException":
            raise


def api_keys(*, name_prefix: str) -> list[dict]:
    """Returns the API keys whose names start with `name_prefix`, without their values."""
    return _pages("apigateway", "get_api_keys", "items", page_key="position", limit=500,
                  nameQuery=name_prefix, includeValues=False)


def api_key_create(*, name: str, tags: dict[str, str]) -> dict:
    """Creates an enabled API key; returns it with its `id` and `value` (the only time the value is shown)."""
    return _call("apigateway", "create_api_key", name=name, enabled=True, tags=tags)


def api_key_disable(key_id: str) -> None:
    _call("apigateway", "update_api_key", apiKey=key_id,
          patchOperations=[{"op": "replace", "path": "/enabled", "value": "false"}])


def api_key_delete(key_id: str) -> None:
    _call("apigateway", "delete_api_key", apiKey=key_id)


def usage_get(plan_id: str, *, key_id: str, start: str, end: str) -> dict[str, list]:
    """Returns GetUsage's items for one key: {key id: [[used, remaining] per day]}.

    Raises Unsupported where the endpoint has no GetUsage (moto answers 404 without an error code,
    LocalStack 501 InternalFailure).
    """
    try:
        response = _call("apigateway", "get_usage", usagePlanId=plan_id, keyId=key_id, startDate=start, endDate=end)
    except ClientError as error:
        if error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") in {404, 501} and not _missing(error):
            raise Unsupported("apigateway get_usage is not supported by this endpoint") from None
        raise
    return response.get("items", {})


# Alert escalation (issue 16): the emergency composite alarm, HTTPS pager subscriptions, async invoke config.

def composite_alarm_describe(name: str) -> dict | None:
    """Returns the composite alarm of that name, None when there is none."""
    alarms = _call("cloudwatch", "describe_alarms", AlarmNames=[name], AlarmTypes=["CompositeAlarm"])
    return next((alarm for alarm in alarms.get("CompositeAlarms", []) if alarm["AlarmName"] == name), None)


def composite_alarm_put(request: dict) -> None:
    """Creates or replaces a composite alarm (its rule names alarms that must already exist)."""
    _call("cloudwatch", "put_composite_alarm", **request)


def subscription_create_https(topic_arn: str, url: str) -> str:
    """Subscribes an HTTPS endpoint; SNS posts it a confirmation request. Returns the ARN or `pending confirmation`."""
    return _call("sns", "subscribe", TopicArn=topic_arn, Protocol="https", Endpoint=url)["SubscriptionArn"]


def function_invoke_config(name: str) -> dict | None:
    """Returns the function's asynchronous invocation config ($LATEST), None when it has none."""
    try:
        return _call("lambda", "get_function_event_invoke_config", FunctionName=name)
    except ClientError as error:
        if _code(error) == "ResourceNotFoundException":
            return None
        raise


def function_invoke_config_put(request: dict) -> None:
    """Sets the function's asynchronous retries and on-failure destination (Put replaces the whole config)."""
    _call("lambda", "put_function_event_invoke_config", **request)


# API Gateway Management API: pushes to WebSocket connections (issue 14).

class ConnectionGone(Exception):
    """The WebSocket connection is closed (410 GoneException): forget it."""


@functools.cache
def _management_client(endpoint: str, timeout: float):
    # The Management API lives at each stage's own URL, so the endpoint is explicit; one retry at most, so a
    # slow connection costs its push a bounded time.
    config = Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=timeout, read_timeout=timeout,
                    max_pool_connections=max(10, settings.WEBSOCKET_PUSH_WORKERS))
    return boto3.session.Session().client("apigatewaymanagementapi", region_name=settings.AWS_REGION,
                                          endpoint_url=endpoint, config=config)


def connection_post(endpoint: str, connection_id: str, data: bytes, *, timeout: float) -> None:
    """Sends one message to a connection (PostToConnection). Raises ConnectionGone when it is closed."""
    try:
        _management_client(endpoint, timeout).post_to_connection(ConnectionId=connection_id, Data=data)
    except ClientError as error:
        if _code(error) == "GoneException":
            raise ConnectionGone(connection_id) from None
        raise


# --- Issue 18: retiring the unsharded listing indexes ---

def table_index_delete(name: str, index: str) -> None:
    """Deletes a global secondary index of `name` and waits until it is gone (a no-op when it is)."""
    def present() -> bool:
        return any(gsi["IndexName"] == index for gsi in (table_describe(name) or {}).get("GlobalSecondaryIndexes", []))

    if not present():
        return
    _call("dynamodb", "update_table", TableName=name, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": index}}])
    for _ in range(600):  # AWS deletes an index in the background
        if not present():
            return
        time.sleep(1)
    raise AwsUnavailable(f"index {index} of {name} is still there after 10 minutes")
