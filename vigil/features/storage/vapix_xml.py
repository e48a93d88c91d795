"""What the storage VAPIX CGIs (disk management, disk properties, network share) share: their
XML replies, the schema version check, and how numbers in their arguments are read.

Form-style CGIs answer HTTP 200 with XML, errors included, as the VAPIX pages show. A number
argument is ASCII digits of a bounded length: `str.isdigit()` also takes "²" and 5,000-digit
strings, which `int()` then refuses with an exception instead of an answer.
"""

from __future__ import annotations

import re
from typing import Any
from xml.sax.saxutils import quoteattr

from starlette.responses import Response

from vigil.features.storage.const import MAX_JOB_DIGITS
from vigil.http.vapix import first

XML = "text/xml; charset=utf-8"
HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'
XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'


def xml_reply(body: str) -> Response:
    return Response(HEAD + body + "\n", media_type=XML)


def disk_root(schema: str, inner: str) -> Response:
    """The disk management API's `<root>` reply, for the schema file `schema`."""
    return xml_reply(f'<root {XSI} xsi:noNamespaceSchemaLocation="http://www.axis.com/vapix/http_cgi/disk/{schema}">'
                     f"{inner}</root>")


def attrs(**values: Any) -> str:
    return " ".join(f"{k}={quoteattr(str(v))}" for k, v in values.items())


def escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def yes(flag: bool) -> str:
    return "yes" if flag else "no"


def schema_ok(args: list[tuple[str, str]], required: bool = True) -> bool:
    version = first(args, "schemaversion")
    if version is None:
        return not required
    return version.split(".")[0] == "1"


def number(value: str | None, max_digits: int) -> int | None:
    """`value` as a non-negative integer, or None when it is not 1 to `max_digits` ASCII digits."""
    if value is None or not re.fullmatch(f"[0-9]{{1,{max_digits}}}", value):
        return None
    return int(value)


def job_id(value: str | None) -> int | None:
    """A job id argument (job.cgi), or None when it cannot name a job."""
    return number(value, MAX_JOB_DIGITS)
