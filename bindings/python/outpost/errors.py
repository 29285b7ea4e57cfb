"""outpost's errors as Python exceptions.

Every failure of the library is an :class:`Error` (or a subclass) with
``code``, the wire name of the error (``"invalid_value"``, ...; see
docs/http-api.md#errors, plus ``"cancelled"``), and ``message``. A failed
``sync`` also carries its report as ``report`` (None when the sync never
started).
"""

from __future__ import annotations


class Error(Exception):
    """An error of outpost: ``.code`` (wire name), ``.message``, ``.report``."""

    code = "internal"  # overridden per subclass; an instance may carry any code

    def __init__(self, message: str = "", code: str | None = None, report=None):
        if code is not None:
            self.code = code
        self.message = message
        self.report = report
        super().__init__(message)

    def __str__(self):
        return f"{self.code}: {self.message}"


class InvalidJSON(Error):
    code = "invalid_json"


class InvalidValue(Error, ValueError):
    code = "invalid_value"


class InvalidName(Error, ValueError):
    code = "invalid_name"


class UnknownColumn(Error):
    code = "unknown_column"


class MissingRequired(Error):
    code = "missing_required"


class InvalidRevision(Error):
    code = "invalid_revision"


class InvalidScope(Error):
    code = "invalid_scope"


class Unauthorized(Error):
    code = "unauthorized"


class Forbidden(Error):
    code = "forbidden"


class NotFound(Error):
    code = "not_found"


class MethodNotAllowed(Error):
    code = "method_not_allowed"


class UnknownTable(Error):
    code = "unknown_table"


class Conflict(Error):
    code = "conflict"


class SchemaConflict(Error):
    code = "schema_conflict"


class TooLarge(Error):
    code = "too_large"


class UnsupportedMediaType(Error):
    code = "unsupported_media_type"


class Unavailable(Error):
    code = "unavailable"


class Internal(Error):
    code = "internal"


class DiskFull(Error):
    code = "disk_full"


class Cancelled(Error):
    code = "cancelled"


# enum outpost_code -> class, by number (the numbers never change).
BY_NUMBER = {
    1: InvalidJSON,
    2: InvalidValue,
    3: InvalidName,
    4: UnknownColumn,
    5: MissingRequired,
    6: InvalidRevision,
    7: InvalidScope,
    8: Unauthorized,
    9: Forbidden,
    10: NotFound,
    11: MethodNotAllowed,
    12: UnknownTable,
    13: Conflict,
    14: SchemaConflict,
    15: TooLarge,
    16: UnsupportedMediaType,
    17: Unavailable,
    18: Internal,
    19: DiskFull,
    100: Cancelled,
}

BY_NAME = {cls.code: cls for cls in BY_NUMBER.values()}


def from_number(number: int, message: str, name: str | None = None, report=None) -> Error:
    """The exception for an outpost_code (``name``: its wire name, for a
    number this binding does not know)."""
    cls = BY_NUMBER.get(number)
    if cls is None:
        return Error(message, code=name or "unknown", report=report)
    return cls(message, report=report)


def from_name(name: str, message: str) -> Error:
    """The exception for a wire name, as a bulk result carries it."""
    cls = BY_NAME.get(name)
    if cls is None:
        return Error(message, code=name)
    return cls(message)
