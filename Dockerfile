# One image for both roles: the default command serves the web app (feedsvc-web: granian),
# `feedsvc-worker run` runs the worker (see compose.yaml).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# openai's HTTP client uses the system trust store.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY feedsvc ./feedsvc
COPY worker ./worker
RUN pip install . \
    && groupadd --system --gid 10001 feedsvc \
    && useradd --system --uid 10001 --gid 10001 --no-create-home feedsvc
COPY topics.toml ./

USER 10001:10001
ENV FEEDSVC_TOPICS_FILE=/app/topics.toml \
    FEEDSVC_BIND=0.0.0.0:8000
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["feedsvc-web"]
