"""The MQTT page shows the ONVIF event broker an ONVIF client added (Profile M's AddEventBroker,
over HTTP Digest with an ONVIF account, to a real mosquitto) as what it is, the MQTT client's
broker, and removes it."""

from __future__ import annotations

import httpx
from playwright.sync_api import expect

from tests.conftest import ADMIN, LiveDevice
from tests.onvif.schemas import request
from tests.peers.browser import Session
from tests.peers.mosquitto import PASSWORD, USER, Broker
from tests.web.conftest import log_in, open_page
from vigil.features.onvif.const import CONCRETE_SET, DEVICE_PATH, EVENTS_PATH, TEV, WSNT

ONVIF_ADMIN = ("onvifadmin", "adm1nPass")
SOAP = {"Content-Type": "application/soap+xml; charset=utf-8"}


def test_mqtt_page_shows_and_removes_the_onvif_event_broker(w401: LiveDevice, session: Session,
                                                            broker: Broker) -> None:
    user = (f"<op:User><tt:Username>{ONVIF_ADMIN[0]}</tt:Username><tt:Password>{ONVIF_ADMIN[1]}</tt:Password>"
            "<tt:UserLevel>Administrator</tt:UserLevel></op:User>")
    with httpx.Client(base_url=w401.http, timeout=10) as accounts:  # the Accounts page's way
        assert accounts.post("/vigil/session", json={"username": ADMIN[0], "password": ADMIN[1]}).status_code == 200
        r = accounts.post(DEVICE_PATH, content=request("CreateUsers", user),
                          headers={**SOAP, "X-Requested-With": "XMLHttpRequest"})
        assert r.status_code == 200, r.text
    address = f"mqtt://127.0.0.1:{broker.tcp}"
    add = (f"<op:EventBroker><op:Address>{address}</op:Address><op:TopicPrefix>yard</op:TopicPrefix>"
           f"<op:UserName>{USER}</op:UserName><op:Password>{PASSWORD}</op:Password><op:PublishFilter>"
           f'<wsnt:TopicExpression xmlns:wsnt="{WSNT}" Dialect="{CONCRETE_SET}">tns1:Device//.</wsnt:TopicExpression>'
           "</op:PublishFilter></op:EventBroker>")
    r = httpx.post(w401.http + EVENTS_PATH, content=request("AddEventBroker", add, TEV), headers=SOAP,
                   auth=httpx.DigestAuth(*ONVIF_ADMIN))
    assert r.status_code == 200, r.text
    page = session.page
    log_in(page, w401)
    open_page(page, "MQTT")
    expect(page.locator("#mqtt-status")).to_have_attribute("data-state", "connected")
    card = page.locator("#mqtt-onvif-broker")
    expect(card).to_contain_text(address)
    expect(card).to_contain_text("yard/onvif-ej/")
    expect(card).to_contain_text("tns1:Device//.")
    expect(page.locator("#mqtt-broker-form").get_by_label("Host")).to_have_value("127.0.0.1")  # the same client
    card.get_by_role("button", name="Remove").click()
    expect(card.locator(".message.ok")).to_contain_text("removed")
    expect(card).to_contain_text("None.")
    expect(page.locator("#mqtt-status")).to_contain_text("turned off")
