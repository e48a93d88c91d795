"""The I/O service's rule actions refuse ports and durations that are not small whole numbers."""

from __future__ import annotations

import httpx
import pytest

from tests.peers.servers import add_action, add_action_xml, post
from vigil.core.rules import RuleError
from vigil.device import Device
from vigil.features.io.service import IO_SERVICE

TOGGLE_ONCE = "com.axis.action.fixed.io.toggle"


@pytest.mark.parametrize("params", [
    {"port": "8", "duration": "9" * 5000},  # float() of it is infinity: the relay would never fall back
    {"port": "8", "duration": "2147483648"},
    {"port": "8", "duration": "\u0663"},  # a digit, not an ASCII one
    {"port": "9" * 5000},
    {"port": "0_8"},  # int() reads 8
    {"port": "\u0668"},
    {"port": "-1"},
])
def test_toggle_actions_refuse_unreadable_numbers(w401: Device, params: dict[str, str]) -> None:
    for action in w401.features[IO_SERVICE].action_types():
        assert action.validate is not None
        with pytest.raises(RuleError):
            action.validate({"state": "high", **params})


async def test_a_refused_toggle_is_a_soap_fault_and_adds_nothing(w401: Device, admin: httpx.AsyncClient) -> None:
    r = await post(admin, add_action_xml(TOGGLE_ONCE, {"port": "8", "state": "high", "duration": "9" * 5000}))
    assert r.status_code == 400 and "Fault" in r.text
    assert "0 to 2147483647" in r.text and "Internal" not in r.text
    assert await add_action(admin, TOGGLE_ONCE, {"port": "8", "state": "high", "duration": "2147483647"}) > 0

