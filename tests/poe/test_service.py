"""The PoE switch's behaviour over the simulated hardware: the budget enforced (a 16th camera
beyond it stays off, with the status and the PoE failure event), power freed for the next one,
ports turned off and on, power only, devices without PoE, keep power through a restart."""

from __future__ import annotations

import pytest

from tests.conftest import record_actions, settle_rules
from tests.poe.conftest import fill_s3016, switch
from vigil.core.events import EventBus
from vigil.core.roles import Role
from vigil.core.rules import Condition, Rule
from vigil.device import Device
from vigil.features.poe.const import POE_FAILURE, PORT_POWER
from vigil.features.poe.service import PoeError, PoeService
from vigil.hal.sim.poe import SimulatedPoe


def test_the_16th_camera_beyond_the_budget_is_not_powered(device: Device) -> None:
    hardware, service = switch(device)
    fill_s3016(hardware)
    hardware.connect(16, 2, 5.0)
    assert [service.status(p).code for p in range(1, 16)] == [1] * 15
    refused = service.status(16)
    assert (refused.code, refused.description) == (4, "Error: Power budget exceeded")
    assert refused.allocated_w == 0.0 and not hardware.powered(16)
    assert "7.0 W" in refused.extra and "1.0 W" in refused.extra
    assert service.totals() == {"budget_w": 305, "ports": 16, "absent": "", "pse": True, "labels": [], "allocated_w": 304.0,
                                "consumption_w": 150.0, "powered": 15}
    assert device.events.state(POE_FAILURE, {"port": "16"}) == {
        "reason": "4", "reasonstr": refused.description + ": " + refused.extra, "disruption": "1"}
    assert device.events.state(POE_FAILURE, {"port": "-1"})["disruption"] == "1"
    assert device.events.state(POE_FAILURE, {"port": "1"})["disruption"] == "0"
    assert device.events.state(PORT_POWER, {"port": "16"}) == {"powered": "0"}
    assert device.events.state(PORT_POWER, {"port": "15"}) == {"powered": "1"}


def test_a_powered_port_keeps_its_power_when_a_lower_port_number_arrives(device: Device) -> None:
    hardware, service = switch(device)
    for port in range(5, 15):
        hardware.connect(port, 4, 20.0)  # 300 W reserved
    hardware.connect(1, 4, 20.0)
    assert service.status(1).code == 4 and all(service.status(p).code == 1 for p in range(5, 15))


def test_unplugging_a_camera_powers_the_refused_one(device: Device) -> None:
    hardware, service = switch(device)
    fill_s3016(hardware)
    hardware.connect(16, 2, 5.0)
    hardware.disconnect(6)
    assert service.status(6).code == 0
    assert service.status(16).code == 1 and hardware.powered(16)
    assert device.events.state(POE_FAILURE, {"port": "-1"})["disruption"] == "0"


def test_a_port_turned_off_is_disabled_and_its_power_goes_to_the_refused_one(device: Device) -> None:
    hardware, service = switch(device)
    fill_s3016(hardware)
    hardware.connect(16, 2, 5.0)
    device.params.set_internal({"PoE.Port.P1.Enabled": "no"}, "operator1")
    assert service.status(1).code == 3 and not hardware.powered(1)
    assert hardware.device(1).power_cycles == 1
    assert service.status(16).code == 1
    device.params.set_internal({"PoE.Port.P1.Enabled": "yes"}, "operator1")
    assert service.status(1).code == 4  # the freed power went to port 16 meanwhile


def test_power_only_keeps_power_and_turns_the_network_off(device: Device) -> None:
    hardware, service = switch(device)
    hardware.connect(2, 3, 6.0)
    device.params.set_internal({"PoE.Port.P2.Network": "no"}, "operator1")
    assert hardware.powered(2) and not hardware.device(2).network
    assert service.status(2).network is False and service.status(2).code == 1


def test_a_device_without_poe_is_connected_without_power(device: Device) -> None:
    hardware, service = switch(device)
    hardware.connect(4, None, 0.0)
    status = service.status(4)
    assert (status.code, status.poe_class, status.allocated_w) == (2, None, 0.0)
    assert not hardware.powered(4)


def test_classes_above_the_port_limit_get_the_port_limit(device: Device) -> None:
    hardware, service = switch(device)
    hardware.connect(1, 8, 40.0)  # an 802.3bt camera on an 802.3at port
    status = service.status(1)
    assert (status.class_power_limit, status.allocated_w, status.pse_class_limit) == (30.0, 30.0, 4)
    assert "802.3bt" in status.extra


def restarted(device: Device) -> tuple[SimulatedPoe, PoeService]:
    """The switch and the service as a restarted device builds them, from the switch's file."""
    hardware = SimulatedPoe(16, 305, 4, device.data / "hw" / "poe.json")
    service = PoeService(hardware, device.params, EventBus(device.clock), device.logs, lambda: "restart")
    service.start()
    return hardware, service


def test_keep_power_leaves_the_cameras_powered_through_a_restart(device: Device) -> None:
    hardware, service = switch(device)
    hardware.connect(1, 4, 15.0)
    device.params.set_internal({"PoE.KeepPower": "yes"}, "operator1")
    service.stop("restart")
    after, _ = restarted(device)
    assert after.powered(1) and after.device(1).power_cycles == 0


def test_without_keep_power_a_restart_cuts_the_power(device: Device) -> None:
    hardware, service = switch(device)
    hardware.connect(1, 4, 15.0)
    service.stop("restart")
    after, again = restarted(device)
    assert after.powered(1) and after.device(1).power_cycles == 1  # cut, then powered by the new start
    assert again.status(1).code == 1


def test_shutdown_cuts_the_power_even_with_keep_power(device: Device) -> None:
    hardware, service = switch(device)
    hardware.connect(1, 4, 15.0)
    device.params.set_internal({"PoE.KeepPower": "yes"}, "operator1")
    service.stop("shutdown")
    assert not hardware.powered(1)


async def test_rules_use_the_port_power_and_the_poe_failure(device: Device) -> None:
    """An unlimited action runs while port 1 is powered; a fixed one fires when any port fails."""
    calls = record_actions(device)
    while_powered = device.rules.add_action("a", "test.unlimited", {}, "t")
    on_failure = device.rules.add_action("b", "test.fixed", {}, "t")
    device.rules.add_rule(Rule(0, "camera 1 on", True, while_powered.id,
                               (Condition(PORT_POWER, (("port", "1"), ("powered", "1"))),)), "t")
    device.rules.add_rule(Rule(0, "poe failure", True, on_failure.id, (),
                               trigger=Condition(POE_FAILURE, (("port", "-1"), ("disruption", "1")))), "t")
    hardware, _ = switch(device)
    fill_s3016(hardware)
    await settle_rules(device)
    assert calls == ["start:camera 1 on"]
    hardware.connect(16, 2, 5.0)
    await settle_rules(device)
    assert calls == ["start:camera 1 on", "run:poe failure"]
    hardware.disconnect(1)
    await settle_rules(device)
    assert calls[-1] == "stop:camera 1 on"


def test_a_friendly_name_too_long_is_refused_and_nothing_changes(device: Device) -> None:
    _, service = switch(device)
    with pytest.raises(PoeError, match="longer than 64"):
        service.set_port(1, {"FriendlyName": "x" * 65, "Enabled": "no"}, Role.OPERATOR, "operator1")
    assert service.status(1).enabled and service.status(1).name == ""
