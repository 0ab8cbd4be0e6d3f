"""Workflow names: what makes one valid, and the key that makes two the same.

Two names that people would read alike are the same name: the key is the name after
Unicode normalisation (NFKC) and case folding, with runs of white space made one space
and invisible format characters (zero-width spaces, bidirectional controls) left out.
Workflow names are unique by that key among workflows that are not deleted (a partial
unique index), so look-alike duplicates cannot sit side by side. A name with nothing
visible in it is refused. Pages show names with bidirectional isolation (CSS
`unicode-bidi: isolate`), so a right-to-left override inside a name cannot reorder the
text around it."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def _visible(text: str) -> str:
    return "".join(c for c in text if unicodedata.category(c) not in ("Cf", "Cc", "Zl", "Zp"))


def name_key(name: str) -> str:
    text = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())
    return _SPACES.sub(" ", _visible(text)).strip()


def name_problem(name: str) -> str | None:
    if not name_key(name):
        return "A name needs visible characters."
    return None
