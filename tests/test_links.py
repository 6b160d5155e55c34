"""Deep links and QR codes for posters: `bot/links.py`, `faqbot links`, `faqbot qr`.

The QR codes are read back with a real decoder (zxing-cpp), from the PNG's pixels (pypng) and
from the SVG's path (redrawn module by module), so a test passes only if a phone would open
the same link.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import png
import pytest
import zxingcpp

from bot import links
from bot.answering.knowledge import load_or_raise
from bot.cli import main
from tests.botapi_double import BOT_USERNAME, BotApiDouble


@pytest.fixture(scope="module")
def kb():
    return load_or_raise()


def test_payloads_name_topics_and_entries(kb):
    assert links.topic_payload("kmo") == "t-kmo"
    assert links.entry_payload("kmo-what") == "e-kmo-what"
    assert links.parse_payload(kb, "t-kmo") == (links.TOPIC, "kmo")
    assert links.parse_payload(kb, "e-kmo-what") == (links.ENTRY, "kmo-what")
    assert links.parse_payload(kb, "E-KMO-WHAT") == (links.ENTRY, "kmo-what")
    # the first posters' bare ids still work
    assert links.parse_payload(kb, "kmo") == (links.TOPIC, "kmo")
    assert links.parse_payload(kb, "kmo-what") == (links.ENTRY, "kmo-what")
    for unknown in ("t-kmo-what", "e-kmo", "ask", "inline", "t-", "nothing"):
        assert links.parse_payload(kb, unknown) is None, unknown


def test_every_topic_and_entry_has_a_valid_link(kb):
    found = list(links.all_links(kb, "@" + BOT_USERNAME, "de"))
    assert {x.target for x in found if x.kind == links.TOPIC} == {t.id for t in kb.topics}
    assert {x.target for x in found if x.kind == links.ENTRY} == set(kb.entries)
    for link in found:
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", link.payload)
        assert link.url == f"https://t.me/{BOT_USERNAME}?start={link.payload}"
        assert links.parse_payload(kb, link.payload) == (link.kind, link.target)
    assert found[0].label == kb.topics[0].names["de"]


def test_usernames_and_payloads_are_checked():
    assert links.clean_username("https://t.me/sudalsace_bot") == "sudalsace_bot"
    for bad in ("", "a", "bad name", "@@", "x" * 40):
        with pytest.raises(links.LinkError):
            links.clean_username(bad)
    with pytest.raises(links.LinkError):
        links.entry_payload("x" * 63)  # 65 characters with the prefix


def png_text(path: Path) -> list[str]:
    """What a QR reader finds in a PNG file (decoded from its pixels)."""
    width, height, rows, _info = png.Reader(filename=str(path)).asRGB8()
    gray = bytes(value for row in rows for value in bytes(row)[::3])
    return [b.text for b in zxingcpp.read_barcodes(memoryview(gray).cast("B", (height, width)))]


def svg_text(path: Path, pixels: int = 4) -> list[str]:
    """What a QR reader finds in segno's SVG: its dark runs (`M`/`m` moves, `h` lines of a
    stroked path) drawn again as pixels, then decoded."""
    svg = path.read_text(encoding="utf-8")
    size = int(re.search(r'd="M0 0h(\d+)v', svg).group(1))  # the white background
    scale = float(re.search(r"scale\(([\d.]+)\)", svg).group(1))
    assert int(re.search(r'width="(\d+)"', svg).group(1)) == round(size * scale)
    dark = re.search(r'class="qrline" stroke="#000" d="([^"]+)"', svg).group(1)
    grid = [[255] * size for _ in range(size)]
    x = y = 0.0
    for op, a, b in re.findall(r"([Mmh])(-?[\d.]+)(?: (-?[\d.]+))?", dark):
        if op == "M":
            x, y = float(a), float(b)
        elif op == "m":
            x, y = x + float(a), y + float(b)
        else:
            for column in range(int(x), int(x + float(a))):
                grid[int(y)][column] = 0
            x += float(a)
    image = bytes(v for row in grid for _ in range(pixels) for v in row for _ in range(pixels))
    view = memoryview(image).cast("B", (size * pixels, size * pixels))
    return [b.text for b in zxingcpp.read_barcodes(view)]


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_qr_codes_decode_to_the_deep_link(tmp_path, suffix, capsys):
    output = tmp_path / f"poster{suffix}"
    code = main(["qr", "e-kmo-what", "--output", str(output), "--bot-username", BOT_USERNAME])
    assert code == 0
    url = f"https://t.me/{BOT_USERNAME}?start=e-kmo-what"
    assert url in capsys.readouterr().out
    read = png_text(output) if suffix == ".png" else svg_text(output)
    assert read == [url]


def test_qr_of_a_topic_by_its_id(tmp_path, monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_USERNAME", "@" + BOT_USERNAME)
    output = tmp_path / "kmo.png"
    assert main(["qr", "kmo", "--output", str(output), "--scale", "3"]) == 0
    assert png_text(output) == [f"https://t.me/{BOT_USERNAME}?start=t-kmo"]


def test_qr_refusals(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("TELEGRAM_BOT_USERNAME", raising=False)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    args = ["--bot-username", BOT_USERNAME]
    assert main(["qr", "nothing", "--output", str(tmp_path / "x.png"), *args]) == 1
    assert "no topic or entry 'nothing'" in capsys.readouterr().err
    assert main(["qr", "kmo", "--output", str(tmp_path / "x.jpg"), *args]) == 1
    assert ".png or .svg" in capsys.readouterr().err
    assert main(["qr", "kmo", "--output", str(tmp_path / "x.png")]) == 1
    assert "TELEGRAM_BOT_USERNAME" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_links_lists_every_topic_and_entry(kb, capsys, monkeypatch):
    monkeypatch.delenv("TELEGRAM_BOT_USERNAME", raising=False)
    assert main(["links", "--bot-username", BOT_USERNAME, "--lang", "en"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(kb.topics) + len(kb.entries)
    payload, kind, url, label = lines[0].split("\t")
    assert (payload, kind) == (f"t-{kb.topics[0].id}", "topic")
    assert url == f"https://t.me/{BOT_USERNAME}?start={payload}"
    assert label == kb.topics[0].names["en"]
    assert f"e-kmo-what\tentry\thttps://t.me/{BOT_USERNAME}?start=e-kmo-what\t" in "\n".join(lines)


async def test_links_ask_telegram_for_the_username(botapi: BotApiDouble, capsys, monkeypatch):
    monkeypatch.delenv("TELEGRAM_BOT_USERNAME", raising=False)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "4242:TEST-token-never-real")
    monkeypatch.setenv("TELEGRAM_API_URL", botapi.url)
    code = await asyncio.to_thread(main, ["links"])
    assert code == 0
    assert f"https://t.me/{BOT_USERNAME}?start=t-" in capsys.readouterr().out
    assert [c.method for c in botapi.calls] == ["getMe"]
