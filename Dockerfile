# Descent: one image for the API and the workers; the command picks the role.
#   docker run IMAGE                                  → API only (serve --workers 0), migrates first
#   docker run IMAGE worker --concurrency 4           → workers only
#   docker run IMAGE serve --host 0.0.0.0             → API + embedded workers (single machine)
# Configuration comes from DESCENT_* environment variables (docs/operations.md); no secret is baked in.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

WORKDIR /src

# Dependencies first, from pyproject.toml alone: this layer is rebuilt only when pyproject.toml
# changes, not on every source edit. tomllib (Python 3.11) reads the list pip would install
# for '.[postgres]'; the project itself comes in the next layer.
COPY pyproject.toml ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; print('\n'.join(p['dependencies'] + p['optional-dependencies']['postgres']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The project, with the PostgreSQL extra (already satisfied above: nothing more is downloaded).
COPY README.md ./
COPY service ./service
COPY worker ./worker
COPY descent ./descent
COPY migrations ./migrations
RUN pip install '.[postgres]' \
    && rm -rf /src/build /src/*.egg-info

# An unprivileged user; /data is where a SQLite database lives (mount a volume there). Named
# explicitly: without DESCENT_DATABASE_URL the database would go to the user's data directory,
# inside the container's writable layer.
ENV DESCENT_DATABASE_URL=sqlite:////data/descent.db
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin descent \
    && mkdir -p /data && chown descent:descent /data
USER descent
WORKDIR /data

EXPOSE 8000
# The API answers /healthz on DESCENT_PORT (8000 unless set). Worker-only containers have no HTTP
# port: docker-compose.yml turns this check off for them.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('DESCENT_PORT', '8000'), timeout=4)"]

ENTRYPOINT ["descent"]
CMD ["serve", "--host", "0.0.0.0", "--workers", "0"]
