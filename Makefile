# Liudong — every command a developer or operator needs. See README.md.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test lint format migrate seed worker beat messages check-deploy clean lock
.PHONY: bench bench-build bench-scan bench-dashboard bench-import bench-pages bench-load bench-writes
.PHONY: bench-national

# Benchmarks run on their own PostgreSQL database: `make bench` rebuilds it; the bench-*
# targets after bench-build use it as it is, e.g. `make bench-pages BENCH_DB=liudong_bench_1m`.
BENCH_DB ?= liudong_bench
BENCH_MEMBERS ?= 100000
BENCH_IMPORT_ROWS ?= 10000
BENCH_EXPORT_ROWS ?= 100000
BENCH_URL := postgres://postgres@127.0.0.1:5432/$(BENCH_DB)
BENCH_RUNS ?= 20
BENCH_BUDGET ?= 60
BENCH_USERS ?= 20
BENCH_SECONDS ?= 60
BENCH_RATE ?= 60
BENCH_RATE_USERS ?= 120

$(BIN)/python:
	@$(PY) -c 'import sys; sys.exit("Liudong needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

$(VENV)/.installed-bench: pyproject.toml $(VENV)/.installed-test
	$(BIN)/pip install --quiet -e '.[test,bench]'
	@touch $@

## run: install, migrate, load the demo county if the database is empty, and serve it
run: $(VENV)/.installed
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo --if-empty
	@echo ""
	@echo "  Liudong is at http://127.0.0.1:$(PORT)/"
	@echo "  Demo logins: secretary (one branch), reviewer (the county), admin — password: $${DEMO_PASSWORD:-liudong-demo}"
	@echo "  A demo member's own page (open it at phone size; the one-time code is printed below): $$($(BIN)/python manage.py member_link)"
	@echo ""
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

## test: install what tests need, lint, and run the whole suite
test: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

format: $(VENV)/.installed-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: $(VENV)/.installed
	$(BIN)/python manage.py migrate --noinput

seed: $(VENV)/.installed
	$(BIN)/python manage.py seed_demo

## worker / beat: Celery on Redis (set REDIS_URL; without it tasks run in-process)
worker: $(VENV)/.installed
	$(BIN)/celery -A config worker -l info --concurrency 2

beat: $(VENV)/.installed
	$(BIN)/celery -A config beat -l info --schedule $(VENV)/celerybeat-schedule

## messages: refresh and compile the translations (needs GNU gettext)
messages: $(VENV)/.installed
	$(BIN)/python manage.py makemessages -l zh_Hans -l en --no-obsolete --ignore '.venv/*'
	$(BIN)/python manage.py compilemessages --ignore '.venv/*'

## bench: rebuild the bench database, then every benchmark; figures in bench/results/
bench: bench-build bench-scan bench-dashboard bench-pages bench-load bench-import bench-writes \
	bench-national

## bench-build: a fresh database BENCH_DB with a province of BENCH_MEMBERS members
bench-build: $(VENV)/.installed-bench
	psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $(BENCH_DB)" postgres
	psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $(BENCH_DB)" postgres
	DATABASE_URL=$(BENCH_URL) $(BIN)/python manage.py migrate --noinput -v0
	DATABASE_URL=$(BENCH_URL) $(BIN)/python -m bench.province --members $(BENCH_MEMBERS)

# The others use BENCH_DB as it is, migrated first in case the code is ahead of it. The page
# and load benchmarks want the alerts of a scan (bench-scan) for the alert inbox.
bench-scan: $(VENV)/.installed-bench
	DATABASE_URL=$(BENCH_URL) $(BIN)/python manage.py migrate --noinput -v0
	DATABASE_URL=$(BENCH_URL) $(BIN)/python -m bench.scan_bench
	DATABASE_URL=$(BENCH_URL) REDIS_URL=$${BENCH_REDIS_URL:-redis://127.0.0.1:6379/14} \
		$(BIN)/python -m bench.scan_split_bench --split rule --workers 2 --no-single

bench-dashboard: $(VENV)/.installed-bench
	DATABASE_URL=$(BENCH_URL) $(BIN)/python manage.py migrate --noinput -v0
	DATABASE_URL=$(BENCH_URL) $(BIN)/python -m bench.dashboard_bench

## bench-pages: server time and queries of the pages used most, as a secretary and a reviewer
bench-pages: $(VENV)/.installed-bench
	DATABASE_URL=$(BENCH_URL) $(BIN)/python manage.py migrate --noinput -v0
	DATABASE_URL=$(BENCH_URL) $(BIN)/python -m bench.pages_bench --runs $(BENCH_RUNS) --budget $(BENCH_BUDGET)

## bench-load: on gunicorn, driven by locust, for BENCH_SECONDS each: BENCH_USERS users with no
# pause (saturation), then BENCH_RATE requests/s offered by BENCH_RATE_USERS users (open loop)
bench-load: $(VENV)/.installed-bench
	DATABASE_URL=$(BENCH_URL) $(BIN)/python manage.py migrate --noinput -v0
	DATABASE_URL=$(BENCH_URL) $(BIN)/python -m bench.load_bench --users $(BENCH_USERS) --seconds $(BENCH_SECONDS)
	DATABASE_URL=$(BENCH_URL) $(BIN)/python -m bench.load_bench --users $(BENCH_RATE_USERS) --seconds $(BENCH_SECONDS) --rate $(BENCH_RATE)

bench-import: $(VENV)/.installed-bench
	DATABASE_URL=$(BENCH_URL) $(BIN)/python manage.py migrate --noinput -v0
	DATABASE_URL=$(BENCH_URL) $(BIN)/python -m bench.import_export_bench --rows $(BENCH_IMPORT_ROWS) --repeat 3 --export-rows $(BENCH_EXPORT_ROWS)
	DATABASE_URL=$(BENCH_URL) $(BIN)/python -m bench.import_export_bench --preview-at-limit

## bench-writes: secretaries writing to the same members at once; then every write is checked
# On its own database, liudong_bench_writes, made afresh (not BENCH_DB).
bench-writes: $(VENV)/.installed-bench
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/liudong_bench_writes $(BIN)/python -m bench.write_load --users $${BENCH_WRITE_USERS:-8} --seconds $${BENCH_WRITE_SECONDS:-30}

## bench-national: the national format at county size, export then reconcile (issue #20)
# On its own database, liudong_bench_national, made afresh (not BENCH_DB).
BENCH_NATIONAL_ROWS ?= 50000
bench-national: $(VENV)/.installed-bench
	psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS liudong_bench_national" postgres
	psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE liudong_bench_national" postgres
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/liudong_bench_national $(BIN)/python manage.py migrate --noinput -v0
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/liudong_bench_national $(BIN)/python -m bench.national_bench --rows $(BENCH_NATIONAL_ROWS)

## check-deploy: Django's deployment checks with production-like settings
check-deploy: $(VENV)/.installed
	DEBUG=false SECRET_KEY=check-deploy-$$(date +%s)-0123456789abcdefghijklmnopqrstuvwxyz0123456789 \
	FIELD_ENCRYPTION_KEY=$$($(BIN)/python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())') \
	ALLOWED_HOSTS=liudong.example.org SMS_BACKEND=$${SMS_BACKEND:-infrastructure.sms.GatewayBackend} \
	SMS_GATEWAY_URL=$${SMS_GATEWAY_URL:-https://sms.example.org/send} \
	$(BIN)/python manage.py check --deploy --fail-level WARNING

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache

## lock: refresh requirements.lock, the hashed pins the Docker image installs (uv, in a
# throwaway venv): pyproject.toml's dependencies and build requirement, for Python 3.11 on
# x86_64 Linux. Pins already in the file are kept while they fit; LOCK_ARGS=--upgrade takes
# the newest releases that pyproject.toml allows.
lock:
	@set -e; tmp="$$(mktemp -d)"; trap 'rm -rf "$$tmp"' EXIT; \
	$(PY) -m venv "$$tmp"; "$$tmp/bin/pip" install --quiet 'uv==0.13.9'; \
	$(PY) -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"], sep="\n")' \
	| "$$tmp/bin/uv" pip compile --quiet pyproject.toml - --generate-hashes \
		--python-version 3.11 --python-platform x86_64-unknown-linux-gnu \
		--custom-compile-command 'make lock' --output-file requirements.lock $(LOCK_ARGS)
	@echo "requirements.lock: $$(grep -c '==' requirements.lock) pinned packages"
