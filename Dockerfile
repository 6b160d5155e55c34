# syntax=docker/dockerfile:1
# The faqbot Telegram assistant (README.md, section "Docker"):
#   docker build -t faqbot .
#   docker run -d --name faqbot -e TELEGRAM_BOT_TOKEN=... -e STAFF_CHAT_ID=... -v faqbot-data:/data faqbot
#
# The base is Debian bookworm and its own python3 (3.11): debian:bookworm-slim in production,
# and in the test suite the same release bootstrapped from Debian's packages and imported
# locally (scripts/container-test.sh passes --build-arg BASE_IMAGE=...), because the test
# machines reach Debian's mirrors but no image registry. Why not python:slim: README.md.
ARG BASE_IMAGE=debian:bookworm-slim

# ---- python: the base with Debian's python3 and the CA certificates (the bot calls Telegram
# over HTTPS); shared by both stages, so the venv finds the same interpreter at run time ----
FROM ${BASE_IMAGE} AS python
ENV LANG=C.UTF-8
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
       python3 ca-certificates \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin

# ---- build: the venv, the FAQ and the compiled catalogs, all made by scripts/install.sh ----
# The install steps live in that one script (tests/test_install_script.py runs it too).
FROM python AS build
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-venv \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot/ bot/
COPY handlers/ handlers/
COPY faq/ faq/
COPY locales/ locales/
COPY scripts/install.sh scripts/install.sh
# Two optional build secrets for a build machine that reaches the package index through its
# own CA (TLS interception) or index: `cacert` (a CA bundle) and `pipindex` (an index URL),
# e.g. `--secret id=cacert,src=/etc/ssl/certs/ca-certificates.crt`. Secrets stay out of the
# image; without them (production) pip's defaults apply.
RUN --mount=type=secret,id=cacert --mount=type=secret,id=pipindex \
    if [ -s /run/secrets/cacert ]; then export PIP_CERT=/run/secrets/cacert; fi; \
    if [ -s /run/secrets/pipindex ]; then PIP_INDEX_URL=$(cat /run/secrets/pipindex); export PIP_INDEX_URL; fi; \
    sh scripts/install.sh /opt/faqbot

# ---- runtime: the same python stage, the venv copied at the same path, a non-root user ----
FROM python AS runtime
RUN groupadd --system --gid 10001 faqbot \
    && useradd --system --uid 10001 --gid faqbot --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin faqbot \
    && mkdir /data \
    && chown faqbot:faqbot /data
COPY --from=build /opt/faqbot /opt/faqbot
COPY scripts/healthcheck.py /opt/faqbot/share/faqbot/healthcheck.py
# FAQBOT_FAQ_DIR and FAQBOT_LOCALES_DIR are where scripts/install.sh puts the FAQ and the
# compiled catalogs (PREFIX/share/faqbot/); mount another FAQ folder and point
# FAQBOT_FAQ_DIR at it to serve an FAQ that is not the bundled one.
ENV PATH=/opt/faqbot/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    FAQBOT_DB=/data/faqbot.sqlite3 \
    FAQBOT_FAQ_DIR=/opt/faqbot/share/faqbot/faq \
    FAQBOT_LOCALES_DIR=/opt/faqbot/share/faqbot/locales
USER faqbot
WORKDIR /data
# The SQLite file (preferences, question log, tickets) and its WAL files: keep it on a volume.
VOLUME /data

# Webhook mode (`run --webhook`) serves POST /telegram, /healthz and /metrics on FAQBOT_PORT.
EXPOSE 8080
# Health (scripts/healthcheck.py): when the bot serves HTTP (webhook mode, or FAQBOT_HEALTH_PORT
# in polling mode) its /healthz, which sees whether the bot is running; otherwise the database
# opens read-only and the FAQ passes `faqbot check`.
HEALTHCHECK --interval=60s --timeout=20s --start-period=30s --retries=3 \
    CMD ["python3", "/opt/faqbot/share/faqbot/healthcheck.py"]

# SIGTERM is the stop signal (the default): the bot finishes what it received, then exits 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/opt/faqbot/bin/faqbot"]
CMD ["run"]
