"""Turning names from a model into identifiers that are safe in C++, Tcl and file names.

ONNX node and tensor names are arbitrary strings (quotes, spaces, ';', newlines, '/', C keywords).
None of them may reach generated code unsanitized: a name could break the build or inject code.
``c_ident`` maps any string to ``[A-Za-z_][A-Za-z0-9_]*`` that is not a C/C++ keyword and does not
start with an underscore followed by a capital or another underscore (reserved in C++).
``unique_idents`` makes a list of them unique, deterministically, so two names that sanitize alike
(``conv.1`` and ``conv/1``) still get distinct identifiers.
"""

from __future__ import annotations

import re
from typing import Iterable

CPP_KEYWORDS = frozenset(
    """alignas alignof and and_eq asm auto bitand bitor bool break case catch char char16_t char32_t
    class compl const constexpr const_cast continue decltype default delete do double dynamic_cast
    else enum explicit export extern false float for friend goto if inline int long mutable
    namespace new noexcept not not_eq nullptr operator or or_eq private protected public register
    reinterpret_cast return short signed sizeof static static_assert static_cast struct switch
    template this thread_local throw true try typedef typeid typename union unsigned using virtual
    void volatile wchar_t while xor xor_eq main NULL EOF stdin stdout stderr errno""".split()
)

_BAD = re.compile(r"[^A-Za-z0-9_]+")


def c_ident(name: str, prefix: str = "n") -> str:
    """A valid, non-reserved C identifier derived from ``name`` (never empty)."""
    s = _BAD.sub("_", str(name)).strip("_")
    s = re.sub(r"__+", "_", s)
    if not s:
        s = prefix
    if s[0].isdigit():
        s = f"{prefix}_{s}"
    if s in CPP_KEYWORDS:
        s = f"{prefix}_{s}"
    return s[:64]


def unique_idents(names: Iterable[str], prefix: str = "n") -> list[str]:
    """Sanitize each name; disambiguate collisions with a numeric suffix in input order."""
    out: list[str] = []
    seen: set[str] = set()
    for name in names:
        base = c_ident(name, prefix)
        ident, k = base, 1
        while ident in seen:
            ident = f"{base}_{k}"
            k += 1
        seen.add(ident)
        out.append(ident)
    return out
