# gwcore container image: `docker build -t gwcore .` from the repository root.
# Stage 1 compiles the wheel (Cython fast path) with a compiler; stage 2 runs it without one.
FROM python:3.12-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY gwcore ./gwcore
COPY workers ./workers
COPY supervisor ./supervisor
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[otel]"

FROM python:3.12-slim
RUN groupadd --system --gid 10001 gwcore \
    && useradd --system --uid 10001 --gid gwcore --no-create-home --shell /usr/sbin/nologin gwcore
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels "gwcore[otel]" && rm -rf /wheels
COPY examples/quickstart.yaml /etc/gwcore/gwcore.yaml
# the admin listener must be reachable from outside the container for probes and scraping;
# set GWCORE_GATEWAY__ADMIN__TOKEN (16+ characters) wherever that network is not private
ENV GWCORE_GATEWAY__LISTEN=0.0.0.0:8080 \
    GWCORE_GATEWAY__ADMIN__LISTEN=0.0.0.0:9901 \
    PYTHONDONTWRITEBYTECODE=1
USER 10001:10001
EXPOSE 8080 9901
# /healthz needs no token; python is there, curl is not
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:9901/healthz', timeout=2).status != 200)"]
# the supervisor drains on SIGTERM (docker stop); give it gateway.timeouts.graceful: docker stop -t 40
STOPSIGNAL SIGTERM
ENTRYPOINT ["gwcore"]
CMD ["run", "--config", "/etc/gwcore/gwcore.yaml"]
