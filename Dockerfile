# syntax=docker/dockerfile:1
# Liudong production image: Django served by gunicorn, static files by WhiteNoise.
# The same image runs the Celery worker and beat (see docker-compose.yml).
#
#   docker build -t liudong .
#   docker run --env-file .env -p 8000:8000 liudong
#
# Runtime settings come from the environment (see .env.example). The image defaults to
# DEBUG=false, so it will not start without a real SECRET_KEY and FIELD_ENCRYPTION_KEY.
#
# Debian bookworm, named rather than implied: its PostgreSQL client tools are version 15,
# the major version of the postgres service in docker-compose.yml (pg_dump refuses a
# server newer than itself). Change both together.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    DJANGO_SETTINGS_MODULE=config.settings

# pg_dump and pg_restore, for `manage.py backup_db` and `restore_db` inside the container.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
       postgresql-client-15 \
    && rm -rf /var/lib/apt/lists/* \
    && pg_dump --version

WORKDIR /app

# Dependencies first, so that code changes reuse this layer. requirements.lock pins every
# package with its hashes (refresh it with `make lock`): pip refuses any file whose hash is
# not listed. It also pins setuptools, pyproject.toml's build requirement, so the project
# itself builds without fetching anything. pyproject.toml sets [tool.setuptools]
# packages = [], so installing the project adds only its metadata; the code runs from /app
# (WORKDIR and PYTHONPATH).
COPY requirements.lock pyproject.toml ./
RUN pip install --require-hashes -r requirements.lock \
    && pip install --no-deps --no-build-isolation . \
    && pip check \
    && rm -rf build ./*.egg-info

# The source tree; .dockerignore keeps .env, .venv, .git and local databases out.
COPY . .

# Collect static files (hashed and compressed by WhiteNoise) into /app/staticfiles.
# Settings refuse to run with DEBUG off and the development secrets, so this one step gets
# throwaway values: they live only in this RUN's environment, never in the image.
RUN DEBUG=false \
    SECRET_KEY=build-only-collectstatic-not-used-at-runtime \
    FIELD_ENCRYPTION_KEY="$(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')" \
    python manage.py collectstatic --noinput

# Run as an unprivileged user (liudong, named by number so that an orchestrator can tell it
# is not root); the code and static files stay root-owned and read-only.
# Celery beat keeps its schedule in /tmp (see docker-compose.yml). /backups belongs to the
# user: docker-compose.yml mounts the backup volume there, and a new named volume takes
# this owner, so `manage.py backup_db /backups/…` can write to it. The same for members' dues
# receipts (RECEIPTS_ROOT, issue #19), on a volume of their own.
RUN groupadd --system --gid 10001 liudong \
    && useradd --system --uid 10001 --gid liudong --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin liudong \
    && mkdir /backups /receipts \
    && chown liudong:liudong /backups /receipts
USER 10001:10001

# gunicorn reads PORT (its default bind is 0.0.0.0:$PORT), WEB_CONCURRENCY (its default
# number of workers) and GUNICORN_CMD_ARGS itself, so all three can be overridden at run
# time without changing the command. Passing --bind or --workers would override them.
ENV DEBUG=false \
    PORT=8000 \
    WEB_CONCURRENCY=3 \
    GUNICORN_CMD_ARGS="--access-logfile -"

EXPOSE 8000

CMD ["gunicorn", "config.wsgi:application"]
