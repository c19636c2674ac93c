"""docker-compose.yml, read statically (README "Database roles"): web, worker and beat connect as
the application role, a one-shot migrate service as the schema's owner, and postgres creates
both roles at init with the script that docker-compose.yml mounts."""

from pathlib import Path
from urllib.parse import urlsplit

import yaml
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
OWNER = "renewal_desk_owner"


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _user(url: str) -> str:
    return urlsplit(url).username


def test_web_worker_and_beat_use_the_application_role_after_migrate():
    services = _compose()["services"]
    for name in ("web", "worker", "beat"):
        service = services[name]
        assert _user(service["environment"]["DATABASE_URL"]) == settings.DATABASE_APP_ROLE, name
        assert "MIGRATE_DATABASE_URL" not in service["environment"], name
        assert "migrate" not in service["command"], name  # only the migrate service migrates
        assert service["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}, name


def test_a_one_shot_migrate_service_runs_as_the_owner():
    migrate = _compose()["services"]["migrate"]
    assert migrate["command"].split()[-2:] == ["migrate", "--noinput"]
    assert _user(migrate["environment"]["DATABASE_URL"]) == OWNER
    assert _user(migrate["environment"]["MIGRATE_DATABASE_URL"]) == OWNER
    assert migrate.get("restart") == "no"
    assert migrate["depends_on"]["postgres"] == {"condition": "service_healthy"}


def test_postgres_creates_both_roles_and_the_owner_s_database_at_init():
    postgres = _compose()["services"]["postgres"]
    mounts = {target.split(":")[1]: target.split(":")[0] for target in postgres["volumes"] if target.startswith("./")}
    script = next(source for target, source in mounts.items() if target.startswith("/docker-entrypoint-initdb.d/"))
    text = (ROOT / script).read_text()
    assert f"CREATE ROLE {OWNER} LOGIN NOSUPERUSER CREATEDB" in text
    assert f"CREATE ROLE {settings.DATABASE_APP_ROLE} LOGIN NOSUPERUSER NOCREATEDB" in text
    assert f"CREATE DATABASE renewal_desk OWNER {OWNER}" in text
    assert "GRANT" not in text.upper().replace("GRANTS.SQL", "")  # the app role is a member of nothing
