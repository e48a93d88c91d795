"""The Events, Accessories and MQTT pages in a real browser (Debian's Chromium, driven by
Playwright) against a real `vigil run --profile w401`. The pages use only the public API, so
every effect of the browser is checked again over that API with HTTP Digest, and the peers
(an SMTP server, an MQTT broker) are real."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest
from lxml import etree
from playwright.sync_api import Browser, Page, expect

from tests.conftest import LiveDevice, free_port, wait_until
from tests.peers.browser import Session
from tests.peers.mosquitto import PASSWORD, USER, Broker
from tests.peers.servers import (
    NS,
    add_action_xml,
    add_recipient_xml,
    add_rule_xml,
    envelope,
    item_filter,
    smtp_server,
)
from tests.web.conftest import digest, log_in, nav_links, open_page

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/vigil-web-events")
DIGITAL_INPUT = "tns1:Device/Trigger/DigitalInput"


# -- the device and helpers ---------------------------------------------------------------


def get_ports(server: LiveDevice) -> dict[str, dict]:
    r = httpx.post(server.http + "/axis-cgi/io/portmanagement.cgi", auth=digest(),
                   json={"apiVersion": "1.0", "method": "getPorts"})
    r.raise_for_status()
    return {p["port"]: p for p in r.json()["data"]["items"]}


def simulate_input(server: LiveDevice, port: int, circuit: str) -> None:
    r = httpx.post(server.http + "/vigil/sim/io", auth=digest(), json={"port": port, "circuit": circuit})
    assert r.status_code == 200, r.text


def soap(server: LiveDevice, body: str) -> etree._Element:
    r = httpx.post(server.http + "/vapix/services", content=envelope(body), auth=digest(),
                   headers={"Content-Type": "application/soap+xml; charset=utf-8"})
    assert r.status_code == 200, r.text
    return etree.fromstring(r.content).find("env:Body", NS)[0]


def add_account(server: LiveDevice, user: str, password: str, groups: str) -> None:
    r = httpx.post(server.http + "/axis-cgi/pwdgrp.cgi", auth=digest(),
                   data={"action": "add", "user": user, "pwd": password, "grp": "users", "sgrp": groups})
    assert "Created account" in r.text, r.text


def set_theme(page: Page, theme: str) -> None:
    html = page.locator("html")
    if f"theme-{theme}" not in (html.get_attribute("class") or ""):
        page.get_by_role("button", name="Dark theme").click()
    expect(html).to_have_class(re.compile(rf"\btheme-{theme}\b"))


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


# -- (a) and (b): the manual's "Activate a lamp when the window is opened" --------------------
def test_lamp_lights_when_the_window_is_opened(w401: LiveDevice, session: Session) -> None:
    page = session.page
    log_in(page, w401)
    assert nav_links(page) == ["Status", "Events", "Accessories", "MQTT", "SNMP", "Time and location", "Network",
                               "Security", "WLAN", "Power settings", "Accounts", "Plain config", "Logs", "Apps",
                               "Maintenance"]

    # System > Accessories: port 1 "Window sensor", input, normally closed; port 2 "Lamp", output.
    open_page(page, "Accessories")
    area = page.locator("#page-accessories .message")
    page.get_by_label("Name of port 1").fill("Window sensor")
    page.get_by_label("Name of port 1").press("Enter")
    expect(area).to_contain_text("Port 1: name set to Window sensor")
    page.get_by_label("Normal state of port 1").select_option("closed")
    expect(area).to_contain_text("Port 1: normal state closed circuit")
    page.get_by_label("Direction of port 2").select_option("output")
    expect(area).to_contain_text("Port 2: now an output")
    page.get_by_label("Name of port 2").fill("Lamp")
    page.get_by_label("Name of port 2").press("Enter")
    expect(area).to_contain_text("Port 2: name set to Lamp")
    expect(page.get_by_label("Normal state of port 2")).to_have_value("open")
    ports = get_ports(w401)
    assert {k: ports["0"][k] for k in ("direction", "name", "normalState")} == \
        {"direction": "input", "name": "Window sensor", "normalState": "closed"}
    assert {k: ports["1"][k] for k in ("direction", "name", "normalState")} == \
        {"direction": "output", "name": "Lamp", "normalState": "open"}
    # The switch for outputs is there for the new output, and not for inputs.
    expect(page.get_by_role("button", name="Activate port 2 (Lamp)")).to_be_visible()
    expect(page.locator('tr[data-port="0"] button')).to_have_count(0)

    simulate_input(w401, 0, "closed")  # the window is shut
    lamp = page.locator('tr[data-port="1"] .io-state')
    window = page.locator('tr[data-port="0"] .io-state')
    expect(window).to_have_attribute("data-active", "false")

    # System > Events > Rules: "Window sensor", digital input as trigger, toggle I/O while active.
    open_page(page, "Events")
    page.get_by_role("button", name="+ Add a rule").click()
    dialog = page.get_by_role("dialog", name="Add a rule")
    dialog.get_by_label("Name", exact=True).fill("Window sensor")
    dialog.get_by_label("Condition 1", exact=True).select_option(label="Digital input")
    condition = dialog.get_by_role("group", name="Condition 1")
    condition.get_by_label("Input", exact=True).select_option(label="Port 1 (Window sensor)")
    condition.get_by_label("Use this condition as a trigger").check()
    expect(condition.get_by_label("Invert this condition")).not_to_be_checked()
    dialog.get_by_label("Action", exact=True).select_option(label="Toggle I/O while the rule is active")
    dialog.get_by_label("Port", exact=True).select_option(label="Port 2 (Lamp)")
    dialog.get_by_label("State", exact=True).select_option(label="Active")
    SHOTS.mkdir(parents=True, exist_ok=True)
    dialog.screenshot(path=str(SHOTS / "rule-window-sensor.png"))
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    row = page.locator('tr[data-rule="Window sensor"]')
    expect(row).to_contain_text("Digital input: Port 1 (Window sensor), active")
    expect(row).to_contain_text("Toggle I/O while the rule is active (Port 2 (Lamp), active)")
    expect(row.get_by_role("switch")).to_be_checked()

    # The device has the rule as the manual describes it.
    rules = soap(w401, "<aa:GetActionRules/>").findall("aa:ActionRules/aa:ActionRule", NS)
    assert len(rules) == 1
    rule = rules[0]
    assert rule.findtext("aa:Name", namespaces=NS) == "Window sensor"
    assert rule.findtext("aa:Enabled", namespaces=NS) == "true"
    assert rule.findtext("aa:StartEvent/wsnt:TopicExpression", namespaces=NS) == DIGITAL_INPUT
    content = rule.findtext("aa:StartEvent/wsnt:MessageContent", namespaces=NS)
    assert '@Name="InputToken" and @Value="0"' in content and '@Name="LogicalState" and @Value="true"' in content
    action = soap(w401, "<aa:GetActionConfigurations/>").find("aa:ActionConfigurations/aa:ActionConfiguration", NS)
    assert action.findtext("aa:TemplateToken", namespaces=NS) == "com.axis.action.unlimited.io.toggle"
    assert {p.get("Name"): p.get("Value") for p in action.iterfind("aa:Parameters/aa:Parameter", NS)} == \
        {"port": "1", "state": "high"}

    # The window opens: the lamp lights, in the API and on the Accessories page without a reload.
    open_page(page, "Accessories")
    expect(page.locator("#io-live")).to_have_text("Live")
    expect(lamp).to_have_attribute("data-active", "false")
    simulate_input(w401, 0, "open")
    wait_until(lambda: get_ports(w401)["1"]["state"] == "closed", 10, "the lamp output to close")
    expect(window).to_have_attribute("data-active", "true")
    expect(lamp).to_have_attribute("data-active", "true")
    expect(lamp).to_contain_text("Closed circuit")
    expect(page.get_by_role("button", name="Deactivate port 2 (Lamp)")).to_be_visible()
    shot(page, "accessories-lamp-on")

    # The window shuts: the lamp goes off again.
    simulate_input(w401, 0, "closed")
    expect(lamp).to_have_attribute("data-active", "false")
    assert get_ports(w401)["1"]["state"] == "open"

    # Turning the rule off keeps it (added again, disabled) and the lamp stays off.
    open_page(page, "Events")
    page.get_by_role("switch", name="Rule Window sensor on").uncheck()
    expect(page.locator("#page-events .message.ok")).to_contain_text("The rule Window sensor is off")
    rules = soap(w401, "<aa:GetActionRules/>").findall("aa:ActionRules/aa:ActionRule", NS)
    assert [(r.findtext("aa:Name", namespaces=NS), r.findtext("aa:Enabled", namespaces=NS)) for r in rules] == \
        [("Window sensor", "false")]
    simulate_input(w401, 0, "open")
    time.sleep(0.5)
    assert get_ports(w401)["1"]["state"] == "open", "a rule that is off does nothing"

    # Editing replaces the rule and its action configuration; deleting removes both.
    page.get_by_role("button", name="Edit rule Window sensor").click()
    dialog = page.get_by_role("dialog", name="Edit rule Window sensor")
    expect(dialog.get_by_label("Condition 1", exact=True)).to_have_value(DIGITAL_INPUT)
    expect(dialog.get_by_role("group", name="Condition 1").get_by_label("Use this condition as a trigger")).to_be_checked()
    expect(dialog.get_by_label("Port", exact=True)).to_have_value("1")
    dialog.get_by_label("Wait between actions").fill("00:00:05")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(page.locator('tr[data-rule="Window sensor"]')).to_contain_text("Wait 00:00:05 between actions")
    rules = soap(w401, "<aa:GetActionRules/>").findall("aa:ActionRules/aa:ActionRule", NS)
    assert [(r.findtext("aa:Enabled", namespaces=NS), r.findtext("aa:ActivationTimeout", namespaces=NS))
            for r in rules] == [("false", "PT5S")]
    actions = soap(w401, "<aa:GetActionConfigurations/>").findall("aa:ActionConfigurations/aa:ActionConfiguration", NS)
    assert [a.findtext("aa:ConfigurationID", namespaces=NS) for a in actions] == \
        [rules[0].findtext("aa:PrimaryAction", namespaces=NS)]
    page.get_by_role("button", name="Delete rule Window sensor").click()
    page.get_by_role("dialog", name="Delete rule").get_by_role("button", name="Delete").click()
    expect(page.get_by_text("There are no rules yet.")).to_be_visible()
    assert soap(w401, "<aa:GetActionRules/>").find("aa:ActionRules/aa:ActionRule", NS) is None
    assert soap(w401, "<aa:GetActionConfigurations/>").find("aa:ActionConfigurations/aa:ActionConfiguration",
                                                            NS) is None


# -- (c): an email recipient and its Test button -----------------------------------------------
def test_email_recipient_test_button(w401: LiveDevice, session: Session) -> None:
    page = session.page
    log_in(page, w401)
    open_page(page, "Events")
    page.get_by_role("tab", name="Recipients").click()
    with smtp_server() as mail:
        page.get_by_role("button", name="+ Add a recipient").click()
        dialog = page.get_by_role("dialog", name="Add a recipient")
        dialog.get_by_label("Name", exact=True).fill("Guard mail")
        dialog.get_by_label("Type", exact=True).select_option(label="Email")
        dialog.get_by_label("Send email to").fill("guard@example.com")
        dialog.get_by_label("Send email from").fill("w401@example.com")
        dialog.get_by_label("Email server (SMTP)").fill("127.0.0.1")
        dialog.get_by_label("Port", exact=True).fill(str(mail.port))
        dialog.get_by_label("Encryption").select_option(label="None")
        dialog.get_by_role("button", name="Test").click()
        expect(dialog.locator(".message.ok")).to_contain_text("The test message was delivered to Guard mail")
        wait_until(lambda: len(mail.messages) == 1, 10, "the test mail")
        sender, to, message = mail.messages[0]
        assert sender == "w401@example.com" and to == ["guard@example.com"]
        assert message["Subject"] == "Vigil test message"

        # A port where nothing listens: the device's reason shows, and nothing is sent.
        dialog.get_by_label("Port", exact=True).fill(str(free_port()))
        dialog.get_by_role("button", name="Test").click()
        error = dialog.get_by_role("alert")
        expect(error).to_contain_text("The test message was not delivered")
        expect(dialog.get_by_label("Port", exact=True)).to_be_visible()
        assert len(mail.messages) == 1

        dialog.get_by_label("Port", exact=True).fill(str(mail.port))
        dialog.get_by_role("button", name="Save").click()
        expect(dialog).to_be_hidden()
        row = page.locator('tr[data-recipient="Guard mail"]')
        expect(row).to_contain_text("Email")
        expect(row).to_contain_text(f"guard@example.com via 127.0.0.1:{mail.port}")

        # The list's Test button tests the stored recipient.
        row.get_by_role("button", name="Test recipient Guard mail").click()
        expect(page.locator("#page-events .message.ok")).to_contain_text("delivered to Guard mail")
        wait_until(lambda: len(mail.messages) == 2, 10, "the second test mail")

    stored = soap(w401, "<aa:GetRecipientConfigurations/>").findall(
        "aa:RecipientConfigurations/aa:RecipientConfiguration", NS)
    assert [r.findtext("aa:Name", namespaces=NS) for r in stored] == ["Guard mail"]
    params = {p.get("Name"): p.get("Value") for p in stored[0].iterfind("aa:Parameters/aa:Parameter", NS)}
    assert params["email_to"] == "guard@example.com" and params["encryption"] == "none"

    # A rule can send to it: the notification action lists the recipient.
    page.get_by_role("tab", name="Rules").click()
    page.get_by_role("button", name="+ Add a rule").click()
    dialog = page.get_by_role("dialog", name="Add a rule")
    dialog.get_by_label("Action", exact=True).select_option(label="Send notification to email")
    expect(dialog.get_by_label("Recipient", exact=True)).to_have_value(stored[0].findtext("aa:ConfigurationID",
                                                                                          namespaces=NS))
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()


def test_sip_recipient_calls_from_the_default_account(w401: LiveDevice, session: Session) -> None:
    # The manual's "SIP or VMS" recipient on a device without a SIP page: its accounts are listed.
    page = session.page
    log_in(page, w401)
    open_page(page, "Events")
    page.get_by_role("tab", name="Recipients").click()
    page.get_by_role("button", name="+ Add a recipient").click()
    dialog = page.get_by_role("dialog", name="Add a recipient")
    dialog.get_by_label("Name", exact=True).fill("Door speaker")
    dialog.get_by_label("Type", exact=True).select_option(label="SIP")
    account = dialog.get_by_label("From SIP account")
    expect(account.locator("option")).to_have_text(["Default account", "Peer to peer (vigil)"])
    dialog.get_by_label("To SIP address").fill("sip:door@127.0.0.1:5099")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    row = page.locator('tr[data-recipient="Door speaker"]')
    expect(row).to_contain_text("SIP")
    expect(row).to_contain_text("sip:door@127.0.0.1:5099")
    row.get_by_role("button", name="Delete recipient Door speaker").click()
    page.get_by_role("dialog", name="Delete recipient").get_by_role("button", name="Delete").click()
    expect(row).to_be_hidden()


# -- (d): schedules and pulses ----------------------------------------------------------------
def test_schedules_are_added_and_listed(w401: LiveDevice, session: Session) -> None:
    page = session.page
    log_in(page, w401)
    open_page(page, "Events")
    page.get_by_role("tab", name="Schedules").click()
    expect(page.get_by_text("There are no schedules or pulses yet.")).to_be_visible()

    page.get_by_role("button", name="+ Add a schedule").click()
    dialog = page.get_by_role("dialog", name="Add a schedule")
    dialog.get_by_label("Name", exact=True).fill("Evening")
    dialog.get_by_label("Start time", exact=True).fill("18:00")
    dialog.get_by_label("End time", exact=True).fill("18:01")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(page.locator('tr[data-schedule="Evening"]')).to_contain_text("Every day 18:00–18:01")

    page.get_by_role("button", name="+ Add a schedule").click()
    dialog = page.get_by_role("dialog", name="Add a schedule")
    dialog.get_by_label("Name", exact=True).fill("Office hours")
    for day in ("Sat", "Sun"):
        dialog.get_by_label(day, exact=True).uncheck()
    dialog.get_by_label("Start time", exact=True).fill("08:00")
    dialog.get_by_label("End time", exact=True).fill("17:00")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(page.locator('tr[data-schedule="Office hours"]')).to_contain_text("Weekdays 08:00–17:00")

    page.get_by_role("button", name="+ Add a schedule").click()
    dialog = page.get_by_role("dialog", name="Add a schedule")
    dialog.get_by_label("Name", exact=True).fill("Every five")
    dialog.get_by_label("Pulse", exact=True).check()
    dialog.get_by_label("Repeat every").fill("5")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    pulse = page.locator('tr[data-schedule="Every five"]')
    expect(pulse).to_contain_text("Pulse")
    expect(pulse).to_contain_text("Every 5 minutes")

    events = soap(w401, "<aev:GetScheduledEvents/>").findall("aev:ScheduledEvents/aev:ScheduledEvent", NS)
    by_name = {e.findtext("aev:Name", namespaces=NS): e.findtext("aev:Schedule/aev:ICalendar", namespaces=NS)
               for e in events}
    assert set(by_name) == {"Evening", "Office hours", "Every five"}
    assert re.search(r"DTSTART:\d{8}T180000", by_name["Evening"]) and "RRULE:FREQ=DAILY" in by_name["Evening"]
    assert re.search(r"DTEND:\d{8}T180100", by_name["Evening"])
    assert "RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR" in by_name["Office hours"]
    assert "RRULE:FREQ=MINUTELY;INTERVAL=5" in by_name["Every five"] and "DTEND" not in by_name["Every five"]

    # A schedule is a condition of a rule; the pulse can only start one.
    page.get_by_role("tab", name="Rules").click()
    page.get_by_role("button", name="+ Add a rule").click()
    dialog = page.get_by_role("dialog", name="Add a rule")
    dialog.get_by_label("Name", exact=True).fill("Evening lamp")
    dialog.get_by_label("Condition 1", exact=True).select_option(label="Scheduled event")
    condition = dialog.get_by_role("group", name="Condition 1")
    schedule_id = [e.findtext("aev:EventID", namespaces=NS) for e in events
                   if e.findtext("aev:Name", namespaces=NS) == "Evening"][0]
    condition.get_by_label("Schedule", exact=True).select_option(label="Evening")
    dialog.get_by_label("Action", exact=True).select_option(label="Toggle I/O once")
    dialog.get_by_label("Duration (s)").fill("60")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(page.locator('tr[data-rule="Evening lamp"]')).to_contain_text("Scheduled event: Evening")
    rule = soap(w401, "<aa:GetActionRules/>").find("aa:ActionRules/aa:ActionRule", NS)
    assert rule.find("aa:StartEvent", NS) is None
    assert rule.findtext("aa:Conditions/aa:Condition/wsnt:TopicExpression", namespaces=NS) == \
        "tns1:UserAlarm/tnsaxis:Recurring/Interval"
    assert f'@Name="id" and @Value="{schedule_id}"' in rule.findtext("aa:Conditions/aa:Condition/wsnt:MessageContent",
                                                                     namespaces=NS)

    # A schedule in use cannot be removed; the device says why.
    page.get_by_role("tab", name="Schedules").click()
    page.get_by_role("button", name="Delete schedule Evening").click()
    page.get_by_role("dialog", name="Delete schedule").get_by_role("button", name="Delete").click()
    expect(page.get_by_role("alert")).to_contain_text("is used by rule")
    page.get_by_role("button", name="Delete schedule Every five").click()
    page.get_by_role("dialog", name="Delete schedule").get_by_role("button", name="Delete").click()
    expect(page.locator('tr[data-schedule="Every five"]')).to_have_count(0)


# -- manual triggers, and what operators and viewers see ----------------------------------------
def test_manual_triggers_and_roles(w401: LiveDevice, browser: Browser) -> None:
    add_account(w401, "op", "oper1234", "operator:viewer")
    add_account(w401, "guest", "view1234", "viewer")
    operator = Session(browser)
    try:
        page = operator.page
        log_in(page, w401, "op", "oper1234")
        assert nav_links(page) == ["Status", "Events", "Accessories", "Plain config"]
        open_page(page, "Events")
        expect(page.get_by_text("There are no rules yet.")).to_be_visible()
        expect(page.get_by_role("button", name="+ Add a rule")).to_have_count(0)
        page.get_by_role("tab", name="Manual triggers").click()
        trigger = page.get_by_role("button", name="Virtual input 3", exact=True)
        expect(trigger).to_have_attribute("aria-pressed", "false")
        trigger.click()
        expect(trigger).to_have_attribute("aria-pressed", "true")
        r = httpx.post(w401.http + "/axis-cgi/virtualinput/deactivate.cgi", auth=digest(),
                       data={"schemaversion": "1", "port": "3"})
        assert "<StateChanged>true</StateChanged>" in r.text  # the browser's click had activated it
        expect(trigger).to_have_attribute("aria-pressed", "false")  # live: the stream told the page

        # Operators switch outputs but do not configure ports.
        open_page(page, "Accessories")
        expect(page.get_by_label("Name of port 1")).to_have_count(0)
        page.get_by_role("button", name="Activate port 9 (Relay)").click()
        expect(page.get_by_role("button", name="Deactivate port 9 (Relay)")).to_be_visible()
        assert get_ports(w401)["8"]["state"] == "closed"
    finally:
        operator.close()

    viewer = Session(browser)
    try:
        page = viewer.page
        log_in(page, w401, "guest", "view1234")
        assert nav_links(page) == ["Status", "Accessories"]
        open_page(page, "Accessories")
        relay = page.locator('tr[data-port="8"]')
        expect(relay.locator(".io-state")).to_have_attribute("data-active", "true")
        expect(relay.get_by_role("button")).to_have_count(0)
    finally:
        viewer.close()


# -- MQTT against a real broker ------------------------------------------------------------------
def test_mqtt_client_connects_and_reports_failures(w401: LiveDevice, session: Session, broker: Broker) -> None:
    page = session.page
    log_in(page, w401)
    open_page(page, "MQTT")
    status = page.locator("#mqtt-status")
    expect(status).to_contain_text("turned off")
    form = page.locator("#mqtt-broker-form")
    protocol = form.get_by_label("Protocol", exact=True)
    port = form.get_by_label("Port", exact=True)
    protocol.select_option(label="MQTT over SSL")
    expect(port).to_have_value("8883")
    expect(form.get_by_label("ALPN protocol")).to_be_visible()
    protocol.select_option(label="MQTT over TCP")
    expect(port).to_have_value("1883")
    expect(form.get_by_label("ALPN protocol")).to_be_hidden()

    form.get_by_label("Host").fill("127.0.0.1")
    port.fill(str(broker.tcp))
    form.get_by_label("Username").fill(USER)
    form.get_by_label("Password", exact=True).fill("not-the-password")
    form.get_by_label("Client ID").fill("Port 1")
    form.get_by_role("button", name="Save").click()
    expect(form.locator(".message.ok")).to_contain_text("saved")
    page.get_by_role("button", name="Connect").click()
    expect(status).to_have_attribute("data-state", re.compile("failed|disconnected"))
    expect(status).to_contain_text(re.compile("refused|not authori[sz]ed|password", re.I))
    shot(page, "mqtt-failed")

    form.get_by_label("Password", exact=True).fill(PASSWORD)
    form.get_by_role("button", name="Save").click()
    expect(status).to_have_attribute("data-state", "connected")
    expect(status).to_contain_text(f"Connected to 127.0.0.1:{broker.tcp}")
    shot(page, "mqtt-connected")

    # Publication and a subscription are saved through event.cgi.
    page.get_by_role("button", name="+ Add condition").click()
    page.get_by_label("Condition 1", exact=True).select_option(label="I/O: Digital I/O port")
    page.get_by_label("Retain of condition 1").select_option("property")
    page.locator("#mqtt-publication-card").get_by_role("button", name="Save").click()
    expect(page.locator("#mqtt-publication-card .message.ok")).to_be_visible()
    page.get_by_role("button", name="+ Add subscription").click()
    page.get_by_label("Subscription filter 1").fill("Motion")
    page.get_by_label("Subscription type 1").select_option("stateful")
    page.locator("#mqtt-subscriptions-card").get_by_role("button", name="Save").click()
    expect(page.locator("#mqtt-subscriptions-card .message.ok")).to_be_visible()
    r = httpx.post(w401.http + "/axis-cgi/mqtt/event.cgi", auth=digest(),
                   json={"apiVersion": "1.2", "method": "getEventPublicationConfig"})
    assert r.json()["data"]["eventPublicationConfig"]["eventFilterList"] == [
        {"topicFilter": "onvif:Device/axis:IO/Port", "qos": 0, "retain": "property"}]
    r = httpx.post(w401.http + "/axis-cgi/mqtt/event.cgi", auth=digest(),
                   json={"apiVersion": "1.2", "method": "getMqttSubscriptionConfig"})
    assert r.json()["data"]["mqttSubscriptionConfig"]["mqttFilterList"] == [
        {"topicFilter": "Motion", "useDeviceTopicPrefix": False, "qos": 0, "isStateData": True}]

    page.get_by_role("button", name="Disconnect").click()
    expect(status).to_contain_text("turned off")


# -- every page in both themes ---------------------------------------------------------------------
def seed(server: LiveDevice) -> None:
    """A few rules, recipients and schedules through the API, so that the pages have lists to show."""
    soap(server, "<aev:AddScheduledEvent><aev:NewScheduledEvent><aev:Name>Office hours</aev:Name><aev:Schedule>"
                 "<aev:ICalendar>BEGIN:VEVENT\nDTSTART:20250106T080000\nDTEND:20250106T170000\n"
                 "RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR\nEND:VEVENT</aev:ICalendar></aev:Schedule>"
                 "</aev:NewScheduledEvent></aev:AddScheduledEvent>")
    recipient = soap(server, add_recipient_xml("com.axis.recipient.smtp", {
        "email_to": "guard@example.com", "email_from": "w401@example.com", "host": "mail.example.com",
        "port": "587", "encryption": "tls"}, "Guard mail")).findtext("aa:ConfigurationID", namespaces=NS)
    soap(server, add_recipient_xml("com.axis.recipient.http", {"upload_url": "http://192.0.2.10/cgi-bin/notify.cgi"},
                                   "Control room"))
    lamp = soap(server, add_action_xml("com.axis.action.unlimited.io.toggle", {"port": "8", "state": "high"}, "Lamp"))
    soap(server, add_rule_xml("Window sensor", int(lamp.findtext("aa:ConfigurationID", namespaces=NS)),
                              start=("tns1:Device/Trigger/DigitalInput", item_filter(InputToken="0", LogicalState="true"))))
    mail = soap(server, add_action_xml("com.axis.action.fixed.notification.smtp", {
        "recipient_id": recipient, "subject": "Tampering on input {source.port}", "message": "Check the wiring."}))
    soap(server, add_rule_xml("Tampering", int(mail.findtext("aa:ConfigurationID", namespaces=NS)), enabled=False,
                              conditions=(("tns1:Device/tnsaxis:IO/SupervisedPort", item_filter(port="1", tampered="1")),
                                          ("tns1:UserAlarm/tnsaxis:Recurring/Interval",
                                           item_filter(id="S0", active="0"))), timeout="PT30S"))
    soap(server, "<aev:ChangeVirtualInputState><aev:port>2</aev:port><aev:active>true</aev:active>"
                 "</aev:ChangeVirtualInputState>")
    simulate_input(server, 0, "closed")


def test_pages_in_both_themes(w401: LiveDevice, session: Session) -> None:
    seed(w401)
    page = session.page
    log_in(page, w401)
    for theme in ("light", "dark"):
        set_theme(page, theme)
        open_page(page, "Events")
        expect(page.locator('tr[data-rule="Tampering"]')).to_contain_text(
            "Supervised input: Port 1 (I/O 1), tampering active")
        expect(page.locator('tr[data-rule="Tampering"]')).to_contain_text("Scheduled event: Office hours, inactive")
        expect(page.locator('tr[data-rule="Tampering"]')).to_contain_text("Send notification to email (to Guard mail")
        expect(page.get_by_role("switch", name="Rule Tampering on")).not_to_be_checked()
        for tab in ("Rules", "Schedules", "Recipients", "Manual triggers"):
            page.get_by_role("tab", name=tab).click()
            expect(page.get_by_role("heading", name=tab, level=2)).to_be_visible()
            if tab == "Manual triggers":
                expect(page.get_by_role("button", name="Virtual input 2", exact=True)).to_have_attribute(
                    "aria-pressed", "true")
            else:
                expect(page.locator("#page-events table")).to_be_visible()
            shot(page, f"events-{tab.lower().replace(' ', '-')}-{theme}")
        page.get_by_role("tab", name="Rules").click()
        page.get_by_role("button", name="Edit rule Tampering").click()
        dialog = page.get_by_role("dialog", name="Edit rule Tampering")
        expect(dialog.get_by_label("Condition 2", exact=True)).to_have_value("tns1:UserAlarm/tnsaxis:Recurring/Interval")
        expect(dialog.get_by_role("group", name="Condition 2").get_by_label("Invert this condition")).to_be_checked()
        expect(dialog.get_by_label("Wait between actions")).to_have_value("00:00:30")
        expect(dialog.get_by_label("Subject")).to_have_value("Tampering on input {source.port}")
        SHOTS.mkdir(parents=True, exist_ok=True)
        dialog.screenshot(path=str(SHOTS / f"rule-edit-{theme}.png"))
        dialog.get_by_role("button", name="Cancel").click()
        page.get_by_role("button", name="+ Add a rule").click()
        dialog = page.get_by_role("dialog", name="Add a rule")
        dialog.get_by_label("Condition 1", exact=True).select_option(label="Supervised input")
        dialog.get_by_label("Action", exact=True).select_option(label="Send MQTT publish message")
        SHOTS.mkdir(parents=True, exist_ok=True)
        dialog.screenshot(path=str(SHOTS / f"rule-editor-{theme}.png"))
        dialog.get_by_role("button", name="Cancel").click()
        page.get_by_role("tab", name="Recipients").click()
        page.get_by_role("button", name="+ Add a recipient").click()
        dialog = page.get_by_role("dialog", name="Add a recipient")
        dialog.get_by_label("Type", exact=True).select_option(label="SFTP")
        dialog.screenshot(path=str(SHOTS / f"recipient-sftp-{theme}.png"))
        dialog.get_by_label("Type", exact=True).select_option(label="HTTPS")
        dialog.get_by_label("Use a proxy").check()
        dialog.screenshot(path=str(SHOTS / f"recipient-https-{theme}.png"))
        dialog.get_by_role("button", name="Cancel").click()
        page.get_by_role("tab", name="Schedules").click()
        page.get_by_role("button", name="+ Add a schedule").click()
        dialog = page.get_by_role("dialog", name="Add a schedule")
        dialog.screenshot(path=str(SHOTS / f"schedule-dialog-{theme}.png"))
        dialog.get_by_role("button", name="Cancel").click()
        open_page(page, "Accessories")
        expect(page.locator("#io-live")).to_have_text("Live")
        shot(page, f"accessories-{theme}")
        open_page(page, "MQTT")
        expect(page.locator("#mqtt-status")).to_contain_text("turned off")
        shot(page, f"mqtt-{theme}")
