"""OPA built-ins the embedded engine lacks or answers wrongly, supplied from Python (regorus extensions).

Only built-ins whose OPA semantics are small and exact are supplied here; each is covered by conformance cases
(tests/conformance/cases/builtins.yaml). Others the engine lacks are refused by `policy check` (rego_check.py).
`OVERRIDES` replace a native built-in that answers differently from OPA; the rest must not be native.
A type error raises, naming the operand as OPA does; the engine reports it as an evaluation error.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Any

from guardrail.adapters.rego_sprintf import sprintf

_KIND = {bool: "boolean", str: "string", int: "number", float: "number", list: "array", dict: "object"}


def _operand(name: str, index: int, value: Any, wanted: type) -> None:
    if isinstance(value, bool) or not isinstance(value, wanted):
        got = "set" if isinstance(value, (set, frozenset)) else _KIND.get(type(value), "null")
        raise TypeError(f"{name}: operand {index} must be {_KIND[wanted]} but got {got}")


def split_n(text: Any, delimiter: Any, n: Any) -> list[str]:
    """The first n fields of `split(text, delimiter)` (n > 0), the last -n (n < 0), none for 0."""
    _operand("strings.split_n", 1, text, str)
    _operand("strings.split_n", 2, delimiter, str)
    if isinstance(n, bool) or not isinstance(n, (int, float)) or float(n) != int(n):
        got = "floating-point number" if isinstance(n, float) else _KIND.get(type(n), "null")
        raise TypeError(f"strings.split_n: operand 3 must be integer number but got {got}")
    fields = list(text) if delimiter == "" else text.split(delimiter)
    count = int(n)
    if count > 0:
        return fields[:count]
    return fields[count:] if count < 0 else []


def count(text: Any, substring: Any) -> int:
    """Matches that do not overlap, as Go's strings.Count (OPA): ("aaaa", "aa") is 2 and ("abc", "") is 4.
    The native one counted overlapping matches (4 for the first) and panicked on the empty string."""
    _operand("strings.count", 1, text, str)
    _operand("strings.count", 2, substring, str)
    return text.count(substring)


def flatten(array: Any) -> list[Any]:
    """One level of nesting removed: `[[1], 2, [[3]]]` -> `[1, 2, [3]]`."""
    _operand("array.flatten", 1, array, list)
    out: list[Any] = []
    for item in array:
        out.extend(item if isinstance(item, list) else [item])
    return out


def _digest(name: str, algorithm: str) -> Callable[[Any], str]:
    def digest(text: Any) -> str:
        _operand(name, 1, text, str)
        return hashlib.new(algorithm, text.encode("utf-8")).hexdigest()

    return digest


def _hmac(name: str, algorithm: str) -> Callable[[Any, Any], str]:
    def mac(text: Any, key: Any) -> str:
        _operand(name, 1, text, str)
        _operand(name, 2, key, str)
        return hmac.new(key.encode("utf-8"), text.encode("utf-8"), algorithm).hexdigest()

    return mac


def hmac_equal(mac1: Any, mac2: Any) -> bool:
    _operand("crypto.hmac.equal", 1, mac1, str)
    _operand("crypto.hmac.equal", 2, mac2, str)
    return hmac.compare_digest(mac1.encode("utf-8"), mac2.encode("utf-8"))


EXTENSIONS: dict[str, tuple[int, Callable[..., Any]]] = {
    "strings.split_n": (3, split_n),
    "array.flatten": (1, flatten),
    "crypto.md5": (1, _digest("crypto.md5", "md5")),
    "crypto.sha1": (1, _digest("crypto.sha1", "sha1")),
    "crypto.sha256": (1, _digest("crypto.sha256", "sha256")),
    "crypto.hmac.md5": (2, _hmac("crypto.hmac.md5", "md5")),
    "crypto.hmac.sha1": (2, _hmac("crypto.hmac.sha1", "sha1")),
    "crypto.hmac.sha256": (2, _hmac("crypto.hmac.sha256", "sha256")),
    "crypto.hmac.sha512": (2, _hmac("crypto.hmac.sha512", "sha512")),
    "crypto.hmac.equal": (2, hmac_equal),
}
# native built-ins whose answers differ from OPA's, replaced (found by OPA's own conformance cases)
OVERRIDES: dict[str, tuple[int, Callable[..., Any]]] = {
    "strings.count": (2, count),
    "sprintf": (2, sprintf),
}


def register(engine: Any) -> None:
    """Add every extension and override. An extension replaces a native built-in of the same name, so the
    conformance suite checks that the installed engine has none of `EXTENSIONS` natively (an upgrade that adds one
    fails it) and that each of `OVERRIDES` still answers differently natively (else drop the override)."""
    for name, (arity, function) in {**EXTENSIONS, **OVERRIDES}.items():
        engine.add_extension(name, arity, function)


__all__ = ["EXTENSIONS", "OVERRIDES", "register"]
