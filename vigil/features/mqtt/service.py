"""The MQTT client service: one connection to a broker, kept while the client is active.

- Settings persist in the key-value table (`mqtt.*`), the password encrypted under the device
  key; every change is audited. An active client stays active across restarts.
- The connection loop connects, announces (connect message; the LWT is registered with the
  broker), subscribes, publishes, and on loss reconnects with back-off (1 s doubling to 60 s)
  when autoReconnect is on. The status tells the truth: connected, connecting, failed (with
  the reason: dns, refused, timeout, auth, tls, websocket, proxy, network, broker, config) or
  disconnected.
- Event publication subscribes to the bus and only enqueues: a bounded queue feeds the
  connection, so the bus never waits for the network. Events are dropped (counted, logged)
  while not connected or when the queue is full; on every connection the current state of
  the matching properties is published again, so retained topics catch up.
- Subscriptions turn received messages into `tnsaxis:MQTT/Message/Stateless` or `.../Stateful`
  events (source: the subscription filter and whether the device prefix applies; data: the
  payload, the property state for stateful ones), for rules to use.
- The rule action "Send MQTT publish message" (com.axis.action.fixed.mqttpublish). ONVIF Profile M's event broker (AddEventBroker) is this client's broker: `broker` publishes the
  events it selects in Profile M's form (model.onvif_topic/onvif_payload) beside the VAPIX one.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import random
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiomqtt

from vigil.core.events import Event, Item, Topic
from vigil.core.proxies import PROXIES, proxies_of, tunnel
from vigil.core.registry import Key
from vigil.core.rules import ActionContext, ActionType, RuleError
from vigil.features.certificates.service import KEYSTORE
from vigil.features.eventstream.metadata import EventFilter, Probe
from vigil.features.mqtt import model
from vigil.features.mqtt.const import (
    ACTION,
    ACTION_PARAMS,
    CLIENT_STATUS,
    KV_ACTIVE,
    KV_BROKER,
    KV_CLIENT,
    KV_PASSWORD,
    KV_PUBLICATION,
    KV_SUBSCRIPTIONS,
    STATEFUL,
    STATELESS,
)
from vigil.features.mqtt.transport import ConnectFailure, classify, proxy_for, tls_context
from vigil.features.notify.templates import device_values, render

if TYPE_CHECKING:
    from vigil.device import Device

log = logging.getLogger("vigil.mqtt")
wire_log = logging.getLogger("vigil.mqtt.wire")
wire_log.setLevel(logging.CRITICAL)  # paho's chatter stays out: failures are reported as status
wire_log.propagate = False

QUEUE_SIZE = 1000
SEND_TIMEOUT = 30.0
SEND_BATCH = 200
GOODBYE_TIMEOUT = 2.0
DROP_LOG_INTERVAL = 300.0  # seconds between two warnings about dropped events; stats count them all
TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


@dataclass
class Outgoing:
    topic: str
    payload: str | bytes
    qos: int
    retain: bool
    done: asyncio.Future | None = None


@dataclass
class Stats:
    published: int = 0
    received: int = 0
    dropped: int = 0
    oversize: int = 0
    attempts: int = 0
    connects: int = 0
    _unlogged_drops: int = 0
    _last_drop_log: float = 0.0

    def to_json(self, queued: int) -> dict[str, int]:
        return {"published": self.published, "received": self.received, "dropped": self.dropped,
                "oversizeReceived": self.oversize, "connectAttempts": self.attempts, "connects": self.connects,
                "queued": queued}


def _iso(when: float) -> str:
    return dt.datetime.fromtimestamp(when, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class MqttService:
    def __init__(self, device: Device) -> None:
        self.device = device
        self.store = device.store
        self.vault = device.vault
        self.bus = device.events
        self.logs = device.logs
        self.clock = device.clock
        self.serial = device.identity.serial
        self.backoff_min = 1.0
        self.backoff_max = 60.0
        self.stats = Stats()
        self.connection = "disconnected"  # connected | connecting | failed | disconnected
        self.failure: ConnectFailure | None = None
        self.retry_at: float | None = None  # monotonic
        self.connected_since: float | None = None
        self.subscription_errors: dict[str, str] = {}
        self._load()
        self._queue: asyncio.Queue[Outgoing] = asyncio.Queue(maxsize=QUEUE_SIZE)
        self._wake = asyncio.Event()
        self._subs_changed = asyncio.Event()
        self._connected = asyncio.Event()
        self._client: aiomqtt.Client | None = None
        self._subscribed: dict[str, int] = {}
        self._delay = 0.0
        self._running = False
        self._last_logged_failure = ""
        self.bus.subscribe(self._on_event)

    # -- persistence ---------------------------------------------------------------------
    def _kv_json(self, key: str, default: Any) -> Any:
        raw = self.store.get_kv(key)
        if raw is None:
            return default
        try:
            return json.loads(raw)
        except ValueError:
            log.warning("stored MQTT setting %s is unreadable; using the default", key)
            return default

    def _load(self) -> None:
        config = model.default_client(self.serial)
        config.update(self._kv_json(KV_CLIENT, {}))
        self.config: dict[str, Any] = config
        self._password = ""
        blob = self.store.get_kv(KV_PASSWORD)
        if blob:
            try:
                self._password = self.vault.decrypt(bytes.fromhex(blob))
            except Exception:  # noqa: BLE001 - a key change must not stop the device
                log.warning("the stored MQTT password cannot be decrypted; it is cleared")
        self.active = self.store.get_kv(KV_ACTIVE) == "1"
        publication = model.default_publication()
        publication.update(self._kv_json(KV_PUBLICATION, {}))
        self.publication: dict[str, Any] = publication
        self._filters = [model.PublicationFilter.compile(f) for f in publication["eventFilterList"]]
        self.subscriptions: list[dict[str, Any]] = self._kv_json(KV_SUBSCRIPTIONS, [])
        self.broker: dict[str, Any] | None = self._kv_json(KV_BROKER, None)
        self._broker_filter = EventFilter(self.broker["topic"], self.broker["content"]) if self.broker else None

    # -- declarations -----------------------------------------------------------------------
    def declare(self) -> None:
        """Declare the MQTT event topics and publish their initial states (device start)."""
        self.bus.declare(Topic(CLIENT_STATUS, "MQTT client status", True, (),
                               (Item("connected", "xsd:boolean", "Connected", state=True),
                                Item("active", "xsd:boolean", "Active"))))
        self._declare_messages()
        self._publish_status()
        for sub in self.subscriptions:
            if sub["isStateData"]:
                self.bus.publish(STATEFUL, self._source(sub), {"mqtt-payload": ""})

    def _declare_messages(self) -> None:
        for topic, nice, stateful in ((STATELESS, "MQTT stateless message", False),
                                      (STATEFUL, "MQTT stateful message", True)):
            filters = tuple(dict.fromkeys(s["topicFilter"] for s in self.subscriptions
                                          if s["isStateData"] == stateful))
            self.bus.declare(Topic(topic, nice, stateful,
                                   (Item("mqtt-topic", "xsd:string", "Subscription filter", filters),
                                    Item("device-prefix", "xsd:boolean", "Use device topic prefix", ("0", "1"))),
                                   (Item("mqtt-payload", "xsd:string", "Payload", state=stateful),)))

    @staticmethod
    def _source(sub: Mapping[str, Any]) -> dict[str, str]:
        return {"mqtt-topic": sub["topicFilter"], "device-prefix": "1" if sub["useDeviceTopicPrefix"] else "0"}

    def _publish_status(self) -> None:
        if self.bus.topic(CLIENT_STATUS) is None:
            return
        self.bus.publish(CLIENT_STATUS, {}, {"connected": "1" if self.connection == "connected" else "0",
                                             "active": "1" if self.active else "0"})

    # -- configuration -------------------------------------------------------------------------
    @property
    def has_password(self) -> bool:
        return bool(self._password)

    def configure_client(self, config: dict[str, Any], password: str | None, actor: str) -> None:
        """Store a new client configuration (password None: keep the stored one); an active
        client reconnects with it."""
        self.config = config
        if password is not None:
            self._password = password
        with self.store.transaction() as db:
            db.execute("INSERT OR REPLACE INTO kv(key, value) VALUES(?, ?)", (KV_CLIENT, json.dumps(config)))
            db.execute("INSERT OR REPLACE INTO kv(key, value) VALUES(?, ?)",
                       (KV_PASSWORD, self.vault.encrypt(self._password).hex() if self._password else ""))
        server = config["server"]
        self.logs.audit(actor, f"configured the MQTT client: {server['protocol']}://{server['host']}:{server['port']}"
                               f" client id {config['clientId']!r}"
                               f"{', password changed' if password is not None else ''}", "mqtt")
        self.failure = None
        self._wake.set()

    def set_active(self, active: bool, actor: str) -> None:
        self.active = active
        self.store.set_kv(KV_ACTIVE, "1" if active else "0")
        self.logs.audit(actor, f"{'activated' if active else 'deactivated'} the MQTT client", "mqtt")
        if not active:
            self.failure = None
        self._publish_status()
        self._wake.set()

    def configure_publication(self, publication: dict[str, Any], actor: str) -> None:
        self.publication = publication
        self._filters = [model.PublicationFilter.compile(f) for f in publication["eventFilterList"]]
        self.store.set_kv(KV_PUBLICATION, json.dumps(publication))
        self.logs.audit(actor, f"configured MQTT event publication: {len(publication['eventFilterList'])} "
                               f"filter(s), topic prefix {publication['topicPrefix']}", "mqtt")
        if self.connection == "connected":
            self._publish_states()

    def configure_broker(self, broker: dict[str, Any] | None, actor: str) -> None:
        """Publish events as ONVIF's event broker (topicPrefix, topic, content, qos), or stop (None)."""
        self._broker_filter = EventFilter(broker["topic"], broker["content"]) if broker else None
        self.broker = broker
        self.store.set_kv(KV_BROKER, json.dumps(broker))
        self.logs.audit(actor, f"set the ONVIF event broker publication: {broker}" if broker else
                        "removed the ONVIF event broker publication", "mqtt")
        if broker and self.connection == "connected":
            self._publish_states()

    def configure_subscriptions(self, subscriptions: list[dict[str, Any]], actor: str) -> None:
        before = self.subscriptions
        self.subscriptions = subscriptions
        self.store.set_kv(KV_SUBSCRIPTIONS, json.dumps(subscriptions))
        self.logs.audit(actor, f"configured MQTT subscriptions: "
                               f"{', '.join(s['topicFilter'] for s in subscriptions) or 'none'}", "mqtt")
        self._declare_messages()
        keys = {(s["topicFilter"], s["useDeviceTopicPrefix"]) for s in subscriptions if s["isStateData"]}
        for sub in before:
            if sub["isStateData"] and (sub["topicFilter"], sub["useDeviceTopicPrefix"]) not in keys:
                self.bus.delete(STATEFUL, self._source(sub))
        for sub in subscriptions:
            if sub["isStateData"] and self.bus.state(STATEFUL, self._source(sub)) is None:
                self.bus.publish(STATEFUL, self._source(sub), {"mqtt-payload": ""})
        self._subs_changed.set()

    # -- status --------------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "state": "active" if self.active else "inactive",
            "connectionStatus": "connected" if self.connection == "connected" else "disconnected",
            "connectionState": self.connection,
        }
        if self.failure is not None:
            out["failure"] = {"reason": self.failure.reason, "message": self.failure.message}
        if self.retry_at is not None:
            out["retryIn"] = round(max(0.0, self.retry_at - time.monotonic()), 1)
        if self.connected_since is not None and self.connection == "connected":
            out["connectedSince"] = _iso(self.connected_since)
        if self.subscription_errors:
            out["subscriptionErrors"] = dict(self.subscription_errors)
        out["statistics"] = self.stats.to_json(self._queue.qsize())
        return out

    def _set_connection(self, state: str) -> None:
        self.connection = state
        if state == "connected":
            self._connected.set()
        else:
            self._connected.clear()
        self._publish_status()

    def _fail(self, failure: ConnectFailure, state: str = "failed") -> None:
        self.failure = failure
        self._set_connection(state)
        if failure.message != self._last_logged_failure:
            self._last_logged_failure = failure.message
            self.logs.system(f"MQTT: {failure.message}", "warning", "mqtt")

    # -- the connection loop ----------------------------------------------------------------------
    async def run(self) -> None:
        """Keep the client connected while it is active (a device service)."""
        if self._running:
            return
        self._running = True
        try:
            while True:
                if (this := asyncio.current_task()) and this.cancelling():  # aiomqtt's wait_for swallowed it
                    raise asyncio.CancelledError
                self._wake.clear()
                if not self.active:
                    self._set_connection("disconnected")
                    await self._wake.wait()
                    self._delay = 0.0
                    continue
                if not self.config["server"]["host"]:
                    self._fail(ConnectFailure("config", "No broker host is configured"))
                    await self._wake.wait()
                    continue
                try:
                    ended = await self._session()
                except Exception as err:  # noqa: BLE001 - the client must outlive any bug of its own
                    log.exception("MQTT session failed")
                    self._fail(ConnectFailure("internal", f"Internal error: {err}"))
                    ended = "failed"
                if ended == "changed" or self._wake.is_set():
                    self._delay = 0.0
                    continue
                if not self.config["autoReconnect"]:
                    await self._wake.wait()
                    continue
                self._delay = self.backoff_min if ended == "lost" or not self._delay \
                    else min(self._delay * 2, self.backoff_max)
                delay = self._delay * random.uniform(0.9, 1.1)
                self.retry_at = time.monotonic() + delay
                # asyncio.timeout, not wait_for, here and below: on Python 3.11 wait_for can
                # swallow a cancellation that comes as its awaitable finishes, and the device
                # would then wait forever for this loop to stop.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._wake.wait()
                self.retry_at = None
        finally:
            self._running = False
            self.retry_at = None

    async def _connect(self, config: Mapping[str, Any], password: str) -> aiomqtt.Client:
        server = config["server"]
        host, port, protocol = server["host"], server["port"], server["protocol"]
        timeout = float(config["connectTimeout"])
        # The broker's own proxy setting, else the device's global proxies (System > Network).
        own = proxy_for(config)
        fallback = proxies_of(self.device.features.get(PROXIES)).for_host(host, protocol in ("ssl", "wss"))
        proxy = own or (fallback.with_credentials() if fallback else "")
        loop = asyncio.get_running_loop()
        if not proxy:  # name the DNS failure precisely before the connect hides it
            try:
                async with asyncio.timeout(timeout):
                    await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except socket.gaierror as err:
                raise ConnectFailure("dns", f"Cannot resolve the broker host {host!r}: {err.strerror}") from None
            except TimeoutError:
                raise ConnectFailure("dns", f"Resolving the broker host {host!r} timed out") from None
        tls = tls_context(config["ssl"], server["alpnProtocol"], self.device.features[KEYSTORE]) \
            if protocol in ("ssl", "wss") else None
        will = model.announcement(config, "lastWillTestament", self.serial, None)
        websocket = protocol in ("ws", "wss")
        client = aiomqtt.Client(
            host, port,
            username=config["username"] or None,
            password=(password or None) if config["username"] else None,
            identifier=config["clientId"],
            clean_session=config["cleanSession"],
            transport="websockets" if websocket else "tcp",
            websocket_path="/" + server["basepath"].lstrip("/") if websocket else None,
            tls_context=tls,
            keepalive=config["keepAliveInterval"],
            timeout=timeout,
            will=aiomqtt.Will(*will) if will else None,
            max_queued_incoming_messages=QUEUE_SIZE,
            logger=wire_log,
        )
        paho = client._client  # noqa: SLF001 - aiomqtt exposes neither connect_timeout nor the socket factory
        paho.connect_timeout = timeout
        if proxy:
            paho._create_socket_connection = lambda: tunnel(proxy, host, port, timeout)  # noqa: SLF001
        try:
            async with asyncio.timeout(timeout + 1):
                await client.__aenter__()
        except asyncio.CancelledError:
            self._discard(client)
            raise
        except Exception as err:  # noqa: BLE001 - every failure becomes a reason in the status
            self._discard(client)
            raise classify(err, host, port) from None
        return client

    @staticmethod
    def _discard(client: aiomqtt.Client) -> None:
        """Close the socket of a client whose connection attempt failed (or ended), including
        one that a connect thread still running after a timeout opens later."""
        with contextlib.suppress(Exception):
            paho = client._client  # noqa: SLF001
            paho.on_socket_open = lambda _client, _userdata, sock: sock.close()
            sock = paho.socket()
            if sock is not None:
                paho._sock_close()  # noqa: SLF001
        with contextlib.suppress(Exception):
            if client._lock.locked():  # noqa: SLF001
                client._lock.release()  # noqa: SLF001
        with contextlib.suppress(BaseException):  # mark a disconnect error as seen
            gone = client._disconnected  # noqa: SLF001
            if gone.done() and not gone.cancelled():
                gone.exception()

    async def _session(self) -> str:
        """One connection, from attempt to end: returns failed, lost or changed."""
        config, password = self.config, self._password
        self._set_connection("connecting")
        self.stats.attempts += 1
        try:
            client = await self._connect(config, password)
        except ConnectFailure as failure:
            self._fail(failure)
            return "failed"
        self._client = client
        self._delay = 0.0
        self.failure = None
        self._last_logged_failure = ""
        self.connected_since = self.clock.time()
        self.stats.connects += 1
        server = config["server"]
        self.logs.system(f"MQTT: connected to {server['protocol']}://{server['host']}:{server['port']} "
                         f"as {config['clientId']!r}", "info", "mqtt")
        self._set_connection("connected")
        tasks: list[asyncio.Task] = []
        ended = "lost"
        try:
            hello = model.announcement(config, "connectMessage", self.serial, self.clock.time())
            if hello:
                await client.publish(hello[0], hello[1], qos=hello[2], retain=hello[3], timeout=SEND_TIMEOUT)
            self._subs_changed.clear()
            self._subscribed = {}
            await self._sync_subscriptions(client)
            self._publish_states()
            receiver = asyncio.ensure_future(self._receive(client))
            sender = asyncio.ensure_future(self._send(client))
            tasks = [receiver, sender]
            while True:
                wake = asyncio.ensure_future(self._wake.wait())
                subs = asyncio.ensure_future(self._subs_changed.wait())
                try:
                    done, _ = await asyncio.wait([receiver, sender, wake, subs],
                                                 return_when=asyncio.FIRST_COMPLETED)
                finally:
                    wake.cancel()
                    subs.cancel()
                if receiver in done or sender in done:
                    finished = receiver if receiver in done else sender
                    err = finished.exception() if not finished.cancelled() else None
                    self._lost(err)
                    break
                if wake in done:
                    ended = "changed"
                    await self._goodbye(client, config)
                    break
                self._subs_changed.clear()
                await self._sync_subscriptions(client)
        except asyncio.CancelledError:
            with contextlib.suppress(BaseException):
                await self._goodbye(client, config)
            raise
        except aiomqtt.MqttError as err:
            self._lost(err)
        finally:
            for task in tasks:
                task.cancel()
            self._client = None
            self._flush_queue()
            # Exception, not BaseException: a cancellation (the device stops) must go on out,
            # or the connection loop would take it for a lost connection and start again.
            with contextlib.suppress(Exception):
                async with asyncio.timeout(GOODBYE_TIMEOUT):
                    await client.__aexit__(None, None, None)
            self._discard(client)
            if self.connection == "connected":
                self._set_connection("disconnected")
            self.connected_since = None
        return ended

    def _lost(self, err: BaseException | None) -> None:
        detail = str(err) if err is not None else "the connection ended"
        self._fail(ConnectFailure("lost", f"Connection to the broker lost: {detail}"), "disconnected")

    async def _goodbye(self, client: aiomqtt.Client, config: Mapping[str, Any]) -> None:
        """An intentional disconnect: the disconnect message, then DISCONNECT (no LWT)."""
        bye = model.announcement(config, "disconnectMessage", self.serial, self.clock.time())
        if bye:
            with contextlib.suppress(Exception):
                await client.publish(bye[0], bye[1], qos=bye[2], retain=bye[3], timeout=GOODBYE_TIMEOUT)
        self.logs.system("MQTT: disconnected from the broker", "info", "mqtt")

    # -- subscriptions ----------------------------------------------------------------------------
    def _wanted_filters(self) -> dict[str, int]:
        wanted: dict[str, int] = {}
        prefix = self.config["deviceTopicPrefix"]
        for sub in self.subscriptions:
            topic_filter = model.full_filter(sub, prefix)
            wanted[topic_filter] = max(wanted.get(topic_filter, 0), sub["qos"])
        return wanted

    async def _sync_subscriptions(self, client: aiomqtt.Client) -> None:
        wanted = self._wanted_filters()
        gone = [f for f in self._subscribed if f not in wanted]
        if gone:
            await client.unsubscribe(gone, timeout=SEND_TIMEOUT)
            for f in gone:
                self._subscribed.pop(f, None)
                self.subscription_errors.pop(f, None)
        new = [(f, q) for f, q in wanted.items() if self._subscribed.get(f) != q]
        if not new:
            return
        codes = await client.subscribe(new, timeout=SEND_TIMEOUT)
        for (topic_filter, qos), code in zip(new, codes, strict=False):
            value = getattr(code, "value", code)
            if isinstance(value, int) and value >= 128:
                self.subscription_errors[topic_filter] = f"refused by the broker ({code})"
                self.logs.system(f"MQTT: the broker refused the subscription {topic_filter!r}", "warning", "mqtt")
            else:
                self.subscription_errors.pop(topic_filter, None)
            self._subscribed[topic_filter] = qos

    async def _receive(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            self._on_message(message.topic.value, message.payload)

    def _on_message(self, topic: str, payload: Any) -> None:
        self.stats.received += 1
        if isinstance(payload, str):
            payload = payload.encode()
        elif payload is None:
            payload = b""
        elif not isinstance(payload, (bytes, bytearray)):
            payload = str(payload).encode()
        if len(payload) > model.MAX_PAYLOAD:
            self.stats.oversize += 1
            log.warning("MQTT message on %r dropped: %d bytes exceeds the %d byte limit for events",
                        topic[:200], len(payload), model.MAX_PAYLOAD)
            return
        text = bytes(payload).decode("utf-8", errors="replace")
        prefix = self.config["deviceTopicPrefix"]
        for sub in self.subscriptions:
            if model.matches(model.full_filter(sub, prefix), topic):
                self.bus.publish(STATEFUL if sub["isStateData"] else STATELESS, self._source(sub),
                                 {"mqtt-payload": text})

    # -- publishing -------------------------------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        """Bus subscriber: never waits; enqueues or drops."""
        if self._broker_filter is not None and self._broker_filter.matches(event, Probe(event)):
            self._enqueue_broker(event)
        if not self._filters or event.operation == "Deleted":
            return
        matched = [f for f in self._filters if f.matches(event.topic)]
        if not matched:
            return
        if self.connection != "connected":
            self._drop(len(matched), "the client is not connected")
            return
        self._enqueue_event(event, matched)

    def _enqueue_event(self, event: Event, matched: list[model.PublicationFilter]) -> None:
        publication = self.publication
        topic = model.event_topic(publication, self.config["deviceTopicPrefix"], event.topic)
        payload = model.event_payload(event, self.serial if publication["includeSerialNumberInPayload"] else None)
        for f in matched:
            try:
                self._queue.put_nowait(Outgoing(topic, payload, f.qos, model.retained(f.retain, event)))
            except asyncio.QueueFull:
                self._drop(1, "the publish queue is full")

    def _enqueue_broker(self, event: Event) -> None:
        """An event in Profile M's form (properties retained)."""
        if self.connection != "connected" or self.broker is None:
            self._drop(1, "the client is not connected")
            return
        declared = self.bus.topic(event.topic)
        topic = model.onvif_topic(self.broker["topicPrefix"], event, [i.name for i in declared.source] if declared
                                  else ())
        try:
            self._queue.put_nowait(Outgoing(topic, model.onvif_payload(event), self.broker["qos"], event.stateful))
        except asyncio.QueueFull:
            self._drop(1, "the publish queue is full")

    def _publish_states(self) -> None:
        """Publish the current state of every property that a filter selects (on connect)."""
        for event in self.bus.properties():
            if self._broker_filter is not None and self._broker_filter.matches(event, Probe(event)):
                self._enqueue_broker(Event(event.topic, event.source, event.data, event.time, "Initialized"))
            matched = [f for f in self._filters if f.matches(event.topic)]
            if matched:
                self._enqueue_event(Event(event.topic, event.source, event.data, event.time, "Initialized"),
                                    matched)

    def _drop(self, count: int, why: str) -> None:
        stats = self.stats
        stats.dropped += count
        stats._unlogged_drops += count
        now = time.monotonic()
        if now - stats._last_drop_log >= DROP_LOG_INTERVAL:
            log.warning("MQTT: %d event message(s) dropped: %s", stats._unlogged_drops, why)
            stats._unlogged_drops = 0
            stats._last_drop_log = now

    def _flush_queue(self) -> None:
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if item.done is not None and not item.done.done():
                item.done.set_exception(RuntimeError("the connection to the broker was lost"))
            else:
                self._drop(1, "the connection to the broker was lost")

    async def _send(self, client: aiomqtt.Client) -> None:
        """Publish what the queue holds, in order. Everything queued is handed to the client in
        one go and confirmed together: one wake-up of the broker per batch, not per message."""
        paho = client._client  # noqa: SLF001 - see below
        while True:
            batch = [await self._queue.get()]
            while len(batch) < SEND_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            # All but the last message go straight to paho, which queues them in order (aiomqtt
            # would add a task, a timer and a pending-call scan per message); awaiting the last
            # one through aiomqtt confirms the batch: QoS 0 messages leave in order, and paho
            # itself completes QoS 1/2 handshakes of the earlier ones.
            for n, item in enumerate(batch):
                try:
                    if n == len(batch) - 1 or item.done is not None:
                        await client.publish(item.topic, item.payload, qos=item.qos, retain=item.retain,
                                             timeout=SEND_TIMEOUT)
                    else:
                        info = paho.publish(item.topic, item.payload, item.qos, item.retain)
                        if info.rc != 0:
                            raise aiomqtt.MqttCodeError(info.rc, "Could not publish message")
                except Exception as err:
                    for lost in batch[n:]:
                        if lost.done is not None and not lost.done.done():
                            lost.done.set_exception(RuntimeError(f"publishing failed: {err}"))
                        else:
                            self._drop(1, f"publishing failed: {err}")
                    raise
                self.stats.published += 1
                if item.done is not None and not item.done.done():
                    item.done.set_result(None)

    async def send(self, topic: str, payload: str, qos: int = 0, retain: bool = False) -> None:
        """Publish one message (the rule action). Waits briefly for a connection in progress;
        raises RuntimeError when the message cannot be published."""
        if not self.active:
            raise RuntimeError("the MQTT client is not active")
        if self.connection != "connected":
            wait = min(float(self.config["connectTimeout"]), 10.0)
            try:
                await asyncio.wait_for(self._connected.wait(), wait)
            except TimeoutError:
                reason = f": {self.failure.message}" if self.failure else ""
                raise RuntimeError(f"the MQTT client is not connected to a broker{reason}") from None
        done = asyncio.get_running_loop().create_future()
        try:
            self._queue.put_nowait(Outgoing(topic, payload, qos, retain, done))
        except asyncio.QueueFull:
            raise RuntimeError("the MQTT publish queue is full") from None
        await asyncio.wait_for(done, SEND_TIMEOUT + 5)

    # -- the rule action ------------------------------------------------------------------------
    @staticmethod
    def _action_values(params: Mapping[str, str]) -> tuple[str, int, bool, str]:
        topic = params.get("Topic", "")
        try:
            model.check_topic(topic, "The MQTT topic")
        except model.ConfigError as err:
            raise RuleError(err.message) from None
        qos_text = (params.get("QoS") or "0").strip()
        if qos_text not in ("0", "1", "2"):
            raise RuleError("The MQTT QoS must be 0, 1 or 2")
        retained = (params.get("Retained") or "").strip().lower()
        if retained not in TRUE_WORDS | FALSE_WORDS:
            raise RuleError("Retained must be true or false")
        payload = params.get("Payload", "")
        if len(payload) > model.MAX_PAYLOAD:
            raise RuleError(f"The MQTT payload is {len(payload)} characters; at most {model.MAX_PAYLOAD} are allowed")
        return topic, int(qos_text), retained in TRUE_WORDS, payload

    def action_type(self) -> ActionType:
        async def publish(ctx: ActionContext) -> None:
            topic, qos, retain, payload = self._action_values(ctx.config.params)
            await self.send(topic, render(payload, ctx.event, device_values(self.device)), qos, retain)

        return ActionType(ACTION, "Send MQTT publish message", ACTION_PARAMS, run=publish,
                          validate=lambda params: self._action_values(params) and None)


MQTT_SERVICE: Key[MqttService] = Key("mqtt")
