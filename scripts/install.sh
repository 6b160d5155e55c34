#!/bin/sh
# Install faqbot for production into a fresh virtual environment at PREFIX.
#
#   scripts/install.sh PREFIX [SOURCE]
#
# This is the one install procedure: the Dockerfile runs it (RUN scripts/install.sh /opt/faqbot)
# and tests/test_install_script.py runs it into a temporary folder, so a broken step fails CI.
#
#   PREFIX/                        a new venv with faqbot installed from SOURCE, not editable,
#                                  without the test extras (PREFIX must not exist yet)
#   PREFIX/share/faqbot/faq/       the FAQ (point FAQBOT_FAQ_DIR here)
#   PREFIX/share/faqbot/locales/   the compiled catalogs, .mo only (FAQBOT_LOCALES_DIR)
#
# SOURCE is the project folder (default: the one holding this script); it is only read: the
# package is built from a copy, and the catalogs are compiled in PREFIX. PYTHON chooses the
# interpreter the venv is made from (default: python3, 3.11 or newer). Other pip settings
# (PIP_NO_CACHE_DIR, PIP_INDEX_URL, ...) come from the environment as usual.
#
# At the end the installed `faqbot check` must pass on the installed FAQ, from outside SOURCE,
# and every language must load its compiled catalog; otherwise the script exits non-zero.
set -eu

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: $0 PREFIX [SOURCE]" >&2
    exit 2
fi
PYTHON=${PYTHON:-python3}
SOURCE=$(cd "${2:-$(dirname "$0")/..}" && pwd)
case $1 in
    /*) PREFIX=$1 ;;
    *) PREFIX=$(pwd)/$1 ;;
esac
if [ -e "$PREFIX" ] && [ -n "$(ls -A "$PREFIX" 2>/dev/null)" ]; then
    echo "install.sh: $PREFIX exists and is not empty; choose a new folder" >&2
    exit 2
fi
SHARE=$PREFIX/share/faqbot
step() { echo "install.sh: $*"; }

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
trap 'exit 130' INT TERM

step "virtual environment at $PREFIX ($("$PYTHON" --version 2>&1))"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
    echo "install.sh: $PYTHON is older than Python 3.11" >&2
    exit 1
}
"$PYTHON" -m venv "$PREFIX"

# Build from a snapshot of exactly what the package needs: an in-tree build would leave
# build/ and *.egg-info in SOURCE, and a stale build/ can put deleted modules in the wheel.
step "pip install faqbot from $SOURCE"
mkdir "$stage/src"
cp -R "$SOURCE/pyproject.toml" "$SOURCE/README.md" "$SOURCE/bot" "$SOURCE/handlers" "$stage/src/"
find "$stage/src" -name __pycache__ -type d -prune -exec rm -rf {} +
"$PREFIX/bin/python" -m pip install --quiet "$stage/src"

step "FAQ and compiled catalogs in $SHARE"
mkdir -p "$SHARE"
cp -R "$SOURCE/faq" "$SHARE/faq"
cp -R "$SOURCE/locales" "$SHARE/locales"
find "$SHARE/locales" -name '*.mo' -delete
"$PREFIX/bin/pybabel" -q compile -d "$SHARE/locales" -D messages
# Only the .mo files stay: bot.i18n would otherwise silently compile a .po in memory and
# hide a catalog that failed to compile.
find "$SHARE/locales" -type f ! -name '*.mo' -delete

# Until bot.i18n reads FAQBOT_LOCALES_DIR (see the Docker section of README.md), the installed
# package looks for its catalogs next to itself, in site-packages/locales: link that path to
# the compiled catalogs. Asked with FAQBOT_LOCALES_DIR set, a package that honours it answers
# $SHARE/locales and no link is made.
looks_in=$(cd / && FAQBOT_LOCALES_DIR="$SHARE/locales" "$PREFIX/bin/python" -c \
    'import bot.i18n; print(bot.i18n.LOCALES_DIR.resolve())')
if [ "$looks_in" != "$(cd "$SHARE/locales" && pwd -P)" ]; then
    if [ -e "$looks_in" ]; then
        echo "install.sh: $looks_in already exists; cannot link it to $SHARE/locales" >&2
        exit 1
    fi
    step "linking $looks_in -> $SHARE/locales"
    ln -s "$SHARE/locales" "$looks_in"
fi

step "verifying the installation"
cd /
FAQBOT_FAQ_DIR=$SHARE/faq FAQBOT_LOCALES_DIR=$SHARE/locales "$PREFIX/bin/faqbot" check
FAQBOT_FAQ_DIR=$SHARE/faq FAQBOT_LOCALES_DIR=$SHARE/locales "$PREFIX/bin/python" -c '
import sys
from babel.support import Translations
from bot.i18n import LANGUAGES, translations
missing = [lang for lang in LANGUAGES if not isinstance(translations(lang), Translations)]
if missing:
    sys.exit("install.sh: no compiled catalog for " + ", ".join(missing))
'
step "done; run it with"
echo "  FAQBOT_FAQ_DIR=$SHARE/faq FAQBOT_LOCALES_DIR=$SHARE/locales $PREFIX/bin/faqbot run"
