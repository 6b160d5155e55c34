# syntax=docker/dockerfile:1
# The faqbot Telegram assistant (README.md, section "Docker"):
#   docker build -t faqbot .
#   docker run -d --name faqbot -e TELEGRAM_BOT_TOKEN=... -e STAFF_CHAT_ID=... -v faqbot-data:/data faqbot
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- build: the venv, the FAQ and the compiled catalogs, all made by scripts/install.sh ----
# The install steps live in that one script (tests/test_install_script.py runs it too), so an
# install step that breaks fails CI even though CI does not build this image.
FROM ${PYTHON_IMAGE} AS build
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
RUN sh scripts/install.sh /opt/faqbot

# ---- runtime: the same base, the venv copied at the same path, a non-root user ----
FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 faqbot \
    && useradd --system --uid 10001 --gid faqbot --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin faqbot \
    && mkdir /data \
    && chown faqbot:faqbot /data
COPY --from=build /opt/faqbot /opt/faqbot
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
# Health: this check works in both modes without an open port. It passes when the database, if
# the bot has created it yet, opens read-only and reads, and the FAQ the bot serves still
# validates (`faqbot check`). It does not prove that the bot is alive: in webhook mode (or with
# FAQBOT_HEALTH_PORT) override it with an HTTP probe of /healthz (README.md, section "Docker").
HEALTHCHECK --interval=60s --timeout=20s --start-period=30s --retries=3 \
    CMD python -c "import os, pathlib, sqlite3; p = pathlib.Path(os.environ['FAQBOT_DB']); p.exists() and sqlite3.connect(p.resolve().as_uri() + '?mode=ro', uri=True).execute('SELECT count(*) FROM sqlite_master').fetchone()" && faqbot check

ENTRYPOINT ["/opt/faqbot/bin/faqbot"]
CMD ["run"]
