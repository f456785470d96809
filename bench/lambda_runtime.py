"""What the Lambda runtime gives a handler besides the event: its environment and the context object."""
import uuid

MEMORY_MB = 512
FUNCTION_NAME = "taskapi-dev"
REGION = "us-east-1"
# The REST API's execute-api host, which events carry in Host.
HOST = f"a1b2c3d4e5.execute-api.{REGION}.amazonaws.com"


def lambda_environment(*, table: str, dynamodb_url: str, code_dir: str | None = None) -> dict[str, str]:
    """Returns the variables a deployed dev function has (zappa_settings' aws_environment_variables plus
    the runtime's own), pointed at `dynamodb_url` and `table`."""
    env = {
        "STAGE": "dev",
        "DJANGO_SECRET_KEY": "bench-only-not-a-secret",
        "DJANGO_DEBUG": "false",
        # The API's own host, as a stage that names it would set it.
        "DJANGO_ALLOWED_HOSTS": HOST,
        "TASKS_TABLE": table,
        "LOG_LEVEL": "INFO",
        "AWS_REGION": REGION,
        # Lambda sets both; botocore only reads the second.
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_url,
        "AWS_LAMBDA_FUNCTION_NAME": FUNCTION_NAME,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(MEMORY_MB),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
        "TZ": ":UTC",
        "LANG": "en_US.UTF-8",
    }
    if code_dir:
        env["LAMBDA_TASK_ROOT"] = code_dir
    return env


class LambdaContext:
    """The context object the runtime passes to a handler (the attributes awslambdaric provides)."""

    function_name = FUNCTION_NAME
    function_version = "$LATEST"
    memory_limit_in_mb = MEMORY_MB
    invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:{FUNCTION_NAME}"
    log_group_name = f"/aws/lambda/{FUNCTION_NAME}"
    log_stream_name = "2026/11/25/[$LATEST]0123456789abcdef0123456789abcdef"
    identity = None
    client_context = None

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return 30_000
