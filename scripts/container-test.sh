#!/usr/bin/env bash
# Build the project's container image with podman, on a machine without Docker and without an
# image registry (tests/test_container.py runs it, then runs the image against the Bot API
# double). The Dockerfile is the production one; only its base differs:
#
#   scripts/container-test.sh check    exit 0 when podman, runc and debootstrap are there and we
#                                      are root; otherwise one line on stderr saying what is missing
#   scripts/container-test.sh base     make the base image: Debian bookworm bootstrapped from the
#                                      machine's own Debian mirror (reused when it exists)
#   scripts/container-test.sh build    the base, then `podman build` of the Dockerfile on it
#   scripts/container-test.sh podman … podman itself, with the project's settings (below)
#
# Settings:
#   CONTAINERS_CONF      scripts/containers.conf (runc, cgroupfs, no default ulimits): podman
#                        reads it instead of /etc/containers/containers.conf; /etc is untouched
#   FAQBOT_IMAGE         the image built (localhost/faqbot:test)
#   FAQBOT_BASE_IMAGE    the local base image (localhost/faqbot-base:bookworm); it is built once
#                        and kept, so later builds start from it (FAQBOT_BASE_REBUILD=1: again)
#   DEBIAN_MIRROR        the mirror debootstrap uses (default: the first Debian bookworm mirror
#                        of /etc/apt/sources.list and /etc/apt/sources.list.d/*)
#
# The build reaches the package index the way this machine does: the CA bundle pip uses here
# (pip's `cert`, PIP_CERT, or /etc/ssl/certs/ca-certificates.crt) is passed as the build secret
# `cacert`, and an index URL (PIP_INDEX_URL or pip's `index-url`) as the secret `pipindex`;
# secrets are not stored in the image. Without them (production) pip's defaults apply.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
RELEASE=bookworm
export CONTAINERS_CONF=${CONTAINERS_CONF:-$HERE/containers.conf}
IMAGE=${FAQBOT_IMAGE:-localhost/faqbot:test}
BASE_IMAGE=${FAQBOT_BASE_IMAGE:-localhost/faqbot-base:$RELEASE}
LOCK=/var/tmp/faqbot-container-test.lock
TEMPORARY=() # removed on exit
trap '[ ${#TEMPORARY[@]} -eq 0 ] || rm -rf "${TEMPORARY[@]}"' EXIT

say() { echo "container-test.sh: $*" >&2; }

missing_tools() {
    local missing=()
    for tool in podman runc debootstrap; do
        command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
    done
    [ "$(id -u)" = 0 ] || missing+=("root (podman here runs rootful)")
    echo "${missing[*]}"
}

cmd_check() {
    local missing
    missing=$(missing_tools)
    if [ -n "$missing" ]; then
        say "missing: $missing (as root: apt-get install -y podman runc debootstrap)"
        return 1
    fi
}

# The Debian mirror this machine's apt uses for $RELEASE (deb822 .sources or one-line .list).
debian_mirror() {
    if [ -n "${DEBIAN_MIRROR:-}" ]; then
        echo "$DEBIAN_MIRROR"
        return
    fi
    local files=() f
    [ -f /etc/apt/sources.list ] && files+=(/etc/apt/sources.list)
    for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] && files+=("$f")
    done
    [ ${#files[@]} -gt 0 ] && awk -v release="$RELEASE" '
        function found(uri) { print uri; exit }
        # one-line format: deb [options] URI SUITE COMPONENTS...
        /^[ \t]*deb[ \t]/ {
            n = split($0, w, /[ \t]+/); i = 2
            while (i <= n && (w[i] == "" || w[i] ~ /^\[/)) {
                if (w[i] ~ /^\[/) { while (i <= n && w[i] !~ /\]$/) i++ }
                i++
            }
            if (w[i + 1] == release && w[i] ~ /debian/) found(w[i])
        }
        # deb822: a paragraph with Types: deb, URIs: and Suites: holding the release itself
        /^[ \t]*$/ { if (types ~ /deb/ && suites == 1 && uris != "") found(uris); types = ""; uris = ""; suites = 0 }
        /^Types:/ { types = $0 }
        /^URIs:/ { split($0, u, /[ \t]+/); if (u[2] ~ /debian/) uris = u[2] }
        /^Suites:/ { for (j = 2; j <= NF; j++) if ($j == release) suites = 1 }
        END { if (types ~ /deb/ && suites == 1 && uris != "") print uris }
    ' "${files[@]}" | head -n 1
}

pip_setting() { # pip's configured value of $1 (e.g. global.cert), or nothing
    local pip
    for pip in "$ROOT/.venv/bin/pip" pip3; do
        if command -v "$pip" >/dev/null 2>&1; then
            "$pip" config get "$1" 2>/dev/null | head -n 1 && return
        fi
    done
    true
}

cmd_base() {
    if [ "${FAQBOT_BASE_REBUILD:-}" != 1 ] && podman image exists "$BASE_IMAGE"; then
        say "base $BASE_IMAGE exists; reusing it"
        return
    fi
    local mirror rootfs started
    mirror=$(debian_mirror)
    [ -n "$mirror" ] || mirror=http://deb.debian.org/debian
    started=$(date +%s)
    say "base $BASE_IMAGE: debootstrap --variant=minbase $RELEASE from $mirror"
    rootfs=$(mktemp -d /var/tmp/faqbot-rootfs.XXXXXX)
    TEMPORARY+=("$rootfs" "$rootfs.log")
    debootstrap --variant=minbase "$RELEASE" "$rootfs" "$mirror" >"$rootfs.log" 2>&1 || {
        tail -n 20 "$rootfs.log" >&2
        say "debootstrap failed"
        return 1
    }
    # What Debian's own -slim images leave out (debuerreotype's slimify): documentation,
    # manuals, translations, and the package cache and lists (the Dockerfile runs apt-get update).
    cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
EOF
    find "$rootfs/usr/share/doc" -mindepth 2 ! -name copyright ! -type d -delete
    find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
    rm -rf "$rootfs"/usr/share/{groff,info,linda,lintian,locale,man}/* \
        "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
        "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log "$rootfs"/var/log/apt/*
    # The release's updates and security fixes, as in debian:bookworm-slim, from the same mirror
    # host (the security archive sits next to the main one on deb.debian.org and its mirrors).
    {
        echo "deb $mirror $RELEASE main"
        echo "deb $mirror $RELEASE-updates main"
        echo "deb ${mirror%/debian}/debian-security $RELEASE-security main"
    } >"$rootfs/etc/apt/sources.list"
    tar -C "$rootfs" -c . | podman import --quiet \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["bash"]' - "$BASE_IMAGE" >/dev/null
    say "base $BASE_IMAGE made in $(($(date +%s) - started)) s"
}

cmd_build() {
    cmd_base
    local args=(--network host --format docker --layers --build-arg "BASE_IMAGE=$BASE_IMAGE")
    local cert index started
    cert=${PIP_CERT:-$(pip_setting global.cert)}
    [ -n "$cert" ] || cert=/etc/ssl/certs/ca-certificates.crt
    [ -f "$cert" ] && args+=(--secret "id=cacert,src=$cert")
    index=${PIP_INDEX_URL:-$(pip_setting global.index-url)}
    local secrets
    secrets=$(mktemp -d)
    TEMPORARY+=("$secrets")
    case $index in
        http://* | https://*)
            printf '%s' "$index" >"$secrets/pipindex"
            args+=(--secret "id=pipindex,src=$secrets/pipindex")
            ;;
    esac
    started=$(date +%s)
    say "podman build -t $IMAGE on $BASE_IMAGE"
    podman build "${args[@]}" -t "$IMAGE" -f "$ROOT/Dockerfile" "$ROOT"
    say "image $IMAGE built in $(($(date +%s) - started)) s;" \
        "size $(podman image inspect --format '{{.Size}}' "$IMAGE") bytes"
}

case ${1:-} in
    check) cmd_check ;;
    base | build)
        cmd_check
        exec 9>"$LOCK"
        flock 9 # two builds at once would both bootstrap the base
        "cmd_$1"
        ;;
    podman)
        shift
        exec podman "$@"
        ;;
    *)
        echo "usage: $0 check|base|build|podman ARGS..." >&2
        exit 2
        ;;
esac
