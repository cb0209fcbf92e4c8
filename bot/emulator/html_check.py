"""Telegram's HTML parse mode, as strictly as the real server checks it.

Unescaped user text ("<script>", "a < b") in a message is exactly the bug the emulator must catch,
so unknown tags, unbalanced tags and bare `<`/`&` are rejected like Telegram does.
"""

from __future__ import annotations

import html
import re

ALLOWED_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
    "a", "code", "pre", "blockquote", "tg-emoji",
}
_TOKEN = re.compile(r"<(/?)([a-zA-Z-]+)((?:\s+[a-zA-Z-]+(?:=\"[^\"]*\"|='[^']*')?)*)\s*>|&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);|[<&]")
_NAMED_ENTITIES = {"lt", "gt", "amp", "quot"}


class EntityParseError(ValueError):
    pass


def parse_html(text: str) -> str:
    """Return the plain text Telegram would display; raise EntityParseError like the Bot API does."""
    stack: list[str] = []
    out: list[str] = []
    position = 0
    for match in _TOKEN.finditer(text):
        out.append(text[position : match.start()])
        position = match.end()
        token = match.group(0)
        if match.group(2):
            closing, name = bool(match.group(1)), match.group(2).lower()
            if name not in ALLOWED_TAGS:
                raise EntityParseError(f"Can't parse entities: unsupported start tag \"{name}\" at byte offset {match.start()}")
            if closing:
                if not stack or stack[-1] != name:
                    raise EntityParseError(f"Can't parse entities: unexpected end tag at byte offset {match.start()}")
                stack.pop()
            else:
                if name == "a" and "href" not in (match.group(3) or ""):
                    pass  # Telegram accepts <a> without href as plain text
                stack.append(name)
        elif match.group(4):
            entity = match.group(4)
            if entity.startswith("#") or entity in _NAMED_ENTITIES:
                out.append(html.unescape(token))
            else:
                raise EntityParseError(f"Can't parse entities: unsupported HTML entity \"&{entity};\"")
        elif token == "<":
            raise EntityParseError(f"Can't parse entities: unexpected \"<\" at byte offset {match.start()}")
        else:  # a bare "&" is tolerated by Telegram
            out.append("&")
    out.append(text[position:])
    if stack:
        raise EntityParseError(f"Can't parse entities: can't find end tag corresponding to start tag \"{stack[-1]}\"")
    return "".join(out)


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
