"""The rehearsal's emulated AWS answers its edges as AWS does, in seconds (no Zappa, no package)."""
import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from tests.deploy.execute_api import ExecuteApiProxy, certificates_write
from tests.deploy.lambda_runner import LambdaRunner
from tests.deploy.moto_aws import REGION, MotoAws
from tests.harness import free_port


@pytest.fixture(scope="module")
def aws(tmp_path_factory):
    work = tmp_path_factory.mktemp("harness")
    port = free_port()
    runner = LambdaRunner(work / "lambda", f"http://127.0.0.1:{port}")
    server = MotoAws(port, runner)
    server.start()
    certificates = certificates_write(work, REGION)
    proxy_port = free_port()
    proxy = ExecuteApiProxy(proxy_port, server.endpoint, certificates).start()

    def client(service: str):
        return boto3.client(service, endpoint_url=server.endpoint, region_name=REGION,
                            aws_access_key_id="local", aws_secret_access_key="local")

    try:
        yield client, ExecuteApiProxy.client_environment(proxy_port, certificates[0])
    finally:
        proxy.stop()
        server.stop()
        runner.close()


def test_function_urls_of_a_missing_function_is_resource_not_found(aws):
    client, _ = aws
    with pytest.raises(ClientError) as raised:
        client("lambda").list_function_url_configs(FunctionName="taskapi-nowhere")
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_binary_media_type_in_the_patch_path_and_compression_size_are_applied(aws):
    client, _ = aws
    gateway = client("apigateway")
    api = gateway.create_rest_api(name="rehearsal-patch")
    try:
        updated = gateway.update_rest_api(restApiId=api["id"], patchOperations=[
            {"op": "add", "path": "/binaryMediaTypes/*~1*"},
            {"op": "replace", "path": "/minimumCompressionSize", "value": "1024"}])
        assert updated["binaryMediaTypes"] == ["*/*"]
        assert updated["minimumCompressionSize"] == 1024
        removed = gateway.update_rest_api(restApiId=api["id"], patchOperations=[
            {"op": "remove", "path": "/binaryMediaTypes/*~1*"}])
        assert removed.get("binaryMediaTypes", []) == []
    finally:
        gateway.delete_rest_api(restApiId=api["id"])


def test_stage_url_of_a_missing_api_is_forbidden_over_trusted_https(aws):
    _, env = aws
    answer = requests.get("https://abcdefghij.execute-api.us-east-1.amazonaws.com/dev/tasks", timeout=30,
                          proxies={"https": env["HTTPS_PROXY"]}, verify=env["REQUESTS_CA_BUNDLE"])
    assert (answer.status_code, answer.json()) == (403, {"message": "Forbidden"})


def test_proxy_refuses_hosts_other_than_execute_api(aws):
    _, env = aws
    with pytest.raises(requests.exceptions.ProxyError):
        requests.get("https://example.com/", timeout=30, proxies={"https": env["HTTPS_PROXY"]},
                     verify=env["REQUESTS_CA_BUNDLE"])
