"""The platform's parameters that stand for services the device does not have: one-click cloud
connection (O3C) stays off with the reason said, and the PTZ and O3C settings nothing could use
are not in the tree, as on a device without them."""

from __future__ import annotations

PARAM = "/axis-cgi/param.cgi"
# The update a public hardening script sends in one request (id 42549989010 in the code index).
HARDENING = {"Network.Bonjour.Enabled": "no", "Network.SSH.Enabled": "no", "Network.UPnP.Enabled": "no",
             "WebService.DiscoveryMode.Discoverable": "no", "RemoteService.Enabled": "no"}


async def test_o3c_cannot_be_turned_on_and_no_is_taken(device, admin):
    for value in ("yes", "oneclick"):
        r = await admin.get(PARAM, params={"action": "update", "RemoteService.Enabled": value,
                                           "Network.UPnP.FriendlyName": "not kept"})
        assert r.text.startswith(f"# Error: Error setting 'root.RemoteService.Enabled' to '{value}'")
        assert "no one-click cloud connection (O3C)" in r.text
    assert device.params.get("RemoteService.Enabled") == "no"
    assert device.params.get("Network.UPnP.FriendlyName") != "not kept"  # all or nothing
    r = await admin.get(PARAM, params={"action": "update", **HARDENING})
    assert r.text == "OK\r\n"
    assert device.params.get("Network.Bonjour.Enabled") == "no"
    r = await admin.get(PARAM, params={"action": "list", "group": "RemoteService"})
    assert r.text.strip() == "root.RemoteService.Enabled=no"


async def test_settings_of_missing_services_are_not_in_the_tree(device, admin):
    for name in ("System.BoaProtPTZOperator", "RemoteService.ServerList", "RemoteService.ProxyServer",
                 "RemoteService.ProxyPort", "RemoteService.ProxyLogin", "RemoteService.ProxyPassword"):
        r = await admin.get(PARAM, params={"action": "update", name: "anonymous"})
        assert r.text.startswith(f"# Error: Error setting 'root.{name}'") and "no such parameter" in r.text, name
        assert name not in device.params.defs
