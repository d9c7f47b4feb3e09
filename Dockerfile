# incident-bot: a slim, non-root image. Build: docker build -t incident-bot .
# Migrations run when the container starts (`incident-bot serve`); see README, "Deploy".

# --- build: install the package and its dependencies into a virtual environment -------------
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY app ./app
COPY migrations ./migrations
# setup.py ships migrations/ inside the package (app/_migrations), so nothing else is copied.
RUN /opt/venv/bin/pip install .

# --- runtime: the virtual environment only, run as an unprivileged user ---------------------
FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOST=0.0.0.0 \
    PORT=3000 \
    LOG_FORMAT=json
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/bot bot
COPY --from=build /opt/venv /opt/venv
# The default SQLite database (./incident-bot.db) lands here; use PostgreSQL in production.
WORKDIR /home/bot
USER 10001:10001
EXPOSE 3000
# The slim image has no curl: probe /health with Python. A 503 (a failing check) exits 1.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '3000'), timeout=8)"]
CMD ["incident-bot", "serve"]
