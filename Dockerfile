# syntax=docker/dockerfile:1
# Liudong production image: Django served by gunicorn, static files by WhiteNoise.
# The same image runs the Celery worker and beat (see docker-compose.yml).
#
#   docker build -t liudong .
#   docker run --env-file .env -p 8000:8000 liudong
#
# Runtime settings come from the environment (see .env.example). The image defaults to
# DEBUG=false, so it will not start without a real SECRET_KEY and FIELD_ENCRYPTION_KEY.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    DJANGO_SETTINGS_MODULE=config.settings

WORKDIR /app

# Dependencies first, from pyproject.toml alone, so that code changes reuse this layer.
# pyproject.toml sets [tool.setuptools] packages = [], so installing the project only
# installs its dependencies; the code itself runs from /app (WORKDIR and PYTHONPATH).
COPY pyproject.toml ./
RUN pip install . \
    && rm -rf build *.egg-info

# The source tree; .dockerignore keeps .env, .venv, .git and local databases out.
COPY . .

# Collect static files (hashed and compressed by WhiteNoise) into /app/staticfiles.
# Settings refuse to run with DEBUG off and the development secrets, so this one step gets
# throwaway values: they live only in this RUN's environment, never in the image.
RUN DEBUG=false \
    SECRET_KEY=build-only-collectstatic-not-used-at-runtime \
    FIELD_ENCRYPTION_KEY="$(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')" \
    python manage.py collectstatic --noinput

# Run as an unprivileged user; the code and static files stay root-owned and read-only.
# Celery beat keeps its schedule in /tmp (see docker-compose.yml).
RUN groupadd --system --gid 10001 liudong \
    && useradd --system --uid 10001 --gid liudong --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin liudong
USER liudong

# gunicorn reads PORT (its default bind is 0.0.0.0:$PORT), WEB_CONCURRENCY (its default
# number of workers) and GUNICORN_CMD_ARGS itself, so all three can be overridden at run
# time without changing the command. Passing --bind or --workers would override them.
ENV DEBUG=false \
    PORT=8000 \
    WEB_CONCURRENCY=3 \
    GUNICORN_CMD_ARGS="--access-logfile -"

EXPOSE 8000

CMD ["gunicorn", "config.wsgi:application"]
