"""The production install: `scripts/install.sh`, and the Dockerfile that runs it.

The image's install steps are kept in one script that the Dockerfile RUNs (the image itself is
built by tests/test_container.py, where podman runs); here the same script installs into a
temporary venv (from the package index, as in the image: about 15 s), and the installed
`faqbot` is run with the environment the Dockerfile sets, from a folder outside the
repository, as the container would run it. The Dockerfile itself is parsed and checked against
the script.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.answering.knowledge import load_or_raise

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "install.sh"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
LANGUAGES = ("fr", "de", "en")
NONSENSE = "xyzzy plugh frobnicate"  # nothing in the FAQ: escalated, text from the catalog


# --- the Dockerfile, read as Docker reads it ---------------------------------------------------


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order: comments dropped, continuation lines joined."""
    result: list[tuple[str, str]] = []
    current = ""
    for line in text.splitlines():
        if line.strip().startswith("#"):
            continue  # comments (and parser directives), also inside a continued instruction
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        current += line
        if current.strip():
            keyword, _, args = current.strip().partition(" ")
            result.append((keyword.upper(), args.strip()))
        current = ""
    return result


def stages(text: str) -> list[dict]:
    """Each FROM stage: its image (ARG defaults substituted), name and instructions."""
    args: dict[str, str] = {}
    found: list[dict] = []
    for keyword, rest in instructions(text):
        if keyword == "ARG" and not found:
            name, _, default = rest.partition("=")
            args[name] = default
        elif keyword == "FROM":
            words = rest.split()
            image = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), ""), words[0])
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            found.append({"image": image, "name": name, "steps": []})
        else:
            found[-1]["steps"].append((keyword, rest))
    return found


def steps(stage: dict, keyword: str) -> list[str]:
    return [rest for k, rest in stage["steps"] if k == keyword]


def env_of(stage: dict, base: dict[str, str]) -> dict[str, str]:
    """The stage's ENV values, `$VAR` expanded from what came before (base: the base image)."""
    env = dict(base)
    for rest in steps(stage, "ENV"):
        for pair in shlex.split(rest):
            name, _, value = pair.partition("=")
            env[name] = re.sub(r"\$\{?(\w+)\}?", lambda m: env.get(m.group(1), ""), value)
    return env


def exec_form(rest: str) -> list[str]:
    return json.loads(rest) if rest.startswith("[") else ["/bin/sh", "-c", rest]


DOCKER = stages(DOCKERFILE.read_text(encoding="utf-8"))
RUNTIME = DOCKER[-1]


def install_runs(stage: dict) -> list[list[str]]:
    """The stage's RUNs that call the install script, as argv from the script's shell on (a
    RUN may set up its environment first, `...; sh scripts/install.sh PREFIX`)."""
    calls = []
    for run in steps(stage, "RUN"):
        argv = shlex.split(run.split(";")[-1])
        if any(a.endswith("scripts/install.sh") for a in argv):
            calls.append(argv)
    return calls


[BUILD] = [stage for stage in DOCKER if install_runs(stage)]


def install_run() -> list[str]:
    """The RUN that calls the install script, as argv."""
    calls = install_runs(BUILD)
    assert len(calls) == 1, f"the build stage must RUN scripts/install.sh once: {calls}"
    return calls[0]


DOCKER_PREFIX = install_run()[-1]  # /opt/faqbot


# --- the Dockerfile and .dockerignore ----------------------------------------------------------


def test_dockerfile_is_multi_stage_on_debian_bookworm_slim():
    """One base for every stage: debian:bookworm-slim by default (BASE_IMAGE, which the
    container test points at the same release bootstrapped locally); the build and the runtime
    stages share the stage that installs Python, so the copied venv finds its interpreter."""
    assert len(DOCKER) >= 2
    [base] = [stage for stage in DOCKER if stage["image"] not in {s["name"] for s in DOCKER}]
    assert base["image"] == "debian:bookworm-slim", base["image"]
    assert "python3" in " ".join(steps(base, "RUN"))
    assert BUILD["image"] == RUNTIME["image"] == base["name"]
    assert BUILD["name"], "the build stage needs a name for COPY --from"
    copies = [shlex.split(c) for c in steps(RUNTIME, "COPY")]
    assert [f"--from={BUILD['name']}", DOCKER_PREFIX, DOCKER_PREFIX] in copies


def test_dockerfile_runs_the_install_script_on_what_it_copies():
    argv = install_run()
    assert Path(argv[0]).name in ("sh", "bash", "install.sh")
    assert DOCKER_PREFIX.startswith("/")
    copied = {
        Path(src).as_posix().rstrip("/")
        for c in steps(BUILD, "COPY")
        for src in shlex.split(c)[:-1]
        if not src.startswith("--")
    }
    assert "scripts/install.sh" in copied
    # every project file or folder the script reads from SOURCE is in the build stage
    read = set(re.findall(r'"\$SOURCE/([\w.]+)"', SCRIPT.read_text(encoding="utf-8")))
    assert {"pyproject.toml", "bot", "faq", "locales"} <= read
    assert read <= copied, f"COPY these before running the script: {read - copied}"


def test_dockerfile_runtime_user_volume_healthcheck_and_command():
    users = steps(RUNTIME, "USER")
    assert users and users[-1].split(":")[0] not in ("root", "0")
    volumes = [
        v
        for rest in steps(RUNTIME, "VOLUME")
        for v in (json.loads(rest) if rest.startswith("[") else rest.split())
    ]
    assert "/data" in volumes
    env = env_of(RUNTIME, {"PATH": "/usr/bin"})
    assert env["FAQBOT_DB"] == "/data/faqbot.sqlite3"
    assert env["FAQBOT_FAQ_DIR"] == f"{DOCKER_PREFIX}/share/faqbot/faq"
    assert env["FAQBOT_LOCALES_DIR"] == f"{DOCKER_PREFIX}/share/faqbot/locales"
    assert env["PATH"].split(":")[0] == f"{DOCKER_PREFIX}/bin"
    (health,) = steps(RUNTIME, "HEALTHCHECK")
    assert " CMD " in f" {health}"
    assert "faqbot" in HEALTHCHECK_SCRIPT.read_text() and "check" in HEALTHCHECK_SCRIPT.read_text()
    command = exec_form(steps(RUNTIME, "ENTRYPOINT")[-1]) + exec_form(steps(RUNTIME, "CMD")[-1])
    assert [Path(command[0]).name, *command[1:]] == ["faqbot", "run"]


def test_dockerignore_keeps_local_state_out_of_the_image():
    patterns = {
        line.strip().strip("/")
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".venv", ".git", "data", ".env"} <= patterns
    # and does not hide what the image is built from
    needed = {"pyproject.toml", "README.md", "bot", "handlers", "faq", "locales", "scripts"}
    assert not patterns & needed


# --- the script, run into a temporary venv -----------------------------------------------------


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """scripts/install.sh PREFIX, from a folder outside the repository; PREFIX returned."""
    work = tmp_path_factory.mktemp("install")
    prefix = work / "opt" / "faqbot"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAQBOT_", "TELEGRAM_"))}
    env["PYTHON"] = sys.executable  # the venv is made from this interpreter's base Python
    run = subprocess.run(
        ["sh", str(SCRIPT), str(prefix)],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, f"install.sh failed:\n{run.stdout}\n{run.stderr}"
    return prefix


@pytest.fixture(scope="module")
def container(installed: Path, tmp_path_factory) -> dict:
    """Where and how the container runs the bot: the Dockerfile's ENV with its paths moved to
    the temporary install, a clean environment otherwise, the cwd outside the repository."""
    root = tmp_path_factory.mktemp("container")
    volume = root / "data"
    volume.mkdir()
    moves = {DOCKER_PREFIX: str(installed), "/data": str(volume)}
    base = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(root), "LANG": "C.UTF-8"}
    env = {}
    for name, value in env_of(RUNTIME, base).items():
        for old, new in moves.items():
            value = re.sub(rf"(^|:){re.escape(old)}(?=/|:|$)", rf"\g<1>{new}", value)
        env[name] = value
    assert not str(root).startswith(str(ROOT))
    return {"env": env, "cwd": root, "volume": volume}


def faqbot(container: dict, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["faqbot", *args],
        cwd=container["cwd"],
        env={**container["env"], **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_install_is_a_plain_install_with_compiled_catalogs_only(installed: Path):
    share = installed / "share" / "faqbot"
    locales = share / "locales"
    for language in LANGUAGES:
        assert (locales / language / "LC_MESSAGES" / "messages.mo").is_file()
    assert not [p for p in locales.rglob("*") if p.is_file() and p.suffix != ".mo"]
    assert {p.name for p in (share / "faq").glob("*.yaml")} == {
        p.name for p in (ROOT / "faq").glob("*.yaml")
    }
    probe = subprocess.run(
        [
            installed / "bin" / "python",
            "-c",
            "import bot, importlib.util, json, importlib.metadata as m; print(json.dumps({"
            "'bot': bot.__file__, 'pytest': importlib.util.find_spec('pytest') is not None,"
            "'url': m.distribution('faqbot').read_text('direct_url.json')}))",
        ],
        cwd="/",
        capture_output=True,
        text=True,
        check=True,
    )
    facts = json.loads(probe.stdout)
    assert Path(facts["bot"]).is_relative_to(installed)  # not the repository's bot/
    assert not facts["pytest"]  # no test extras
    assert not json.loads(facts["url"] or "{}").get("dir_info", {}).get("editable")


def test_install_refuses_a_prefix_in_use(tmp_path: Path):
    (tmp_path / "something").write_text("")
    run = subprocess.run(["sh", str(SCRIPT), str(tmp_path)], capture_output=True, text=True)
    assert run.returncode == 2 and "not empty" in run.stderr


def test_installed_check_passes_outside_the_repository(container: dict):
    run = faqbot(container, "check")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip().splitlines()[-1].startswith("OK: 0 error(s)")


def test_installed_ask_answers_in_french_with_the_compiled_catalog(container: dict):
    run = faqbot(container, "ask", "--json", "c koi KMØ", NONSENSE)
    english = faqbot(container, "ask", "--json", "--lang", "en", NONSENSE)
    assert run.returncode == 0 and english.returncode == 0, run.stderr + english.stderr
    assert run.stderr == "", run.stderr  # e.g. no ".mo is not compiled" warning
    kmo, unknown = (json.loads(line) for line in run.stdout.splitlines())
    assert (kmo["status"], kmo["faq_id"], kmo["language"]) == ("answer", "kmo-what", "fr")
    assert kmo["text"] == load_or_raise(ROOT / "faq").entries["kmo-what"].answers["fr"]
    # the escalation text is a string of the code: French only through the compiled catalog
    with (ROOT / "locales" / "fr" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        french = {m.string for m in read_po(fh, locale="fr") if m.id and m.string}
    assert (unknown["status"], unknown["language"]) == ("escalate", "fr")
    assert unknown["text"] in french
    assert unknown["text"] != json.loads(english.stdout)["text"]


def test_installed_run_without_token_prints_one_configuration_error(container: dict):
    run = faqbot(container, "run")
    assert run.returncode == 2
    assert run.stdout == ""
    (line,) = run.stderr.strip().splitlines()
    assert line.startswith("faqbot: configuration error: TELEGRAM_BOT_TOKEN is not set")


def healthcheck_script() -> Path:
    """The project file the HEALTHCHECK runs (COPY'd into the image)."""
    (health,) = steps(RUNTIME, "HEALTHCHECK")
    command = exec_form(health.split(" CMD ", 1)[1].strip())
    copies = {shlex.split(c)[-1]: shlex.split(c)[0] for c in steps(RUNTIME, "COPY")}
    [script] = [copies[word] for word in command if word in copies]
    return ROOT / script


HEALTHCHECK_SCRIPT = healthcheck_script()


def test_healthcheck_command_works_in_polling_mode(container: dict, installed: Path):
    (health,) = steps(RUNTIME, "HEALTHCHECK")
    command = exec_form(health.split(" CMD ", 1)[1].strip())
    # the image's copy of the script is the project's file
    command = [
        str(HEALTHCHECK_SCRIPT) if w.endswith(HEALTHCHECK_SCRIPT.name) else w for w in command
    ]
    db = container["volume"] / "faqbot.sqlite3"

    def healthy() -> subprocess.CompletedProcess:
        return subprocess.run(
            command, cwd=container["cwd"], env=container["env"], capture_output=True, text=True
        )

    assert not db.exists()
    first = healthy()  # before the bot has created its database
    assert first.returncode == 0, first.stdout + first.stderr

    db.write_bytes(b"this is not a database" * 100)
    assert healthy().returncode != 0
    db.unlink()

    subprocess.run(  # the database as the installed bot creates it
        [
            installed / "bin" / "python",
            "-c",
            "import sys; from bot.store.storage import Storage; Storage(sys.argv[1]).close()",
            str(db),
        ],
        check=True,
        env=container["env"],
    )
    assert sqlite3.connect(db).execute("PRAGMA user_version").fetchone() is not None
    created = healthy()
    assert created.returncode == 0, created.stdout + created.stderr
