"""The SIP page in Chromium against a real `vigil run --profile c1410`: an administrator enables
SIP on a free port with its codec priority, sees the peer-to-peer account with its status, adds a registered account
over TLS with its TLS version, SIPS, a secondary server, two proxies and mandatory SRTP (its password never comes
back; its status says why it is not registered), places a test call to a baresip peer, sees it connected and
hangs up; gives DTMF sequences descriptions and picks one by it for a rule on the Events page;
sets NAT traversal (TURN on a real coturn, the password write-only) and sees a wrong
TURN password in the NAT status; turns on via and contact rewrite, and gives an account's proxies
their own user name and password (write-only), reordered."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from tests.conftest import LiveDevice, free_port
from tests.peers.baresip import start_baresip
from tests.peers.browser import Session
from tests.peers.coturn import start_coturn
from tests.peers.servers import NS
from tests.web.conftest import digest, log_in, open_page
from tests.web.test_events import soap

pytestmark = pytest.mark.browser


def accounts(server: LiveDevice) -> list[dict]:
    body = {"apiVersion": "1.0", "method": "getSipAccounts"}
    return httpx.post(server.http + "/axis-cgi/sip/sip.cgi", json=body, auth=digest()).json()["data"]["accounts"]


def test_an_administrator_sets_up_sip_and_places_a_test_call(speaker: LiveDevice, session: Session,
                                                             tmp_path: Path) -> None:
    page = session.page
    log_in(page, speaker)
    open_page(page, "SIP")
    page.get_by_label("Enable SIP").check()
    port = free_port()
    page.locator("#sip-sipPort").fill(str(port))
    page.locator("#sip-rtpPortStart").fill(str((port + 2) & ~1 if port < 64000 else 20000))
    page.get_by_label("Audio codec priority").fill("opus, pcmu")
    page.get_by_role("button", name="Save", exact=True).click()  # the DTMF forms have their own Save
    expect(page.get_by_role("status").filter(has_text="SIP settings saved.")).to_be_visible()
    expect(page.locator('#sip-accounts tr[data-account="p2p"] .status')).to_have_text("peer-to-peer")
    settings = httpx.post(speaker.http + "/axis-cgi/sip/sip.cgi", auth=digest(),
                          json={"apiVersion": "1.0", "method": "getSipConfiguration"}).json()["data"]
    assert settings["codecPriority"] == ["opus", "pcmu"]

    page.get_by_role("button", name="Add account").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("ID", exact=True).fill("pbx")
    dialog.get_by_label("User ID").fill("door")
    dialog.get_by_label("Password").fill("s3cret")
    dialog.get_by_label("Registrar").fill(f"127.0.0.1:{free_port()}")
    expect(dialog.get_by_label("TLS version")).to_be_disabled()  # TLS settings only with transport TLS
    dialog.get_by_label("Transport").select_option("tls")
    dialog.get_by_label("TLS version").select_option("1.3")
    dialog.get_by_label("SIP secure (SIPS)").check()
    dialog.get_by_label("Secondary SIP server").fill("127.0.0.1:5999")
    for n, proxy in ((1, "127.0.0.1:5901"), (2, "127.0.0.1:5902")):
        dialog.get_by_role("button", name="Add proxy").click()
        dialog.get_by_label(f"Proxy {n} server address").fill(proxy)
    dialog.get_by_label("Media encryption").select_option("srtp-mandatory")
    dialog.get_by_role("button", name="Save").click()
    expect(page.locator('#sip-accounts tr[data-account="pbx"]')).to_contain_text("door")
    pbx = next(a for a in accounts(speaker) if a["id"] == "pbx")
    assert pbx["passwordSet"] is True and "password" not in pbx and pbx["mediaEncryption"] == "srtp-mandatory"
    assert (pbx["transport"], pbx["tlsVersion"], pbx["sips"], pbx["verifyServer"]) == ("tls", "1.3", True, False)
    assert pbx["secondaryRegistrar"] == "127.0.0.1:5999" and [p["address"] for p in pbx["proxies"]] == [
        "127.0.0.1:5901", "127.0.0.1:5902"]

    peer = start_baresip(tmp_path / "baresip")
    try:
        page.locator("#sip-call-uri").fill(peer.uri)
        page.locator("#sip-call-account").select_option("p2p")
        page.get_by_role("button", name="Call", exact=True).click()
        expect(page.locator("#sip-call-state")).to_contain_text("active", timeout=8000)
        page.get_by_role("button", name="Hang up").click()
        expect(page.locator("#sip-call-state")).to_contain_text("ended: hung up")
    finally:
        peer.stop()


def test_dtmf_sequences_protocols_caller_id_and_the_default_account(speaker: LiveDevice, session: Session) -> None:
    page = session.page
    log_in(page, speaker)
    open_page(page, "SIP")
    expect(page.locator('#sip-accounts tr[data-account="p2p"]')).to_contain_text("p2p (default)")
    dtmf = page.locator('form[data-dtmf="p2p"]')
    dtmf.get_by_role("button", name="Add sequence to p2p").click()
    dtmf.get_by_label("Sequence 1 of p2p", exact=True).fill("12x")
    dtmf.get_by_role("button", name="Save DTMF of p2p").click()
    expect(page.get_by_text("dtmfSequences[0].sequence must be 1 to 16 of 0-9, A-D, # and *")).to_be_visible()
    assert next(a for a in accounts(speaker) if a["id"] == "p2p")["dtmfSequences"] == []
    dtmf.get_by_label("Sequence 1 of p2p", exact=True).fill("1234#")
    dtmf.get_by_label("Description 1 of p2p").fill("Open the gate")
    dtmf.get_by_role("button", name="Add sequence to p2p").click()
    dtmf.get_by_label("Sequence 2 of p2p", exact=True).fill("9")
    dtmf.get_by_label("Use RTP (RFC2833)").uncheck()
    dtmf.get_by_role("button", name="Save DTMF of p2p").click()
    expect(page.get_by_role("status").filter(has_text="DTMF of p2p saved.")).to_be_visible()
    p2p = next(a for a in accounts(speaker) if a["id"] == "p2p")
    assert p2p["dtmfSequences"] == [{"sequence": "1234#", "description": "Open the gate"},
                                    {"sequence": "9", "description": ""}] and p2p["dtmfProtocols"] == ["info"]
    page.reload()  # the section shows what is stored
    expect(page.locator('form[data-dtmf="p2p"]').get_by_label("Description 1 of p2p")).to_have_value("Open the gate")

    # Events > Rules offers the sequence by its description; the rule matches the sequence.
    open_page(page, "Events")
    page.get_by_role("button", name="+ Add a rule").click()
    dialog = page.get_by_role("dialog", name="Add a rule")
    dialog.get_by_label("Name", exact=True).fill("Gate")
    dialog.get_by_label("Condition 1", exact=True).select_option(label="SIP DTMF")
    condition = dialog.get_by_role("group", name="Condition 1")
    sequence = condition.get_by_label("Sequence entered", exact=True)
    expect(sequence.locator("option")).to_have_text(["Any", "Open the gate (1234#)", "9"])
    sequence.select_option(label="Open the gate (1234#)")
    dialog.get_by_label("Action", exact=True).select_option("com.vigil.action.fixed.sip.hangup")  # End SIP call
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(page.locator('tr[data-rule="Gate"]')).to_contain_text("Open the gate (1234#)")
    rule = soap(speaker, "<aa:GetActionRules/>").find("aa:ActionRules/aa:ActionRule", NS)
    content = rule.findtext("aa:StartEvent/wsnt:MessageContent", namespaces=NS)
    assert '@Name="Sequence" and @Value="1234#"' in content, content
    open_page(page, "SIP")

    page.get_by_role("button", name="Edit p2p").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Caller ID").fill("Lobby speaker")
    dialog.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Account p2p saved.")).to_be_visible()
    p2p = next(a for a in accounts(speaker) if a["id"] == "p2p")
    assert p2p["callerId"] == "Lobby speaker" and p2p["isDefault"] is True


def test_an_administrator_sets_nat_traversal_and_sees_a_wrong_turn_password(speaker: LiveDevice, session: Session,
                                                                           tmp_path: Path) -> None:
    turn = start_coturn(tmp_path / "coturn")
    try:
        page = session.page
        log_in(page, speaker)
        open_page(page, "SIP")
        page.get_by_label("Use TURN").check()
        page.locator("#sip-nat-turn-server").fill(turn.address)
        page.locator("#sip-nat-turn-user").fill("vigil")
        page.get_by_label("TURN password").fill("not-the-password")
        page.get_by_role("button", name="Apply").click()
        expect(page.get_by_role("status").filter(has_text="NAT traversal settings applied.")).to_be_visible()
        body = {"apiVersion": "1.0", "method": "getSipConfiguration"}
        nat = httpx.post(speaker.http + "/axis-cgi/sip/sip.cgi", json=body, auth=digest()).json()["data"]["natTraversal"]
        assert nat["turn"] and nat["turnServer"] == turn.address and nat["turnPasswordSet"]
        assert "turnPassword" not in nat
        page.get_by_label("Enable SIP").check()  # the agent runs, and checks the TURN server
        page.locator("#sip-sipPort").fill(str(free_port()))
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.get_by_role("status").filter(has_text="SIP settings saved.")).to_be_visible()
        expect(page.locator("#sip-nat-status")).to_contain_text("TURN: failed: the TURN server", timeout=8000)
        expect(page.locator("#sip-nat-status")).to_contain_text("refused the user name or password")
    finally:
        turn.stop()


def test_an_administrator_sets_the_additional_sip_settings(speaker: LiveDevice, session: Session) -> None:
    page = session.page
    log_in(page, speaker)
    open_page(page, "SIP")
    page.get_by_label("UDP-to-TCP switching").check()
    page.get_by_label("Register with server every (s)").fill("600")
    page.get_by_label("DTMF payload type").fill("110")
    page.get_by_label("Max retransmissions").fill("3")
    page.get_by_role("button", name="Save additional settings").click()
    expect(page.get_by_role("status").filter(has_text="Additional SIP settings saved.")).to_be_visible()
    body = {"apiVersion": "1.0", "method": "getSipConfiguration"}
    settings = httpx.post(speaker.http + "/axis-cgi/sip/sip.cgi", json=body, auth=digest()).json()["data"]
    shown = {k: settings[k] for k in ("udpToTcp", "registerInterval", "dtmfPayloadType", "maxRetransmissions")}
    assert shown == {"udpToTcp": True, "registerInterval": 600, "dtmfPayloadType": 110, "maxRetransmissions": 3}

    page.get_by_label("DTMF payload type").fill("111")  # opus's
    page.get_by_role("button", name="Save additional settings").click()
    expect(page.get_by_role("alert").filter(has_text="dtmfPayloadType 111 is the payload type of opus")).to_be_visible()
    after = httpx.post(speaker.http + "/axis-cgi/sip/sip.cgi", json=body, auth=digest()).json()["data"]
    assert after["dtmfPayloadType"] == 110
    reply = httpx.post(speaker.http + "/axis-cgi/sip/sip.cgi", auth=digest(), json={
        "apiVersion": "1.0", "method": "setSipConfiguration", "params": {
            "udpToTcp": False, "registerInterval": 3600, "dtmfPayloadType": 101, "maxRetransmissions": 0}})
    assert "error" not in reply.json()  # the shared device as it was


def test_rewrite_switches_and_a_proxy_with_its_own_credentials(speaker: LiveDevice, session: Session) -> None:
    page = session.page
    log_in(page, speaker)
    open_page(page, "SIP")
    page.get_by_label("Allow via rewrite").check()
    page.get_by_label("Allow contact rewrite").check()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="SIP settings saved.")).to_be_visible()
    body = {"apiVersion": "1.0", "method": "getSipConfiguration"}
    settings = httpx.post(speaker.http + "/axis-cgi/sip/sip.cgi", json=body, auth=digest()).json()["data"]
    assert settings["viaRewrite"] is True and settings["contactRewrite"] is True

    page.get_by_role("button", name="Add account").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("ID", exact=True).fill("gate")
    dialog.get_by_label("User ID").fill("gate")
    dialog.get_by_label("Registrar").fill(f"127.0.0.1:{free_port()}")
    dialog.get_by_role("button", name="Add proxy").click()
    dialog.get_by_label("Proxy 1 server address").fill("127.0.0.1:5901")
    dialog.get_by_role("button", name="Add proxy").click()
    dialog.get_by_label("Proxy 2 server address").fill("127.0.0.1:5902")
    dialog.get_by_label("Proxy 2 user name").fill("gatekeeper")
    dialog.get_by_label("Proxy 2 password").fill("gate-pass")
    dialog.get_by_role("button", name="Move proxy 2 up").click()  # the one with credentials first
    dialog.get_by_role("button", name="Save").click()
    expect(page.locator('#sip-accounts tr[data-account="gate"]')).to_contain_text("gate")
    gate = next(a for a in accounts(speaker) if a["id"] == "gate")
    assert gate["proxies"] == [{"address": "127.0.0.1:5902", "user": "gatekeeper", "passwordSet": True},
                               {"address": "127.0.0.1:5901", "user": "", "passwordSet": False}]

    page.get_by_role("button", name="Edit gate").click()  # saved again without retyping: the password stays
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("Proxy 1 user name")).to_have_value("gatekeeper")
    expect(dialog.get_by_label("Proxy 1 password")).to_have_value("")
    dialog.get_by_role("button", name="Remove proxy 2").click()
    dialog.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Account gate saved.")).to_be_visible()
    gate = next(a for a in accounts(speaker) if a["id"] == "gate")
    assert gate["proxies"] == [{"address": "127.0.0.1:5902", "user": "gatekeeper", "passwordSet": True}]
