"""The deployment files: the hashed lock the image installs, the Dockerfile, the compose files
and the web container's health check (run against a stand-in /healthz)."""

import json
import re
import shutil
import subprocess
import sys
import threading
import tomllib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .conftest import require_service

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
CHECK_COMPOSE = ROOT / ".ci" / "check_compose.py"


def locked() -> dict[str, tuple[str, list[str]]]:
    """requirements.lock as {name: (version, hashes)}."""
    pins: dict[str, tuple[str, list[str]]] = {}
    text = LOCK.read_text().replace("\\\n", " ")
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9._-]+)==(\S+)((?:\s+--hash=sha256:[0-9a-f]{64})+)", line)
        assert match, f"requirements.lock: not a pin with hashes: {line!r}"
        hashes = re.findall(r"sha256:([0-9a-f]{64})", match[3])
        pins[canonicalize_name(match[1])] = (match[2], hashes)
    return pins


def test_lock_pins_every_requirement_of_pyproject_with_hashes():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wanted = [*pyproject["project"]["dependencies"], *pyproject["build-system"]["requires"]]
    pins = locked()
    stale = []
    for spec in map(Requirement, wanted):
        pin = pins.get(canonicalize_name(spec.name))
        if pin is None or not spec.specifier.contains(pin[0], prereleases=True):
            stale.append(f"{spec} (locked: {pin[0] if pin else 'missing'})")
    assert not stale, f"requirements.lock is out of date, run `make lock`: {stale}"
    assert "psycopg-binary" in pins, "psycopg[binary] needs psycopg-binary in the lock"
    assert "setuptools" in pins, "the build requirement must be locked (--no-build-isolation)"


def test_dockerfile_installs_only_hashed_files_and_has_pg_dump():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "COPY requirements.lock pyproject.toml ./" in dockerfile
    assert "pip install --require-hashes -r requirements.lock" in dockerfile
    assert "pip install --no-deps --no-build-isolation ." in dockerfile
    assert "pip install . " not in dockerfile
    # pg_dump refuses a server newer than itself: the client in the image and the postgres
    # service in docker-compose.yml share one major version.
    client = re.search(r"postgresql-client-(\d+)", dockerfile)
    server = re.search(r"image: postgres:(\d+)", (ROOT / "docker-compose.yml").read_text())
    assert client and server and client[1] == server[1]
    assert re.search(r"^FROM python:3\.11-slim-bookworm$", dockerfile, re.M)


def test_dockerignore_keeps_secrets_and_backups_out_of_the_image():
    ignored = (ROOT / ".dockerignore").read_text().split()
    for pattern in (".env", ".env.*", "backups", "*.dump", "*.sqlite3", ".git", ".venv"):
        assert pattern in ignored
    assert "!.env.example" in ignored


def yaml_python() -> str | None:
    """A Python with PyYAML (the project's venv has none; the system Pythons do)."""
    for candidate in (sys.executable, shutil.which("python3"), "/usr/bin/python3"):
        if candidate and Path(candidate).exists():
            probe = subprocess.run([candidate, "-c", "import yaml"], capture_output=True)
            if probe.returncode == 0:
                return candidate
    return None


@pytest.fixture(scope="module")
def compose():
    """The compose files as data: {file name: mapping}."""
    python = yaml_python()
    require_service("a Python with PyYAML", python is not None, "apt-get install python3-yaml")
    code = (
        "import json, sys, yaml\n"
        "print(json.dumps({p: yaml.safe_load(open(p)) for p in sys.argv[1:]}))"
    )
    names = ["docker-compose.yml", "docker-compose.dev.yml"]
    result = subprocess.run(
        [python, "-c", code, *names], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)


def test_production_compose_takes_credentials_mail_and_backups_from_env(compose):
    production = compose["docker-compose.yml"]
    text = (ROOT / "docker-compose.yml").read_text()
    assert "liudong:liudong" not in text
    assert "mailpit" not in production["services"]
    postgres = production["services"]["postgres"]["environment"]
    assert postgres["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    app = production["x-app"]["environment"]
    assert "${POSTGRES_PASSWORD:?" in app["DATABASE_URL"]
    assert app["EMAIL_URL"].startswith("${EMAIL_URL:?")
    web = production["services"]["web"]
    assert "${BACKUP_DIR:-backups}:/backups" in web["volumes"]
    assert "backups" in production["volumes"]
    assert "/healthz" in web["healthcheck"]["test"][-1]


def test_development_override_adds_the_mail_catcher(compose):
    development = compose["docker-compose.dev.yml"]
    assert "mailpit" in development["services"]
    for name in ("web", "worker", "beat"):
        service = development["services"][name]
        assert service["environment"]["EMAIL_URL"] == "smtp://mailpit:1025"
        assert "mailpit" in service["depends_on"]
    assert not (ROOT / "docker-compose.override.yml").exists()


class StandIn(BaseHTTPRequestHandler):
    """Answers every request with the class's status and body, and records the Host."""

    status = 200
    body: dict = {}
    hosts: list = []

    def do_GET(self):
        type(self).hosts.append(self.headers["Host"])
        payload = json.dumps(self.body).encode()
        self.send_response(self.status)
        if self.status in (301, 302):
            self.send_header("Location", "https://liudong.example.org/healthz")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


def healthz_body(*, database=True, redis=True, scan=True) -> dict:
    checks = {"database": {"ok": database}, "redis": {"ok": redis}, "scan": {"ok": scan}}
    healthy = database and redis and scan
    return {"status": "ok" if healthy else "unhealthy", "checks": checks}


@pytest.fixture
def stand_in():
    StandIn.hosts = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def run_healthcheck(compose, port: int, allowed_hosts: str) -> subprocess.CompletedProcess:
    test = compose["docker-compose.yml"]["services"]["web"]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]
    env = {"PORT": str(port), "ALLOWED_HOSTS": allowed_hosts}
    return subprocess.run(
        [sys.executable, "-c", test[3]], env=env, capture_output=True, text=True, timeout=30
    )


@pytest.mark.parametrize(
    ("status", "body", "healthy"),
    [
        (200, healthz_body(), True),
        # A fresh deployment has no scan yet, and a stale scan is the worker's business.
        (503, healthz_body(scan=False), True),
        (503, healthz_body(database=False, scan=False), False),
        (503, healthz_body(redis=False), False),
        (400, {}, False),  # the host is not allowed
        (301, {}, False),  # redirected to https: not followed
        (500, {}, False),
    ],
)
def test_web_healthcheck(compose, stand_in, status, body, healthy):
    StandIn.status, StandIn.body = status, body
    result = run_healthcheck(compose, stand_in.server_port, " .example.org, liudong.example.org")
    assert (result.returncode == 0) is healthy, result.stderr
    assert StandIn.hosts == ["example.org"]  # one request, as a host Django allows


def test_web_healthcheck_fails_when_nothing_answers(compose, stand_in):
    port = stand_in.server_port
    stand_in.shutdown()
    stand_in.server_close()
    assert run_healthcheck(compose, port, "*").returncode != 0


def run_check_compose(*args) -> subprocess.CompletedProcess:
    require_service("a Python with PyYAML", yaml_python() is not None)
    return subprocess.run(
        [sys.executable, str(CHECK_COMPOSE), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_compose_files_are_valid():
    result = run_check_compose("--no-docker")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "refused without POSTGRES_PASSWORD" in result.stdout


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (("restart: always", "restrat: always"), "unknown key 'restrat'"),
        (("- data:/data", "- dta:/data"), "volume 'dta' is not declared"),
        (("depends_on: [db]", "depends_on: [dbb]"), "no service named 'dbb'"),
        (("interval: 5s", "interval: 5 seconds"), "not a duration"),
        (('"8000:8000"', '"80000:8000"'), "not a port mapping"),
        (("${TAG:-15}", "${TAG:?set TAG}"), "required variable TAG is missing a value: set TAG"),
        (("${TAG:-15}", "${TAG:-15"), "unterminated"),
        (("    image: app\n", "    image: app\n   bad: [\n"), "not valid YAML"),
    ],
)
def test_check_compose_fails_loudly_on_an_invalid_file(tmp_path, change, error):
    valid = (
        "services:\n"
        "  db:\n"
        "    image: postgres:${TAG:-15}\n"
        "    volumes:\n"
        "      - data:/data\n"
        "    healthcheck:\n"
        '      test: ["CMD", "pg_isready"]\n'
        "      interval: 5s\n"
        "  web:\n"
        "    image: app\n"
        "    restart: always\n"
        "    depends_on: [db]\n"
        "    env_file: .env\n"
        "    ports:\n"
        '      - "8000:8000"\n'
        "volumes:\n"
        "  data:\n"
    )
    (tmp_path / ".env").write_text("# dummy\nSECRET=x\n")
    compose_file = tmp_path / "compose.yml"
    compose_file.write_text(valid)
    assert run_check_compose("--env-file", tmp_path / ".env", compose_file).returncode == 0

    assert change[0] in valid
    compose_file.write_text(valid.replace(*change, 1))
    result = run_check_compose("--env-file", tmp_path / ".env", compose_file)
    assert result.returncode == 1
    assert error in result.stderr
