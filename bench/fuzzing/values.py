"""Bad values: what the walk puts into one parameter at a time, the bounded form's selection of
them, and the generic names and values it tries where a handler gives no hint."""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class Bad:
    label: str
    text: str | None  # as a query, form or XML value (None: only makes sense in JSON)
    json: str | None = None  # raw JSON text; None: the text as a JSON string

    @property
    def raw_json(self) -> str | None:
        if self.json is not None:
            return self.json
        return json.dumps(self.text) if self.text is not None else None


def _nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


BAD_VALUES: tuple[Bad, ...] = (  # the ones that found most first: a per-target limit keeps them
    Bad("digits5000", "9" * 5000, "9" * 5000),
    Bad("1e999", "1e999", "1e999"),
    Bad("list", None, "[]"),
    Bad("object", None, "{}"),
    Bad("NaN", "NaN", "NaN"),
    Bad("empty", ""),
    Bad("null", None, "null"),
    Bad("-1", "-1", "-1"),
    Bad("true", "true", "true"),
    Bad("spaces", "x" + " " * 20_000 + "x"),  # quadratic regular expressions show here
    Bad("date-max", "9999-12-31T23:59:59Z"),
    Bad("unicode", "\u00fc\u00f1\u20ac\U0001f600\u202e"),
    Bad("traversal", "../../../../../../etc/passwd"),
    Bad("xml", "<a b='1'>&amp;&lt;]]></a>\"'"),
    Bad("digits5000-text", None, '"' + "9" * 5000 + '"'),
    Bad("-1e999", "-1e999", "-1e999"),
    Bad("inf", "inf", "Infinity"),
    Bad("-inf", "-inf", "-Infinity"),
    Bad("int64+1", "9223372036854775808", "9223372036854775808"),
    Bad("1.5", "1.5", "1.5"),
    Bad("0", "0", "0"),
    Bad("-0", "-0", "-0"),
    Bad("hex", "0x10"),
    Bad("fullwidth-digits", "\uff11\uff12"),
    Bad("false", "no", "false"),
    Bad("list-of-text", None, '["x", "y"]'),
    Bad("object-x", None, '{"x": 1}'),
    Bad("nested-200", None, _nested(200)),
    Bad("nul", "a\x00b"),
    Bad("crlf", "a\r\nX-Injected: 1"),
    Bad("control", "\x1b[31m\x07\x7f"),
    Bad("space", " "),
    Bad("long", "x" * 20_000),
    Bad("abs-path", "/etc/passwd"),
    Bad("backslashes", "..\\..\\..\\windows\\win.ini"),
    Bad("url", "http://127.0.0.1:9/x?y=1#z"),
    Bad("entity", "&xxe;"),
    Bad("format", "%s%n%x{0}${jndi:x}"),
    Bad("quote", "' OR '1'='1' --"),
    Bad("regex", "(a+)+$[*\\"),
    Bad("commas", ",,,"),
    Bad("date-min", "0001-01-01T00:00:00Z"),
    Bad("date-bad", "2024-02-30T25:61:61Z"),
)
# The bounded form: the values that found something at least once, one of each kind.
SAMPLE_LABELS = tuple(b.label for b in BAD_VALUES[:14])
# In the secondary contexts of the bounded form (bare, modes, records, lean SOAP bodies).
FEW_LABELS = ("digits5000", "1e999", "list", "object", "NaN", "empty", "xml")

SAMPLE_PER_TARGET = 800  # the bounded form's limit of requests with a bad value per target
# ... and of the seconds they may take: a target whose accepted requests each hold the client
# (a network trace, a ping) gets the requests that fit, not 800 seconds of them.
SAMPLE_SECONDS_PER_TARGET = 10.0

# Names whose value is how long the request holds its client (a network trace of N seconds):
# their plausible value is the shortest, so that each accepted request costs the walk a second,
# not the hour a harvested number could ask for. Their bad values are tried as for any name.
HOLDING_NAMES = ("duration",)

# Generic names tried on every form-style endpoint besides the ones read from its source.
GENERIC_NAMES = ("action", "id", "name", "value", "schemaversion", "format")
# Plausible values for names whose handlers give no hint (a URL a source accepts, a password
# the account rules accept...); port 9 on the loopback refuses connections at once.
GENERIC_VALUES = {"url": "rtsp://127.0.0.1:9/fuzz", "upload_url": "http://127.0.0.1:9/fuzz",
                  "address": "127.0.0.1", "host": "127.0.0.1", "ip": "127.0.0.1", "server": "127.0.0.1", "port": "9",
                  "password": "Fuzz-pass-1", "pwd": "Fuzz-pass-1", "user": "fuzzuser", "username": "fuzzuser",
                  "email": "fuzz@example.invalid", "id": "fuzz1", "name": "fuzz", "share": "fuzz"}


def short(value: str, limit: int = 40) -> str:
    """A value as the report shows it: its first `limit` characters, and its length when longer."""
    return value if len(value) <= limit else f"{value[:limit]}…({len(value)} chars)"


def bad_values(sample: bool, few: bool = False) -> list[Bad]:
    """Every bad value; with `sample`, the bounded form's; with `few`, those of the secondary contexts."""
    labels = FEW_LABELS if few else SAMPLE_LABELS if sample else None
    return [b for b in BAD_VALUES if labels is None or b.label in labels]
