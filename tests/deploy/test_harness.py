"""The rehearsal's emulated AWS answers its edges as AWS does, in seconds (no Zappa, no package)."""
import json

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


def _websocket_stack(route_key: str, name: str) -> str:
    """A stack of the AWS::ApiGatewayV2 types Zappa writes for `websocket_handler_module`, as its template has them."""
    api = {"Ref": "WsApi"}
    target = {"Fn::Join": ["", ["integrations/", {"Ref": "WsIntegration"}]]}
    return json.dumps({"Resources": {
        "WsApi": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {
            "Name": name, "ProtocolType": "WEBSOCKET", "RouteSelectionExpression": "$request.body.action"}},
        "WsIntegration": {"Type": "AWS::ApiGatewayV2::Integration", "Properties": {
            "ApiId": api, "IntegrationType": "AWS_PROXY", "IntegrationUri": "arn:aws:apigateway:us-east-1:lambda:path"
            "/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:ws/invocations"}},
        "WsRoute": {"Type": "AWS::ApiGatewayV2::Route", "Properties": {
            "ApiId": api, "RouteKey": route_key, "Target": target}},
        "WsStage": {"Type": "AWS::ApiGatewayV2::Stage", "Properties": {
            "ApiId": api, "StageName": "dev", "AutoDeploy": True}}},
        "Outputs": {"Endpoint": {"Value": {"Fn::GetAtt": ["WsApi", "ApiEndpoint"]}}}})


def test_websocket_api_of_a_stack_is_created_updated_in_place_and_deleted_with_it(aws):
    client, _ = aws
    stacks, gateway = client("cloudformation"), client("apigatewayv2")
    stacks.create_stack(StackName="rehearsal-ws", TemplateBody=_websocket_stack("$connect", "ws"))
    try:
        [api] = gateway.get_apis()["Items"]
        assert (api["Name"], api["ProtocolType"]) == ("ws", "WEBSOCKET")
        [output] = stacks.describe_stacks(StackName="rehearsal-ws")["Stacks"][0]["Outputs"]
        assert output["OutputValue"] == api["ApiEndpoint"]
        [integration] = gateway.get_integrations(ApiId=api["ApiId"])["Items"]
        [route] = gateway.get_routes(ApiId=api["ApiId"])["Items"]
        assert (route["RouteKey"], route["Target"]) == ("$connect", f"integrations/{integration['IntegrationId']}")
        assert [stage["StageName"] for stage in gateway.get_stages(ApiId=api["ApiId"])["Items"]] == ["dev"]

        stacks.update_stack(StackName="rehearsal-ws", TemplateBody=_websocket_stack("$default", "ws-renamed"))
        [updated] = gateway.get_apis()["Items"]
        assert (updated["ApiId"], updated["Name"]) == (api["ApiId"], "ws-renamed")
        assert [(r["RouteId"], r["RouteKey"]) for r in gateway.get_routes(ApiId=api["ApiId"])["Items"]] == [
            (route["RouteId"], "$default")]
    finally:
        stacks.delete_stack(StackName="rehearsal-ws")
    assert gateway.get_apis()["Items"] == []
