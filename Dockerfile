# syntax=docker/dockerfile:1
# Multi-stage: build wheels with a compiler, run as an unprivileged user without one.
FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY service ./service
COPY classifier ./classifier
COPY workers ./workers
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    COMMENTGATE_HOME=/var/lib/commentgate \
    COMMENTGATE_TRAINING_DATA=/app/training_data
RUN groupadd --system commentgate \
    && useradd --system --gid commentgate --home-dir /var/lib/commentgate commentgate \
    && mkdir -p /var/lib/commentgate/models /app \
    && chown -R commentgate:commentgate /var/lib/commentgate
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/* && rm -rf /wheels
WORKDIR /app
COPY --chown=commentgate:commentgate training_data ./training_data
USER commentgate
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz').status == 200 else 1)"
CMD ["commentgate", "serve", "--host", "0.0.0.0", "--port", "8000"]
