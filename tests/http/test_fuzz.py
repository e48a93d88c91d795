"""The fuzz walk (bench/fuzz.py) in its bounded form, and checks that the walk itself sees what
it claims to see.

The walk covers every endpoint, JSON method and SOAP operation the router of s3016 and w401
registers and the C1410's audio and ONVIF targets (the union of all five profiles' targets), with a sample of bad values in every
parameter it reads from the handlers' source, as anonymous, viewer, operator and administrator.
A failure lists each failing request with the place at fault; `bench/fuzz.py` without
`--sample` is the long form over the five profiles.
"""

from __future__ import annotations

import time
from pathlib import Path

from bench.fuzzing.answers import Answer
from bench.fuzzing.plausible import Harvest
from bench.fuzzing.report import report
from bench.fuzzing.requests import Builder
from bench.fuzzing.targets import discover
from bench.fuzzing.values import SAMPLE_PER_TARGET
from bench.fuzzing.walk import Options, walk, walk_profile
from tests.conftest import make_device
from vigil.core.auth import Principal
from vigil.core.clock import FakeClock
from vigil.core.roles import Role
from vigil.device import Device
from vigil.http.app import create_app
from vigil.http.vapix import JsonCall, JsonMethod, first, form_args, text
from vigil.profiles import NAMES

PROFILES = ["s3016", "w401"]  # between them, every target the five profiles register but the speaker's audio
# The C1410's own targets: its audio APIs (device control, media clips, transmit, receive, speaker
# test, light) and its ONVIF services (audio configurations, device IO, and the profile and stream
# operations an audio profile answers); the rest it shares with the two.
SPEAKER_TARGETS = ("/onvif/", "/axis-cgi/audiodevicecontrol.cgi", "/vigil/sim/audio", "/axis-cgi/audio/receive.cgi",
                   "/vapix/axast", "/vigil/audio/", "/axis-cgi/siren_and_light.cgi", "/vigil/light", "clip.cgi",
                   "/audio/transmit.cgi", "/axis-cgi/sip/sip.cgi", "/audio-multicast-ctrl/")


def test_bounded_walk_finds_no_internal_error_role_violation_or_hang():
    results = walk(PROFILES, Options(sample=True, per_target=SAMPLE_PER_TARGET), jobs=2)
    for figures in results:
        assert figures.requests > 5000 and figures.endpoints > 25, f"{figures.profile}: the walk hardly ran"
        assert figures.soap_operations >= 17 and figures.json_methods > 20, f"{figures.profile}: APIs not found"
    faults = sum(r.internal_errors + r.role_violations + r.hangs + r.other_5xx for r in results)
    assert faults == 0, "\n" + report(results)


def test_bounded_walk_of_the_speakers_own_targets_finds_no_fault():
    results = [walk_profile("c1410", Options(sample=True, per_target=SAMPLE_PER_TARGET, only=only))
               for only in SPEAKER_TARGETS]
    assert all(r.endpoints for r in results) and sum(r.soap_operations for r in results) >= 40, "APIs not found"
    faults = sum(r.internal_errors + r.role_violations + r.hangs + r.other_5xx for r in results)
    assert faults == 0, "\n" + report(results)


def test_the_walked_profiles_cover_every_target_of_the_five(tmp_path: Path):
    """The bounded walk covers two profiles and the speaker's own targets: every other profile's
    targets must be among theirs."""
    labels: dict[str, set[str]] = {}
    for profile in NAMES:
        device = make_device(tmp_path / profile, FakeClock(), profile)
        try:
            create_app(device)
            labels[profile] = {t.label for t in discover(device)}
        finally:
            device.close()
    walked = set().union(*(labels[p] for p in PROFILES))
    walked |= {label for label in labels["c1410"] if any(only in label for only in SPEAKER_TARGETS)}
    for profile, own in labels.items():
        assert own <= walked, f"{profile} has targets the bounded walk misses: {sorted(own - walked)}"


def test_walk_reads_the_parameters_from_the_handlers(tmp_path: Path):
    device = make_device(tmp_path, FakeClock())
    try:
        create_app(device)
        fields = {t.label: t.spec.fields for t in discover(device)}
    finally:
        device.close()
    assert ("jobid",) in fields["/axis-cgi/disks/job.cgi"]
    maxage = fields["/axis-cgi/disks/properties/setcleanupmaxage.cgi"]
    assert ("maxage",) in maxage and "1" in maxage[("schemaversion",)].enums  # a helper's check, a closure's name
    assert ("dateTime",) in fields["/axis-cgi/time.cgi [setDateTime]"]
    assert ("source", "url") in fields["/axis-cgi/recorder.cgi [setSource]"]  # a dataclass built from the params
    assert ("mqttFilterList", "[]", "topicFilter") in fields["/axis-cgi/mqtt/event.cgi [configureMqttSubscription]"]
    rule = fields["/vapix/services [AddActionRule]"]
    assert ("NewActionRule", "ActivationTimeout") in rule
    assert rule[("NewActionRule", "StartEvent", "TopicExpression")].namespace.endswith("/wsn/b-2")


def test_device_configuration_apis_get_their_envelope_and_method(tmp_path: Path):
    """A /config/rest/ API sets with PATCH and `{"data": ...}`: the walk sends its bad values there."""
    device = make_device(tmp_path, FakeClock())
    try:
        create_app(device)
        target = next(t for t in discover(device) if t.label == "/config/rest/oidcsetup/v1")
    finally:
        device.close()
    builder = Builder(target, Harvest(), sample=True)
    sent = list(builder.extras())
    assert {r.method for r in sent} >= {"GET", "PATCH"}
    assert any(r.method == "PATCH" and r.body.startswith(b'{"data": ') and r.bad for r in sent)
    assert all(builder.request(c, None, None).body.startswith(b'{"data": ') for c in builder.contexts())


def plant_faults(device: Device) -> None:
    """Endpoints with the faults the walk must report: an unguarded conversion, a method whose
    table lets in less than it declares, and a handler that holds the event loop."""

    async def count(request, who: Principal):
        n = int(first(await form_args(request), "count") or 0)
        return text(f"{n}\n")

    async def stall(request, who: Principal):
        if len(first(await form_args(request), "note") or "") > 10_000:
            time.sleep(1.5)  # the fault itself: blocking work on the event loop
        return text("OK\n")

    async def peek(call: JsonCall, who):
        return {"secret": "s3cr3t"}

    device.router.add("/fuzz-planted/count.cgi", count, Role.OPERATOR)
    device.router.add("/fuzz-planted/stall.cgi", stall, Role.VIEWER)
    endpoint = device.router.json_api("/fuzz-planted/peek.cgi", ["1.0"], {"peek": JsonMethod(Role.VIEWER, peek)})
    endpoint.method_roles["peek"] = Role.ADMIN  # declared admin, let in for viewers


def test_walk_reports_planted_faults(tmp_path: Path):
    figures = walk_profile("w401", Options(sample=True, only="/fuzz-planted", bound=0.5, customize=plant_faults),
                           tmp_path)
    by_kind: dict[str, list] = {}
    for failure in figures.failures:
        by_kind.setdefault(failure.kind, []).append(failure)
    internal = [f for f in by_kind.get("internal", []) if f.target == "/fuzz-planted/count.cgi"]
    assert internal and "ValueError" in internal[0].cause and "count=<digits5000>" in internal[0].params
    assert internal[0].where.startswith("tests/http/test_fuzz.py")  # the place at fault
    violations = {f.role for f in by_kind.get("violation", []) if f.target == "/fuzz-planted/peek.cgi [peek]"}
    assert violations == {"viewer", "operator"}
    assert any("stall.cgi" in f.params for f in by_kind.get("hang", [])), report([figures])
    assert figures.internal_errors >= 1 and figures.role_violations >= 2 and figures.hangs >= 1


def test_answers_are_classified_in_each_api_format():
    internal = [
        Answer(200, "text/plain", "# Error: internal error, see the system log\n", 0),
        Answer(200, "application/json", '{"error": {"code": 8000, "message": "Internal error"}}', 0),
        Answer(200, "application/json", '{"error": {"code": 1100, "message": "Internal error"}}', 0),
        Answer(200, "text/xml", '<?xml version="1.0"?><root><error code="8000" description="Internal error"/></root>', 0),
        Answer(500, "application/soap+xml", "<SOAP-ENV:Text>Internal error while running X; see the system log</SOAP-ENV:Text>", 0),
    ]
    assert all(a.internal and a.error for a in internal)
    client_fault = Answer(500, "text/xml", "<SOAP-ENV:Fault><faultcode>SOAP-ENV:Client</faultcode></SOAP-ENV:Fault>", 0)
    receiver = Answer(500, "application/soap+xml", "<SOAP-ENV:Fault><SOAP-ENV:Value>SOAP-ENV:Receiver</SOAP-ENV:Value>"
                      "<SOAP-ENV:Text>Internal error while running X</SOAP-ENV:Text></SOAP-ENV:Fault>", 0)
    undelivered = Answer(500, "application/soap+xml", "<SOAP-ENV:Fault><SOAP-ENV:Value>SOAP-ENV:Receiver</SOAP-ENV:Value>"
                         "<SOAP-ENV:Text>The test message was not delivered: refused</SOAP-ENV:Text></SOAP-ENV:Fault>", 0)
    assert client_fault.soap_designed and not client_fault.internal
    assert undelivered.soap_designed and not undelivered.internal
    assert receiver.internal and not receiver.soap_designed
    refused = Answer(403, "text/plain", "Forbidden: this account may not do that\n", 0)
    assert refused.refused and refused.error
    ok = [Answer(200, "application/json", '{"apiVersion": "1.0", "data": {}}', 0),
          Answer(200, "text/plain", "root.Brand.ProdNbr=W401\r\n", 0),
          Answer(200, "text/xml", '<root><record result="OK"/></root>', 0)]
    assert not any(a.error or a.internal for a in ok)
    assert Answer(200, "text/xml", '<root><job result="ERROR" description="No such job"/></root>', 0).error
