"""Typed values: Python values <-> the wire's {"type": "text"} objects.

=================  ==============  =========================================
Python             outpost type    notes
=================  ==============  =========================================
``str``            string          any text without U+0000
``bool``           bool            checked before int (bool is an int)
``int``            int             signed 64-bit
``float``          float           finite; read back as the canonical value
``bytes``          bytes           also bytearray, memoryview; base64 on the wire
``datetime``       timestamp       timezone-aware only; read back in UTC
``None``           null            the same as leaving the column out
``Typed(t, s)``    ``t``           the text ``s`` sent as it is
=================  ==============  =========================================
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import json
from json.encoder import encode_basestring as _esc  # the C escaper: text -> "JSON string"
from typing import NamedTuple

from .errors import InvalidValue

TYPES = ("string", "int", "float", "bool", "bytes", "timestamp")

_UTC = _dt.timezone.utc


class Typed(NamedTuple):
    """A value given as its type and text, sent unchanged: ``Typed("float",
    "1.50")``. Reads return one for a type this binding does not know."""

    type: str
    text: str


def format_timestamp(value: _dt.datetime) -> str:
    """The canonical text of an aware datetime: YYYY-MM-DDTHH:MM:SS.ffffffZ."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidValue(
            f"timestamp {value.isoformat()} has no time zone: give an aware datetime "
            "(e.g. datetime.now(timezone.utc))"
        )
    u = value.astimezone(_UTC)
    return (
        f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:"
        f"{u.second:02d}.{u.microsecond:06d}Z"
    )


def _bool(v):
    return {"bool": "true" if v else "false"}


def _bytes(v):
    return {"bytes": base64.b64encode(bytes(v)).decode("ascii")}


# Exact types first (one dict look-up per value); subclasses go the slow way.
_FAST = {
    str: lambda v: {"string": v},
    int: lambda v: {"int": str(v)},
    # repr is the shortest text that reads back as the same double; nan and
    # inf go as they are and the library refuses them.
    float: lambda v: {"float": repr(v)},
    bool: _bool,
    type(None): lambda v: {"null": "true"},
    bytes: _bytes,
}


def encode(value, column: str = "?") -> dict:
    """The wire object of one Python value."""
    fast = _FAST.get(type(value))
    if fast is not None:
        return fast(value)
    if isinstance(value, Typed):
        return {value.type: value.text}
    if isinstance(value, bool):
        return _bool(value)
    if isinstance(value, int):
        return {"int": str(int(value))}
    if isinstance(value, float):
        return {"float": repr(float(value))}
    if isinstance(value, str):
        return {"string": str(value)}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _bytes(value)
    if isinstance(value, _dt.datetime):
        return {"timestamp": format_timestamp(value)}
    raise InvalidValue(
        f"attribute {column!r}: cannot store a {type(value).__name__}; use str, int, float, "
        "bool, bytes, an aware datetime, None or outpost.Typed"
    )


def encode_values(values) -> dict:
    """The wire "attributes" object of a dict of Python values."""
    if not values:
        return {}
    if not isinstance(values, dict):
        values = dict(values)
    get = _FAST.get
    out = {}
    for k, v in values.items():
        fast = get(type(v))
        out[k] = fast(v) if fast is not None else encode(v, k)
    return out


# The same, straight to JSON text (the writes' hot path: no dicts to build
# and walk again). Strings go through json's own escaper.
_FAST_JSON = {
    str: lambda v: '{"string":' + _esc(v) + "}",
    int: lambda v: '{"int":"' + str(v) + '"}',
    float: lambda v: '{"float":' + _esc(repr(v)) + "}",
    bool: lambda v: '{"bool":"true"}' if v else '{"bool":"false"}',
    type(None): lambda v: '{"null":"true"}',
    bytes: lambda v: '{"bytes":"' + base64.b64encode(v).decode("ascii") + '"}',
}


def values_json(values) -> str:
    """The JSON text of the wire "attributes" object of a dict of Python values."""
    if not values:
        return "{}"
    if not isinstance(values, dict):
        values = dict(values)
    get = _FAST_JSON.get
    parts = []
    for k, v in values.items():
        fast = get(type(v))
        text = fast(v) if fast is not None else json.dumps(encode(v, k), ensure_ascii=False)
        parts.append(_esc(k if type(k) is str else str(k)) + ":" + text)
    return "{" + ",".join(parts) + "}"


def decode(obj):
    """The Python value of one wire object."""
    if not isinstance(obj, dict) or len(obj) != 1:
        raise InvalidValue(f"not a typed value: {obj!r}")
    ((kind, text),) = obj.items()
    if kind == "string":
        return text
    if kind == "int":
        return int(text)
    if kind == "float":
        return float(text)
    if kind == "bool":
        return text == "true"
    if kind == "bytes":
        try:
            return base64.b64decode(text, validate=True)
        except binascii.Error as e:
            raise InvalidValue(f"bytes value {text!r} is not base64: {e}") from None
    if kind == "timestamp":
        return parse_timestamp(text)
    if kind == "null":
        return None
    return Typed(kind, text)


def parse_timestamp(text: str) -> _dt.datetime:
    """An aware (UTC) datetime from RFC 3339 text ("...Z" or "...+02:00")."""
    t = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    return _dt.datetime.fromisoformat(t).astimezone(_UTC)


def decode_values(attributes) -> dict:
    """A dict of Python values from a wire "attributes" object; nulls are left out."""
    out = {}
    for k, v in (attributes or {}).items():
        d = decode(v)
        if d is not None:
            out[k] = d
    return out
