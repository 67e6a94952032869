# firmflow: one image for the API and the worker (the command picks the process).

# The staff web app (web/), built in a node stage: only its static output (web/dist) reaches
# the final image, where the API serves it at /. Vite 8 wants Node 20.19 or later.
FROM node:20-bookworm-slim AS web
WORKDIR /web
# The packages first, from the lock file alone, so source changes reuse this layer.
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY web/ ./
RUN npx vite build --logLevel warn

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# pysaml2 signs and verifies XML through the xmlsec1 program.
RUN apt-get update \
    && apt-get install -y --no-install-recommends xmlsec1 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Dependencies first, from pyproject.toml alone, so code changes reuse this layer.
COPY pyproject.toml ./
RUN python -c "import tomllib; deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; open('/tmp/requirements.txt', 'w').write('\n'.join(deps))" \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The code runs from /app (not installed into site-packages): Alembic finds alembic.ini
# and migrations/ beside it.
COPY . .
# The built web app where the API looks for it by default (api/web_app.py: web/dist).
COPY --from=web /web/dist ./web/dist

RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin firmflow \
    && mkdir -p /tmp/firmflow /tmp/firmflow-metrics \
    && chown firmflow /tmp/firmflow /tmp/firmflow-metrics
USER firmflow

ENV FIRMFLOW_API_HOST=0.0.0.0 \
    FIRMFLOW_API_PORT=8000 \
    FIRMFLOW_API_WORKERS=2 \
    FIRMFLOW_DATA_DIR=/tmp/firmflow \
    PROMETHEUS_MULTIPROC_DIR=/tmp/firmflow-metrics

EXPOSE 8000

# Liveness only: a Temporal or Postgres outage shows on /ready, it is no reason to restart.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import os, urllib.request as r; r.urlopen('http://127.0.0.1:%s/health' % os.environ['FIRMFLOW_API_PORT'], timeout=3)"

# Prestart: migrations (as FIRMFLOW_MIGRATION_DATABASE_URL, under an advisory lock so
# replicas take turns), then uvicorn with FIRMFLOW_API_WORKERS processes.
# The worker runs the same image with: python -m launcher worker
CMD ["sh", "-c", "python -m launcher migrate && exec python -m launcher api"]
