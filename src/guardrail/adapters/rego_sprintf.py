"""OPA's `sprintf`: Go's fmt.Sprintf over the arguments as OPA passes them, replacing the engine's own.

The native one printed `%d` of -1 as `--1` (the gate's messages showed "paired difference --1"), ignored widths
and flags (`%5d` of -3 gave `-   -3`, `%-5s` gave `5s`), printed `%.2f` of a whole number without decimals, `%t` and
`%d` of a string as nothing, and `%e` as `1.2345678e4`. OPA (topdown/strings.go) hands Go an `int` for a whole
number, a `float64` for any other number, a `string` for a string and the Rego text of any other value (`true`,
`null`, `[1, "a"]`, `{"a": 1}`, `{1, 2}`), then formats with Go's rules, including its complaints: `%!f(int=1)` for a
verb that does not fit the value, `%!d(MISSING)`, `%!(EXTRA int=2)`. Explicit argument indexes (`%[1]d`) and widths
taken from arguments (`%*d`) raise an error instead of guessing (loud, never a different answer).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

# one directive: flags, width, precision, verb (an index or `*` is refused below)
_DIRECTIVE = re.compile(r"%([-+# 0]*)(\d*)(?:\.(\d*))?(.?)", re.DOTALL)
_INT_VERBS = frozenset("vdboOxXcqU")
_FLOAT_VERBS = frozenset("veEfFgG")
_STRING_VERBS = frozenset("vsqxX")


def sprintf(fmt: Any, values: Any) -> str:
    if not isinstance(fmt, str):
        raise TypeError(f"sprintf: operand 1 must be string but got {_kind(fmt)}")
    if not isinstance(values, list):
        raise TypeError(f"sprintf: operand 2 must be array but got {_kind(values)}")
    args = [_go_value(v) for v in values]
    out: list[str] = []
    used = 0
    position = 0
    while True:
        start = fmt.find("%", position)
        if start < 0:
            out.append(fmt[position:])
            break
        out.append(fmt[position:start])
        match = _DIRECTIVE.match(fmt, start)
        assert match is not None  # every part of the pattern is optional
        flags, width, precision, verb = match.groups()
        position = match.end()
        if verb in ("[", "*"):
            raise ValueError("sprintf: argument indexes (%[n]) and widths or precisions from arguments (*) are not "
                             "supported by the embedded engine")
        if verb == "":
            out.append("%!(NOVERB)")
            continue
        if verb == "%":
            out.append("%")
            continue
        if used >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        spec = _Spec(flags, int(width) if width else None, None if precision is None else int(precision or 0))
        out.append(_format(args[used], verb, spec))
        used += 1
    if used < len(args):
        out.append("%!(EXTRA " + ", ".join(f"{_type(a)}={_format(a, 'v', _Spec())}" for a in args[used:]) + ")")
    return "".join(out)


class _Spec:
    def __init__(self, flags: str = "", width: int | None = None, precision: int | None = None) -> None:
        self.minus, self.plus, self.sharp = "-" in flags, "+" in flags, "#" in flags
        self.space, self.zero = " " in flags, "0" in flags and "-" not in flags
        self.width, self.precision = width, precision

    def pad(self, text: str, *, numeric: bool = False) -> str:
        if self.width is None or len(text) >= self.width:
            return text
        if self.minus:
            return text.ljust(self.width)
        if self.zero and numeric:  # zeros go after the sign
            sign = text[0] if text[:1] in ("-", "+", " ") else ""
            return sign + text[len(sign) :].rjust(self.width - len(sign), "0")
        return text.rjust(self.width)

    def sign(self, negative: bool) -> str:
        return "-" if negative else "+" if self.plus else " " if self.space else ""


def _format(value: int | float | str, verb: str, spec: _Spec) -> str:
    if isinstance(value, int) and verb in _INT_VERBS:
        return _format_int(value, verb, spec)
    if isinstance(value, float) and verb in "bxX":
        raise ValueError(f"sprintf: %{verb} of a number that is not whole is not supported by the embedded engine")
    if isinstance(value, float) and verb in _FLOAT_VERBS:
        return spec.pad(spec.sign(value < 0) + _float_digits(abs(value), verb, spec.precision), numeric=True)
    if isinstance(value, str) and verb in _STRING_VERBS:
        return spec.pad(_format_string(value, verb, spec))
    return f"%!{verb}({_type(value)}={_format(value, 'v', _Spec())})"


def _format_int(value: int, verb: str, spec: _Spec) -> str:
    if verb == "c":
        return spec.pad(chr(value))
    if verb == "q":
        return spec.pad("'" + _quote_body(chr(value), "'") + "'")
    if verb == "U":
        return spec.pad(f"U+{value:04X}")
    base = {"b": "b", "o": "o", "O": "o", "x": "x", "X": "X"}.get(verb, "d")
    digits = format(abs(value), base)
    if spec.precision is not None:  # a minimum number of digits; zero padding is then off, as in Go
        digits = "" if spec.precision == 0 and value == 0 else digits.rjust(spec.precision, "0")
        spec.zero = False
    prefix = "0o" if verb == "O" else ""
    if spec.sharp:
        prefix = {"b": "0b", "o": "0", "x": "0x", "X": "0X"}.get(verb, prefix)
        if verb == "o" and digits.startswith("0"):
            prefix = ""
    return spec.pad(spec.sign(value < 0) + prefix + digits, numeric=True)


def _float_digits(value: float, verb: str, precision: int | None) -> str:
    """A non-negative float as Go's strconv.FormatFloat writes it (shortest digits for %v and a bare %g)."""
    if verb in "fF":
        return f"{value:.{6 if precision is None else precision}f}"
    if verb in "eE":
        text = f"{value:.{6 if precision is None else precision}e}"
        return text.upper() if verb == "E" else text
    # %g with a precision follows the same rule in Python and Go; without one, the shortest digits
    text = _shortest_g(value) if precision is None else f"{value:.{max(precision, 1)}g}"
    return text.upper() if verb == "G" else text


def _shortest_g(value: float) -> str:
    """Go's %v and %g of a float64: the shortest digits that read back, in exponent form when the exponent is < -4
    or >= 6 (strconv's rule for the shortest precision: `fmt.Println(1000000.5)` prints 1.0000005e+06)."""
    _, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    text = "".join(map(str, digits))
    point = len(text) + int(exponent)  # digits before the decimal point
    if point - 1 < -4 or point - 1 >= 6:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{mantissa}e{point - 1:+03d}"
    if point <= 0:
        return "0." + "0" * -point + text
    if point >= len(text):
        return text + "0" * (point - len(text))
    return text[:point] + "." + text[point:]


def _format_string(value: str, verb: str, spec: _Spec) -> str:
    if spec.precision is not None:
        value = value[: spec.precision]
    if verb in "xX":
        text = value.encode("utf-8").hex()
        return text.upper() if verb == "X" else text
    if verb == "q":
        return '"' + _quote_body(value, '"') + '"'
    return value


_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v", "\\": "\\\\"}


def _quote_body(text: str, quote: str) -> str:
    """strconv.Quote's escaping: printable characters kept, the rest as \\x, \\u or \\U escapes."""
    out = []
    for ch in text:
        if ch == quote:
            out.append("\\" + ch)
        elif ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(f"\\u{ord(ch):04x}" if ord(ch) < 0x10000 else f"\\U{ord(ch):08x}")
    return "".join(out)


def _go_value(value: Any) -> int | float | str:
    """What OPA hands fmt.Sprintf: int, float64, string, or the Rego text of anything else."""
    if isinstance(value, bool) or value is None or isinstance(value, (list, dict, set, frozenset)):
        return rego_text(value)
    if isinstance(value, (int, float, str)):
        return value
    raise TypeError(f"sprintf: an argument of type {type(value).__name__}")


def rego_text(value: Any) -> str:
    """A value as OPA prints a term: JSON scalars, `[a, b]`, `{"k": v}` and sets as `{a, b}` (sorted), `set()`."""
    if isinstance(value, (set, frozenset)):
        return "{" + ", ".join(rego_text(v) for v in sorted(value, key=_order)) + "}" if value else "set()"
    if isinstance(value, list):
        return "[" + ", ".join(rego_text(v) for v in value) + "]"
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda kv: _order(kv[0]))
        return "{" + ", ".join(f"{rego_text(k)}: {rego_text(v)}" for k, v in items) + "}"
    if isinstance(value, float):
        return _shortest_g(value) if value >= 0 else "-" + _shortest_g(-value)
    return json.dumps(value, ensure_ascii=False)


def _order(value: Any) -> tuple[int, Any]:
    """OPA's order of values: null < boolean < number < string < array < object < set (same kinds by value)."""
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (1, value)
    if isinstance(value, (int, float)):
        return (2, value)
    if isinstance(value, str):
        return (3, value)
    return (4 + [list, dict].index(type(value)) if isinstance(value, (list, dict)) else 6, rego_text(value))


def _type(value: int | float | str) -> str:
    return "int" if isinstance(value, int) else "float64" if isinstance(value, float) else "string"


def _kind(value: Any) -> str:
    kinds = {bool: "boolean", str: "string", int: "number", float: "number", list: "array", dict: "object"}
    return "set" if isinstance(value, (set, frozenset)) else kinds.get(type(value), "null")


__all__ = ["rego_text", "sprintf"]
