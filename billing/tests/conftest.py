from billing.tests.platform_fixtures import platform_keys, platforms  # noqa: F401
