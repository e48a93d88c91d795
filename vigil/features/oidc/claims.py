"""Claims against the configured rules, as the device reads them: a rule is `claim:value` (the
token's claim holds the value, or a list that contains it), or a bare claim name (the token has
the claim, with any value). The role is the highest whose claim rule holds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vigil.core.roles import Role


def holds(rule: str, claims: Mapping[str, Any]) -> bool:
    """Whether `claims` satisfy `rule`; an empty rule never holds."""
    rule = rule.strip()
    if not rule:
        return False
    name, sep, wanted = rule.partition(":")
    if name not in claims:
        return False
    if not sep:
        return True
    value = claims[name]
    if isinstance(value, list | tuple):
        return any(str(item) == wanted for item in value)
    if isinstance(value, bool):
        return wanted == ("true" if value else "false")
    return str(value) == wanted


def role_of(claims: Mapping[str, Any], admin: str, operator: str, viewer: str) -> Role | None:
    """The role the claims give, or None when no rule holds."""
    for rule, role in ((admin, Role.ADMIN), (operator, Role.OPERATOR), (viewer, Role.VIEWER)):
        if holds(rule, claims):
            return role
    return None
