"""Check that docker-compose.yml, alone and with docker-compose.dev.yml, is a valid Compose file.

Both files are copied to a temporary folder beside a dummy .env made from .env.example (so CI
needs no secrets, and .env.example must define every variable the files require), then read
by `docker compose config` where a Compose v2 CLI is installed, and by a small validator of
the Compose format here in any case: variable interpolation as Compose does it (${VAR},
${VAR:-default}, ${VAR:?message}, $$…), merging the override, and the structure Compose
checks (known keys, an image or build per service, depends_on and named volumes that exist,
ports, durations, restart policies, health checks, env_file present). Last, a .env without
POSTGRES_PASSWORD, and one without EMAIL_URL, must be refused. Any failure exits non-zero.

Usage: python3 .ci/check_compose.py              the project's files, as above
       python3 .ci/check_compose.py --no-docker  the same with the validator alone
       python3 .ci/check_compose.py --no-docker --env-file ENV FILE [FILE…]
                                                 validate FILEs merged, interpolated from ENV
COMPOSE="docker compose" (or a path to a docker-compose v2 binary) chooses the Compose CLI.
Needs PyYAML: re-runs itself under /usr/bin/python3 (Debian's python3-yaml) if this Python
lacks it.
"""

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

try:
    import yaml
except ImportError:  # the project's venv has no PyYAML; the system Pythons do
    if not os.environ.get("CHECK_COMPOSE_REEXEC"):
        for candidate in ("/usr/bin/python3", shutil.which("python3")):
            if candidate and Path(candidate).resolve() != Path(sys.executable).resolve():
                probe = subprocess.run(  # noqa: S603
                    [candidate, "-c", "import yaml"], capture_output=True, check=False
                )
                if probe.returncode == 0:
                    os.environ["CHECK_COMPOSE_REEXEC"] = "1"
                    os.execv(candidate, [candidate, __file__, *sys.argv[1:]])  # noqa: S606
    sys.exit("check_compose: needs PyYAML (apt-get install python3-yaml, or pip install pyyaml)")

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = "docker-compose.yml"
DEVELOPMENT = "docker-compose.dev.yml"
REQUIRED_VARIABLES = ("POSTGRES_PASSWORD", "EMAIL_URL")

NAME = r"[A-Za-z_][A-Za-z0-9_]*"
TOP_LEVEL_KEYS = {"version", "name", "services", "networks", "volumes", "configs", "secrets"}
TOP_LEVEL_KEYS |= {"include", "models"}
SERVICE_KEYS = set(
    """
    annotations attach blkio_config build cap_add cap_drop cgroup cgroup_parent command configs
    container_name cpu_count cpu_percent cpu_period cpu_quota cpu_rt_period cpu_rt_runtime
    cpu_shares cpus cpuset credential_spec depends_on deploy develop device_cgroup_rules devices
    dns dns_opt dns_search domainname entrypoint env_file environment expose extends
    external_links extra_hosts gpus group_add healthcheck hostname image init ipc isolation
    label_file labels links logging mac_address mem_limit mem_reservation mem_swappiness
    memswap_limit models network_mode networks oom_kill_disable oom_score_adj pid pids_limit
    platform ports post_start pre_stop privileged profiles provider pull_policy read_only
    restart runtime scale secrets security_opt shm_size stdin_open stop_grace_period
    stop_signal storage_opt sysctls tmpfs tty ulimits use_api_socket user userns_mode uts
    volumes volumes_from working_dir
    """.split()
)
HEALTHCHECK_KEYS = {"test", "interval", "timeout", "retries", "start_period", "start_interval"}
HEALTHCHECK_KEYS |= {"disable"}
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")
RESTART = re.compile(r"^(no|always|unless-stopped|on-failure(:\d+)?)$")
PORT = re.compile(
    r"^((?P<ip>\d{1,3}(\.\d{1,3}){3}|\[[0-9A-Fa-f:]+\]):)?"
    r"((?P<host>\d+(-\d+)?)?:)?(?P<container>\d+(-\d+)?)(/(tcp|udp|sctp))?$"
)


class ComposeError(Exception):
    pass


# --- reading -------------------------------------------------------------------------------


class ComposeLoader(yaml.SafeLoader):
    """YAML as Compose reads it, with its !reset and !override tags."""


def _tagged(loader, node):
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


ComposeLoader.add_constructor("!reset", _tagged)
ComposeLoader.add_constructor("!override", _tagged)


def read_dotenv(path: Path) -> dict[str, str]:
    """NAME=value lines as Compose reads them: comments, `export `, quotes."""
    variables = {}
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").lstrip()
        name, equals, value = line.partition("=")
        name = name.strip()
        if not equals or not re.fullmatch(NAME, name):
            raise ComposeError(f"{path}:{number}: not NAME=value: {raw!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        else:
            value = re.split(r"\s+#", value, maxsplit=1)[0]
        variables[name] = value
    return variables


def _closing_brace(text: str, start: int) -> int:
    depth = 0
    for index in range(start, len(text)):
        if text[index] == "{":
            depth += 1
        elif text[index] == "}":
            depth -= 1
            if depth == 0:
                return index
    return -1


def _substitute(expression: str, env: dict[str, str], where: str) -> str:
    match = re.fullmatch(rf"({NAME})(?:(:?[-?+])(.*))?", expression, re.DOTALL)
    if not match:
        raise ComposeError(f"{where}: invalid interpolation format ${{{expression}}}")
    name, operator, argument = match.groups()
    value = env.get(name)
    if operator is None:
        return value or ""
    missing = value is None or (operator.startswith(":") and value == "")
    if operator.endswith("-"):
        return interpolate(argument, env, where) if missing else value
    if operator.endswith("?"):
        if missing:
            message = interpolate(argument, env, where)
            raise ComposeError(f"{where}: required variable {name} is missing a value: {message}")
        return value
    return "" if missing else interpolate(argument, env, where)  # "+": the alternative


def interpolate(text: str, env: dict[str, str], where: str) -> str:
    out, index = [], 0
    while index < len(text):
        char = text[index]
        following = text[index + 1 : index + 2]
        if char != "$":
            out.append(char)
            index += 1
        elif following == "$":
            out.append("$")
            index += 2
        elif following == "{":
            end = _closing_brace(text, index + 1)
            if end < 0:
                raise ComposeError(
                    f"{where}: unterminated ${{ in {text!r} (write $$ for a literal $)"
                )
            out.append(_substitute(text[index + 2 : end], env, where))
            index = end + 1
        elif name := re.match(NAME, text[index + 1 :]):
            out.append(env.get(name.group(), ""))
            index += 1 + name.end()
        else:  # a "$" before anything else stays, as in Compose
            out.append(char)
            index += 1
    return "".join(out)


def interpolate_tree(node, env: dict[str, str], where: str = ""):
    if isinstance(node, dict):
        return {k: interpolate_tree(v, env, f"{where}.{k}".lstrip(".")) for k, v in node.items()}
    if isinstance(node, list):
        return [interpolate_tree(v, env, f"{where}[{i}]") for i, v in enumerate(node)]
    if isinstance(node, str):
        return interpolate(node, env, where)
    return node


def _normalise_service(service: dict) -> dict:
    service = dict(service)
    environment = service.get("environment")
    if isinstance(environment, list):
        pairs = (str(item).partition("=") for item in environment)
        service["environment"] = {k: (v if eq else None) for k, eq, v in pairs}
    depends_on = service.get("depends_on")
    if isinstance(depends_on, list):
        service["depends_on"] = {name: {"condition": "service_started"} for name in depends_on}
    if isinstance(service.get("env_file"), str | dict):
        service["env_file"] = [service["env_file"]]
    return service


def merge(base, override, key: str = ""):
    """Compose's merge, close enough to validate: mappings merge, most lists add up, and
    command, entrypoint and a health check's test are replaced."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for k, v in override.items():
            merged[k] = merge(base[k], v, k) if k in base else v
        return merged
    if isinstance(base, list) and isinstance(override, list):
        if key in {"command", "entrypoint", "test"}:
            return override
        return base + [item for item in override if item not in base]
    return override


def load(files: list[Path], env: dict[str, str]) -> dict:
    merged: dict = {}
    for path in files:
        try:
            data = yaml.load(path.read_text(), Loader=ComposeLoader)  # noqa: S506 - a SafeLoader
        except yaml.YAMLError as error:
            raise ComposeError(f"{path.name}: not valid YAML: {error}") from error
        if not isinstance(data, dict):
            raise ComposeError(f"{path.name}: the top level must be a mapping")
        data = interpolate_tree(data, env)
        services = data.get("services")
        if isinstance(services, dict):
            data["services"] = {
                name: _normalise_service(s) if isinstance(s, dict) else s
                for name, s in services.items()
            }
        merged = merge(merged, data)
    return merged


# --- checking ------------------------------------------------------------------------------


def _check_healthcheck(where: str, check, errors: list[str]) -> None:
    if not isinstance(check, dict):
        errors.append(f"{where}: must be a mapping")
        return
    for key in set(check) - HEALTHCHECK_KEYS:
        errors.append(f"{where}: unknown key {key!r}")
    test = check.get("test")
    if isinstance(test, list):
        if not test or test[0] not in {"CMD", "CMD-SHELL", "NONE"}:
            errors.append(f"{where}.test: a list must start with CMD, CMD-SHELL or NONE")
        elif not all(isinstance(part, str) for part in test):
            errors.append(f"{where}.test: every item must be a string")
    elif test is not None and not isinstance(test, str):
        errors.append(f"{where}.test: must be a string or a list")
    for key in ("interval", "timeout", "start_period", "start_interval"):
        if key in check and not DURATION.match(str(check[key])):
            errors.append(f"{where}.{key}: not a duration: {check[key]!r}")
    if "retries" in check and not isinstance(check["retries"], int):
        errors.append(f"{where}.retries: must be a number")


def _check_ports(where: str, ports, errors: list[str]) -> None:
    if not isinstance(ports, list):
        errors.append(f"{where}: must be a list")
        return
    for port in ports:
        if isinstance(port, dict):
            if "target" not in port:
                errors.append(f"{where}: {port!r} has no target")
            continue
        match = PORT.match(str(port))
        numbers = re.findall(r"\d+", f"{match['host'] or ''} {match['container']}") if match else []
        if not match or not all(1 <= int(n) <= 65535 for n in numbers):
            errors.append(f"{where}: not a port mapping: {port!r}")


def _check_volumes(where: str, volumes, declared: set, errors: list[str]) -> None:
    if not isinstance(volumes, list):
        errors.append(f"{where}: must be a list")
        return
    for volume in volumes:
        if isinstance(volume, dict):
            kind, source = volume.get("type", "volume"), volume.get("source")
            if "target" not in volume:
                errors.append(f"{where}: {volume!r} has no target")
        elif isinstance(volume, str):
            parts = volume.split(":")
            if len(parts) > 3 or not all(parts):
                errors.append(f"{where}: not a volume: {volume!r}")
                continue
            source = parts[0] if len(parts) > 1 else None
            kind = "bind" if source and source[0] in "/.~$" else "volume"
        else:
            errors.append(f"{where}: not a volume: {volume!r}")
            continue
        if kind == "volume" and source and source not in declared:
            errors.append(f"{where}: volume {source!r} is not declared under top-level volumes")


def check(config: dict, project_dir: Path) -> list[str]:
    errors = []
    for key in config:
        if key not in TOP_LEVEL_KEYS and not str(key).startswith("x-"):
            errors.append(f"unknown top-level key {key!r}")
    services = config.get("services")
    if not isinstance(services, dict) or not services:
        return [*errors, "no services"]
    for section in ("volumes", "networks", "configs", "secrets"):
        value = config.get(section)
        if value is not None and not isinstance(value, dict):
            errors.append(f"{section}: must be a mapping")
    declared = set(config.get("volumes") or {})
    for name, service in services.items():
        where = f"services.{name}"
        if not re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9._-]*", str(name)):
            errors.append(f"{where}: invalid service name")
        if not isinstance(service, dict):
            errors.append(f"{where}: must be a mapping")
            continue
        for key in service:
            if key not in SERVICE_KEYS and not str(key).startswith("x-"):
                errors.append(f"{where}: unknown key {key!r}")
        if "image" not in service and "build" not in service:
            errors.append(f"{where}: needs an image or a build")
        build = service.get("build")
        if build is not None and not isinstance(build, str | dict):
            errors.append(f"{where}.build: must be a path or a mapping")
        for key in ("command", "entrypoint"):
            value = service.get(key)
            if value is not None and not isinstance(value, str | list):
                errors.append(f"{where}.{key}: must be a string or a list")
            if isinstance(value, list) and not all(isinstance(v, str | int | float) for v in value):
                errors.append(f"{where}.{key}: every item must be a string")
        environment = service.get("environment") or {}
        if not isinstance(environment, dict):
            errors.append(f"{where}.environment: must be a mapping or a list")
        else:
            for key, value in environment.items():
                if not re.fullmatch(r"[^=\s]+", str(key)):
                    errors.append(f"{where}.environment: invalid name {key!r}")
                if isinstance(value, dict | list):
                    errors.append(f"{where}.environment.{key}: must be a single value")
        for entry in service.get("env_file") or []:
            path = entry.get("path") if isinstance(entry, dict) else entry
            required = entry.get("required", True) if isinstance(entry, dict) else True
            if required and not (project_dir / str(path)).is_file():
                errors.append(f"{where}.env_file: {path} not found in {project_dir}")
        depends_on = service.get("depends_on") or {}
        for other, options in depends_on.items():
            if other not in services:
                errors.append(f"{where}.depends_on: no service named {other!r}")
            condition = (options or {}).get("condition", "service_started")
            if condition not in CONDITIONS:
                errors.append(f"{where}.depends_on.{other}: unknown condition {condition!r}")
        if "restart" in service and not RESTART.match(str(service["restart"])):
            errors.append(f"{where}.restart: unknown policy {service['restart']!r}")
        if "ports" in service:
            _check_ports(f"{where}.ports", service["ports"], errors)
        if "volumes" in service:
            _check_volumes(f"{where}.volumes", service["volumes"], declared, errors)
        if "healthcheck" in service:
            _check_healthcheck(f"{where}.healthcheck", service["healthcheck"], errors)
    return errors


def validate(files: list[Path], env_file: Path) -> dict:
    """The merged, interpolated configuration; ComposeError if Compose would refuse it."""
    config = load(files, read_dotenv(env_file))
    errors = check(config, files[0].resolve().parent)
    if errors:
        raise ComposeError("\n".join(errors))
    return config


# --- the project's check -------------------------------------------------------------------


def compose_command() -> list[str] | None:
    """A Compose v2 CLI: $COMPOSE, `docker compose` or a v2 `docker-compose`; None if none."""
    if os.environ.get("COMPOSE"):
        return shlex.split(os.environ["COMPOSE"])
    for command in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(command[0]) is None:
            continue
        version = subprocess.run(  # noqa: S603
            [*command, "version", "--short"], capture_output=True, text=True, check=False
        )
        if version.returncode == 0 and not version.stdout.strip().startswith("1."):
            return command
    return None


def run_compose(command: list[str], folder: Path, files: list[str]) -> tuple[bool, str]:
    args = [*command, "-p", "liudong-check", "--project-directory", str(folder)]
    for name in files:
        args += ["-f", str(folder / name)]
    # Only the dummy .env counts: none of this shell's variables.
    env = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "DOCKER_CONFIG"}}
    result = subprocess.run(  # noqa: S603
        [*args, "config", "--quiet"], capture_output=True, text=True, env=env, check=False
    )
    return result.returncode == 0, (result.stderr or result.stdout).strip()


def project_check(use_docker: bool) -> int:
    command = compose_command() if use_docker else None
    engines = ["the Python validator"]
    if command:
        engines.insert(0, " ".join(command))
    else:
        print("check_compose: no Compose v2 CLI here; using the Python validator alone")
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name in (PRODUCTION, DEVELOPMENT):
            shutil.copy(ROOT / name, folder / name)
        example = (ROOT / ".env.example").read_text()

        def attempt(files: list[str], env_text: str) -> list[str]:
            """The errors of each engine, empty if all accepted the files."""
            (folder / ".env").write_text(env_text)
            problems = []
            if command:
                ok, output = run_compose(command, folder, files)
                if not ok:
                    problems.append(f"docker compose config: {output}")
            try:
                validate([folder / name for name in files], folder / ".env")
            except ComposeError as error:
                problems.append(f"validator: {error}")
            return problems

        for files in ([PRODUCTION], [PRODUCTION, DEVELOPMENT]):
            label = " + ".join(files)
            problems = attempt(files, example)
            if problems:
                failures += 1
                print(f"FAIL {label} with .env.example:\n  " + "\n  ".join(problems))
            else:
                print(f"ok   {label} with .env.example ({', '.join(engines)})")

        for variable in REQUIRED_VARIABLES:
            without = re.sub(rf"(?m)^{variable}=.*\n?", "", example)
            for files in ([PRODUCTION], [PRODUCTION, DEVELOPMENT]):
                label = " + ".join(files)
                problems = attempt(files, without)
                refused = len(problems) == len(engines)
                named = all(variable in problem for problem in problems)
                if refused and named:
                    print(f"ok   {label} refused without {variable}")
                else:
                    failures += 1
                    print(f"FAIL {label} without {variable}: expected every engine to refuse it")
    if failures:
        print(f"check_compose: {failures} check(s) failed")
        return 1
    print("check_compose: the compose files are valid")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-docker", action="store_true", help="the Python validator alone")
    parser.add_argument("--env-file", type=Path, help="with FILEs: the .env to interpolate from")
    parser.add_argument("files", nargs="*", type=Path, help="compose files, merged in order")
    options = parser.parse_args()
    if not options.files:
        return project_check(use_docker=not options.no_docker)
    if not options.env_file:
        parser.error("FILEs need --env-file")
    try:
        validate(options.files, options.env_file)
    except (ComposeError, OSError) as error:
        print(f"check_compose: invalid: {error}", file=sys.stderr)
        return 1
    print(f"check_compose: valid: {' + '.join(str(f) for f in options.files)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
