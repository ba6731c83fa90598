"""Environment config from cdk.json: validated, with errors that name the bad key."""

import pytest

from mlstack.config import ConfigError, load_environments, parse_environments, select_environments


def test_repository_config_defines_dev_and_prod():
    environments = load_environments()
    assert {"dev", "prod"} <= set(environments)
    assert environments["prod"].protected
    assert environments["prod"].lambda_in_vpc


@pytest.mark.parametrize(("settings", "named_key"), [
    ({"ingest": {"max_object_mb": 0}}, "mlstack:environments.dev.ingest.max_object_mb"),
    ({"log_retention_days": 42}, "mlstack:environments.dev.log_retention_days"),
    ({"region": "moon-1"}, "mlstack:environments.dev.region"),
    ({"typo_setting": True}, "mlstack:environments.dev.typo_setting"),
    ({"datasets": ["nope"]}, "mlstack:environments.dev.datasets"),
    ({"lifecycle": {"capture_expiration_days": 20}}, "mlstack:environments.dev.lifecycle"),
])
def test_invalid_settings_fail_with_the_key_named(settings, named_key):
    with pytest.raises(ConfigError) as error:
        parse_environments({"dev": settings})
    assert named_key in str(error.value)


def test_environment_selection_rejects_unknown_names():
    environments = parse_environments({"dev": {}, "prod": {"serving": {"manage_api_gateway_account": False}}})
    assert [env.name for env in select_environments(environments, None)] == ["dev", "prod"]
    assert [env.name for env in select_environments(environments, "prod")] == ["prod"]
    with pytest.raises(ConfigError, match="unknown environment"):
        select_environments(environments, "staging")


def test_bucket_names_are_deterministic_and_valid_s3_names():
    config = parse_environments({"prod": {}})["prod"]
    name = config.bucket_name("access-logs", "123456789012", "ap-southeast-2")
    assert name == "mlstack-prod-access-logs-123456789012-ap-southeast-2"
    assert len(name) <= 63


def test_a_removed_serving_backend_is_refused_by_name():
    # docs/decisions/serving-backend.md: the sagemaker backend was removed, not silently ignored.
    with pytest.raises(ConfigError, match=r"dev\.deployment\.backend"):
        parse_environments({"dev": {"deployment": {"backend": "sagemaker"}}})


def test_one_environment_per_account_and_region_manages_the_api_gateway_logging_role():
    with pytest.raises(ConfigError, match=r"prod\.serving\.manage_api_gateway_account: 'dev' already manages"):
        parse_environments({"dev": {}, "prod": {}})  # no account ids: the same account
    separate = parse_environments({"dev": {"account": "111111111111"}, "prod": {"account": "222222222222"}})
    assert all(config.serving.manage_api_gateway_account for config in separate.values())
    regions = parse_environments({"dev": {}, "prod": {"region": "us-west-2"}})  # one setting per region
    assert len(regions) == 2
