"""The streams, walked beside the router's endpoints: the WebSocket event stream (refused below
viewer, bad values in a configure) and the RTSP metadata server (malformed requests, bad values in
its query and headers, an anonymous DESCRIBE refused)."""

from __future__ import annotations

import asyncio
import base64
import json
from urllib.parse import quote

from bench.fuzzing.answers import Answer, Failure, Figures, LoggedExceptions, describe
from bench.fuzzing.liveness import rtsp_exchange
from bench.fuzzing.payloads import json_positions, json_set
from bench.fuzzing.requests import PLACEHOLDER, PLACEHOLDER_JSON
from bench.fuzzing.rig import ACCOUNTS, Rig
from bench.fuzzing.spec import Spec
from bench.fuzzing.targets import Target
from bench.fuzzing.values import bad_values, short
from vigil.core.roles import Role
from vigil.http.routing import Endpoint


async def fuzz_stream(rig: Rig, figures: Figures, exceptions: LoggedExceptions, sample: bool,
                      bound: float) -> None:
    """The WebSocket event stream: refusal below viewer, then bad values in a configure."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    port = rig.dev.ports.http
    target = Target(Endpoint("/vapix/ws-data-stream", None, Role.VIEWER), "ws", Role.VIEWER,  # type: ignore[arg-type]
                    Spec(), "websocket")
    uri = f"ws://127.0.0.1:{port}/vapix/ws-data-stream?sources=events"
    f = figures
    try:
        async with asyncio.timeout(bound):
            async with connect(uri, open_timeout=bound):
                f.role_violations += 1
                f.count(Failure("violation", target.label, "GET (upgrade)", uri, "anonymous", 101))
    except InvalidStatus as err:
        if err.response.status_code not in (401, 403):
            f.count(Failure("5xx" if err.response.status_code >= 500 else "violation", target.label,
                            "GET (upgrade)", uri, "anonymous", err.response.status_code))
    except Exception:  # noqa: BLE001 - closed or refused: fine
        pass
    f.requests += 1
    base = {"apiVersion": "1.0", "context": "fuzz", "method": "events:configure",
            "params": {"eventFilterList": [{"topicFilter": "tns1:Device//.", "contentFilter": "boolean(1)"}]}}
    documents = [json.dumps(base)]
    for position in json_positions(base):
        for bad in bad_values(sample):
            if bad.raw_json is not None:
                documents.append(json.dumps(json_set(base, position, PLACEHOLDER)).replace(
                    PLACEHOLDER_JSON, bad.raw_json, 1))
    documents += ["", "{", "[" * 100_000, "x" * 70_000]
    auth = "Basic " + base64.b64encode(":".join(ACCOUNTS[Role.VIEWER]).encode()).decode()
    ws = None
    for document in documents:
        f.requests += 1
        f.per_target[target.label] = f.per_target.get(target.label, 0) + 1
        before = len(exceptions.records)
        try:
            if ws is None:
                ws = await connect(uri, additional_headers={"Authorization": auth}, open_timeout=bound,
                                         max_queue=None)
            await ws.send(document)
            async with asyncio.timeout(bound):
                reply = await ws.recv()
            answer = Answer(200, "application/json", reply if isinstance(reply, str) else reply.decode(), 0.0)
            if answer.internal:
                f.internal_errors += 1
                f.count(Failure("internal", target.label, "WS message", short(document, 200), "viewer", 200,
                                answer.text[:200]))
        except TimeoutError:
            f.hangs += 1
            f.count(Failure("hang", target.label, "WS message", short(document, 200), "viewer"))
            ws = None
        except Exception:  # noqa: BLE001 - the server closed the stream: allowed, reconnect
            ws = None
        for record in exceptions.records[before:]:
            cause, where = describe(record)
            f.exceptions_logged += 1
            f.count(Failure("exception", target.label, "WS message", short(document, 200), "viewer",
                            cause=cause, where=where))
    if ws is not None:
        await ws.close()


async def fuzz_rtsp(rig: Rig, figures: Figures, exceptions: LoggedExceptions, sample: bool,
                    bound: float) -> None:
    """The RTSP server (metadata stream, live video, replay): malformed requests each get an answer
    (or a close) in time; an anonymous DESCRIBE is refused."""
    from vigil.features.eventstream.rtsp import PATH
    from vigil.features.onvif.media import REPLAY_PATH

    port, f = rig.dev.ports.rtsp, figures
    url = f"rtsp://127.0.0.1:{port}{PATH}?event=on"
    live = f"rtsp://127.0.0.1:{port}{PATH}?camera=1"
    auth = "Basic " + base64.b64encode(":".join(ACCOUNTS[Role.VIEWER]).encode()).decode()
    cases: list[tuple[str, str, bytes, str]] = [  # name, role, request, what must not happen
        ("describe", "anonymous", f"DESCRIBE {url} RTSP/1.0\r\nCSeq: 2\r\n\r\n".encode(), "200"),
        ("describe", "viewer", f"DESCRIBE {url} RTSP/1.0\r\nCSeq: 2\r\nAuthorization: {auth}\r\n\r\n".encode(), ""),
        ("describe-camera", "anonymous", f"DESCRIBE {live} RTSP/1.0\r\nCSeq: 2\r\n\r\n".encode(), "200"),
        ("describe-replay", "anonymous", f"DESCRIBE rtsp://127.0.0.1:{port}{REPLAY_PATH}?recording=recording_1 "
                                         "RTSP/1.0\r\nCSeq: 2\r\n\r\n".encode(), "200"),
        ("garbage", "anonymous", b"\x00\xff garbage \r\n\r\n", ""),
        ("no-version", "anonymous", b"OPTIONS *\r\n\r\n", ""),
        ("unknown-method", "anonymous", b"BREW * RTSP/1.0\r\nCSeq: 1\r\n\r\n", ""),
        ("huge-header", "anonymous", b"OPTIONS * RTSP/1.0\r\nX: " + b"a" * 40_000 + b"\r\n\r\n", ""),
        ("play-no-session", "viewer", f"PLAY {url} RTSP/1.0\r\nCSeq: 3\r\nAuthorization: {auth}\r\n\r\n".encode(),
         ""),
        ("bad-session", "viewer", f"PLAY {url} RTSP/1.0\r\nCSeq: 3\r\nSession: ../x\r\n\r\n".encode(), ""),
    ]
    for bad in bad_values(sample):
        if bad.text is None:
            continue
        value = quote(bad.text, safe="")
        cases.append((f"eventtopic=<{bad.label}>", "viewer", (f"DESCRIBE {url}&eventtopic={value} RTSP/1.0\r\n"
                      f"CSeq: 4\r\nAuthorization: {auth}\r\n\r\n").encode(), ""))
        for name, path, query in (("camera", PATH, f"camera={value}"),
                                  ("videocodec", PATH, f"camera=1&videocodec={value}"),
                                  ("recordingid", PATH, f"recordingid={value}"),
                                  ("recording", REPLAY_PATH, f"recording={value}")):
            cases.append((f"{name}=<{bad.label}>", "viewer", (f"DESCRIBE rtsp://127.0.0.1:{port}{path}?{query} "
                          f"RTSP/1.0\r\nCSeq: 4\r\nAuthorization: {auth}\r\n\r\n").encode(), ""))
        header_value = bad.text.replace("\r", "").replace("\n", "")[:8000]
        for header in ("CSeq", "Content-Length", "Transport", "Session", "Require"):
            method = {"Transport": "SETUP", "Require": "DESCRIBE"}.get(header, "OPTIONS")
            cases.append((f"{header}=<{bad.label}>", "viewer", (f"{method} {url} RTSP/1.0\r\nCSeq: 5\r\n"
                          f"Authorization: {auth}\r\n{header}: {header_value}\r\n\r\n").encode("utf-8", "replace"),
                          ""))
    for name, role, raw, forbidden in cases:
        f.requests += 1
        f.per_target["RTSP server"] = f.per_target.get("RTSP server", 0) + 1
        before = len(exceptions.records)
        status = await rtsp_exchange(port, raw, bound)
        shown = f"RTSP {name}"
        logged = exceptions.records[before:]
        if logged:  # the connection dropped on an unhandled exception: RTSP's internal error
            cause, where = describe(logged[-1])
            f.internal_errors += 1
            f.count(Failure("internal", "RTSP server", "RTSP", shown, role, body=status, cause=cause,
                            where=where))
        elif status == "(no answer)":
            # The server may wait for a body it was promised (Content-Length): a hang only
            # when it answers no one else either.
            alive = await rtsp_exchange(port, b"OPTIONS * RTSP/1.0\r\nCSeq: 9\r\n\r\n", bound)
            if alive.startswith("RTSP/1.0 200"):
                f.count(Failure("waits", "RTSP server", "RTSP", shown, role,
                                body=f"no answer within {bound} s; the server still answers others"))
            else:
                f.hangs += 1
                f.count(Failure("hang", "RTSP server", "RTSP", shown, role, body=alive))
        elif status.startswith("RTSP/1.0 5") and not status.startswith(("RTSP/1.0 501", "RTSP/1.0 503",
                                                                         "RTSP/1.0 505", "RTSP/1.0 551")):
            f.other_5xx += 1
            f.count(Failure("5xx", "RTSP server", "RTSP", shown, role, body=status))
        if forbidden and status.startswith(f"RTSP/1.0 {forbidden}"):
            f.role_violations += 1
            f.count(Failure("violation", "RTSP server", "RTSP", shown, role, body=status))
