"""ops.stages: names of a deployed stage come from zappa_settings.json, with defaults when it is absent."""
from pathlib import Path

import pytest
from django.test import override_settings

from ops.stages import Stage, StageNotFound, stage_default, stage_load

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "zappa_settings.json"


def test_stage_names_come_from_zappa_settings():
    stage = stage_load("dev", path=FIXTURE)
    assert stage == Stage(name="dev", project_name="taskapi", region="us-east-1", tasks_table="taskapi-dev-tasks")
    assert stage.function_name == "taskapi-dev"
    assert stage.api_name == "taskapi-dev"
    assert stage.function_log_group == "/aws/lambda/taskapi-dev"
    assert stage.api_log_group("a1b2c3") == "API-Gateway-Execution-Logs_a1b2c3/dev"


def test_a_stage_that_extends_another_inherits_and_overrides():
    stage = stage_load("prod", path=FIXTURE)
    assert stage == Stage(name="prod", project_name="taskapi", region="eu-west-1", tasks_table="taskapi-prod-tasks")


def test_function_name_is_slugified_like_zappa_does():
    stage = stage_load("Staging_2", path=FIXTURE)
    assert stage.function_name == "taskapi-staging-2"
    assert stage.tasks_table == "taskapi-Staging_2-tasks"


def test_a_stage_missing_from_the_file_is_refused_with_the_known_stages():
    with pytest.raises(StageNotFound, match=r"stage 'qa' is not defined in zappa_settings.json "
                                            r"\(stages: Staging_2, dev, prod\)"):
        stage_load("qa", path=FIXTURE)


def test_without_the_file_any_stage_gets_the_default_names(tmp_path):
    stage = stage_load("qa", path=tmp_path / "zappa_settings.json")
    assert stage == Stage(name="qa", project_name="taskapi", region="us-east-1", tasks_table="taskapi-qa-tasks")


def test_a_malformed_file_is_reported(tmp_path):
    broken = tmp_path / "zappa_settings.json"
    broken.write_text("{not json")
    with pytest.raises(StageNotFound, match="cannot read zappa_settings.json"):
        stage_load("dev", path=broken)


@pytest.mark.parametrize("name", ["", "dev stage", "dev/../prod", "x" * 65])
def test_names_that_cannot_be_stages_are_refused(name):
    with pytest.raises(StageNotFound, match="is not a stage name"):
        stage_load(name, path=FIXTURE)


def test_the_default_stage_is_dev_locally_and_stage_when_deployed():
    with override_settings(STAGE="test", IS_LOCAL=True):
        assert stage_default() == "dev"
    with override_settings(STAGE="prod", IS_LOCAL=False):
        assert stage_default() == "prod"
