"""GetDashboard's "no such dashboard" answers: AWS's ResourceNotFound and LocalStack's InvalidParameterValue."""
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from ops import aws


@pytest.fixture
def cloudwatch():
    # AWS itself cannot run here, so its documented error answers are stubbed; LocalStack's own answer is
    # exercised for real by the LocalStack tier (tests/e2e/test_monitoring_cli.py on `make e2e-localstack`).
    with Stubber(aws.client("cloudwatch")) as stub:
        yield stub


def test_missing_dashboard_on_aws_is_none(cloudwatch):
    cloudwatch.add_client_error("get_dashboard", service_error_code="ResourceNotFound",
                                service_message="Dashboard taskapi-dev does not exist", http_status_code=404)
    assert aws.dashboard_get("taskapi-dev") is None


def test_missing_dashboard_on_localstack_is_none(cloudwatch):
    cloudwatch.add_client_error("get_dashboard", service_error_code="InvalidParameterValue",
                                service_message="Dashboard taskapi-dev does not exist.", http_status_code=400)
    assert aws.dashboard_get("taskapi-dev") is None


def test_a_bad_dashboard_name_is_still_an_error(cloudwatch):
    cloudwatch.add_client_error("get_dashboard", service_error_code="InvalidParameterValue",
                                service_message="The value for DashboardName is invalid.", http_status_code=400)
    with pytest.raises(ClientError, match="DashboardName is invalid"):
        aws.dashboard_get("taskapi dev!")


def test_an_existing_dashboard_is_its_parsed_body(cloudwatch):
    cloudwatch.add_response("get_dashboard", {"DashboardBody": '{"widgets":[]}', "DashboardName": "taskapi-dev"},
                            {"DashboardName": "taskapi-dev"})
    assert aws.dashboard_get("taskapi-dev") == {"widgets": []}
