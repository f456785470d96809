"""REST APIs as `zappa deploy` leaves them, on the test endpoint, and the named patch of moto's stage gap."""
import os

import boto3

FUNCTION_URI = ("arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/"
                "arn:aws:lambda:{region}:123456789012:function:{name}/invocations")


def apigateway():
    return boto3.client("apigateway", region_name=os.environ["AWS_REGION"])


def zappa_api(name: str, stage: str) -> str:
    """Creates the REST API Zappa creates for a function (root and {proxy+} ANY -> AWS_PROXY, a deployment
    whose stage is the Zappa stage); returns its id."""
    client = apigateway()
    api_id = client.create_rest_api(name=name)["id"]
    root = client.get_resources(restApiId=api_id)["items"][0]["id"]
    proxy = client.create_resource(restApiId=api_id, parentId=root, pathPart="{proxy+}")["id"]
    uri = FUNCTION_URI.format(region=os.environ["AWS_REGION"], name=name)
    for resource in (root, proxy):
        client.put_method(restApiId=api_id, resourceId=resource, httpMethod="ANY", authorizationType="NONE")
        client.put_integration(restApiId=api_id, resourceId=resource, httpMethod="ANY", type="AWS_PROXY",
                               integrationHttpMethod="POST", uri=uri)
    client.create_deployment(restApiId=api_id, stageName=stage)
    return api_id


def stage_cleanup(api_name: str, api_id: str) -> None:
    """Deletes the API and the usage plans and API keys named after it."""
    client = apigateway()
    for key in client.get_api_keys(nameQuery=f"{api_name}-", limit=500)["items"]:
        client.delete_api_key(apiKey=key["id"])
    for plan in client.get_usage_plans(limit=500)["items"]:
        if plan["name"].startswith(f"{api_name}-"):
            client.delete_usage_plan(usagePlanId=plan["id"])
    client.delete_rest_api(restApiId=api_id)


def patch_moto_stage_remove(monkeypatch) -> None:
    """Named patch of a moto 5.2.5 gap: UpdateStage `remove /{resource}/{method}` (here /*/*) is answered 200
    and ignored, where AWS deletes those method settings. Patches the in-process moto server only; an
    external endpoint (LocalStack) answers for itself."""
    from moto.apigateway import models

    original = models.Stage.apply_operations

    def apply_operations(self, patch_operations):
        rest = []
        for operation in patch_operations:
            parts = operation["path"].split("/")
            if operation["op"] == "remove" and len(parts) == 3 and parts[0] == "":
                self.method_settings.pop("/".join(parts[1:]), None)
            else:
                rest.append(operation)
        return original(self, rest)

    monkeypatch.setattr(models.Stage, "apply_operations", apply_operations)
