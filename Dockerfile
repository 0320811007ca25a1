# syntax=docker/dockerfile:1
# The Ripcord operator image: `make image` (docker or podman).
#
# Stage 1 builds Ripcord and its dependencies into a virtualenv; stage 2 is a slim Python
# with that virtualenv and nothing else: no compiler, no pip cache, no source tree.
# It runs as the numeric user 10001 and writes nothing outside /tmp, so it works with
# readOnlyRootFilesystem: true and an emptyDir at /tmp (manifests/operator/deployment.yaml).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/ripcord
WORKDIR /src
# Only what the wheel is built from (see .dockerignore): the package and its metadata.
COPY pyproject.toml ./
COPY operator/ ./operator/
RUN /opt/ripcord/bin/pip install . \
 && /opt/ripcord/bin/pip uninstall --yes pip setuptools \
 && /opt/ripcord/bin/python -m compileall -q /opt/ripcord/lib

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="ripcord-operator" \
      org.opencontainers.image.description="Ripcord: canary releases for Kubernetes" \
      org.opencontainers.image.licenses="Apache-2.0"
# Numeric user and group, so runAsNonRoot can verify them without /etc/passwd lookups.
RUN groupadd --system --gid 10001 ripcord \
 && useradd --system --uid 10001 --gid 10001 --home-dir /tmp --no-create-home --shell /usr/sbin/nologin ripcord
COPY --from=builder /opt/ripcord /opt/ripcord
ENV PATH=/opt/ripcord/bin:$PATH \
    HOME=/tmp \
    TMPDIR=/tmp \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
WORKDIR /tmp
USER 10001:10001
# 9090: /metrics; 8080: liveness (/healthz).
EXPOSE 9090 8080
ENTRYPOINT ["ripcord", "run"]
