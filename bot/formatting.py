"""HTML for Telegram messages: escaping dynamic text, splitting what one message cannot hold.

Messages are sent with `parse_mode=HTML`, so every piece of text that does not come from the
code itself (FAQ answers, questions, names, even translations) goes through `escape` first.
"""

from __future__ import annotations

import html
import re

#: Telegram's limit for one message's text, in UTF-16 code units.
MESSAGE_LIMIT = 4096

_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)[^>]*>")
_ATOM = re.compile(r"<[^>]*>|&#?[a-zA-Z0-9]+;|.", re.DOTALL)


def escape(text: object) -> str:
    """Text safe to put inside a Telegram HTML message: `<`, `>` and `&` escaped.

    Quotes stay as they are: the bot writes no attribute that dynamic text could end up in.
    """
    return html.escape(str(text), quote=False)


# Unicode's explicit direction controls: embeddings and overrides (U+202A-U+202E), isolates
# (U+2066-U+2069), the left-to-right, right-to-left and Arabic letter marks. In a name, a
# right-to-left override makes "Anna\u202egnp.exe" read "Annaexe.png" and can turn around
# the rest of the line it is shown in: staff must see names as they are spelled.
_BIDI_CONTROLS = dict.fromkeys(
    [*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C]
)


def strip_bidi(text: str) -> str:
    """`text` without the characters that change the direction of what follows them."""
    return text.translate(_BIDI_CONTROLS)


def bold(text: object) -> str:
    return f"<b>{escape(text)}</b>"


def utf16_length(text: str) -> int:
    """How Telegram counts characters: UTF-16 code units (an emoji often counts two)."""
    return len(text.encode("utf-16-le")) // 2


def _open_tags(chunk: str, already_open: list[str]) -> list[str]:
    """The opening tags still unclosed at the end of `chunk`, outermost first."""
    stack = list(already_open)
    for match in _TAG.finditer(chunk):
        closing, name = match.group(1), match.group(2).lower()
        if not closing:
            stack.append(match.group(0))
        elif stack and _tag_name(stack[-1]) == name:
            stack.pop()
    return stack


def _tag_name(opening: str) -> str:
    match = _TAG.match(opening)
    return match.group(2).lower() if match else ""


def _closing(stack: list[str]) -> str:
    return "".join(f"</{_tag_name(tag)}>" for tag in reversed(stack))


def _cut(atoms: list[str], start: int, budget: int) -> int:
    """Index of the atom after the best place to end a chunk beginning at `start`."""
    used, end = 0, start
    while end < len(atoms) and used + utf16_length(atoms[end]) <= budget:
        used += utf16_length(atoms[end])
        end += 1
    if end == len(atoms):
        return end
    window = atoms[start:end]
    for separator in ("\n\n", "\n", " "):
        if separator == "\n\n":
            positions = [
                i for i in range(1, len(window)) if window[i] == "\n" and window[i - 1] == "\n"
            ]
        else:
            positions = [i for i, atom in enumerate(window) if atom == separator]
        # A break in the second half of the window keeps chunks reasonably full.
        good = [i for i in positions if i >= len(window) // 2]
        if good:
            return start + good[-1] + 1
    return max(end, start + 1)


def split_html(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split an HTML message into parts of at most `limit` UTF-16 units each.

    Parts end at a paragraph, a line or a word when possible, never inside a tag or an entity
    (`&amp;`), and tags left open at a cut are closed there and reopened in the next part.
    """
    if utf16_length(text) <= limit:
        return [text]
    atoms = _ATOM.findall(text)
    parts: list[str] = []
    open_tags: list[str] = []
    start = 0
    while start < len(atoms):
        prefix = "".join(open_tags)
        budget = limit - utf16_length(prefix)
        while True:
            end = _cut(atoms, start, budget)
            body = "".join(atoms[start:end])
            still_open = _open_tags(body, open_tags)
            part = prefix + body + _closing(still_open)
            if utf16_length(part) <= limit or end - start <= 1:
                break
            budget -= utf16_length(part) - limit
        if body.strip():
            parts.append(prefix + body.strip() + _closing(still_open))
        open_tags = still_open
        start = end
    return parts
