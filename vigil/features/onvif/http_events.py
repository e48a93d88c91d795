"""The ONVIF event service (`tev`, /onvif/events_service) and its subscriptions
(/onvif/pullpoint/{id}): GetServiceCapabilities, GetEventProperties (every topic the device
declares, with its items), CreatePullPointSubscription (topic and content filters, relative or
absolute termination), PullMessages, SetSynchronizationPoint; base notification: Subscribe with
a consumer address, to which each batch of events goes as a Notify; Renew and Unsubscribe of one
subscription (`pullpoints.py` keeps them). Profile M's event broker is `http_event_broker`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
from lxml import etree
from lxml.builder import ElementMaker

from vigil.core.auth import Principal
from vigil.core.events import NAMESPACES as TOPIC_NAMESPACES
from vigil.core.events import Event, EventBus, Topic, normalize
from vigil.features.eventstream.metadata import EventFilter, FilterError
from vigil.features.onvif.const import (
    CONCRETE,
    CONCRETE_SET,
    DEFAULT_TERMINATION,
    ITEM_FILTER,
    MAX_MESSAGE_LIMIT,
    MAX_PULL_POINTS,
    MAX_PULL_TIMEOUT,
    PRE_AUTH,
    PULL_POINT_PATH,
    READ_MEDIA,
    REPLY_NAMESPACES,
    TER,
    TEV,
    TEXT_PREFIXES,
    WSA,
    WSNT,
    WSRF_RW,
    WSTOP,
)
from vigil.features.onvif.endpoint import CALL, OnvifEndpoint
from vigil.features.onvif.pullpoints import PullPoint, PullPoints, TooManySubscriptions, duration, termination
from vigil.features.onvif.xml import TT_, find, find_all, invalid, text
from vigil.http.soap import SoapFault, SoapMessage, envelope, sender

TEV_ = ElementMaker(namespace=TEV, nsmap={"tev": TEV})
WSNT_ = ElementMaker(namespace=WSNT, nsmap={"wsnt": WSNT})
WSA_ = ElementMaker(namespace=WSA, nsmap={"wsa": WSA})
TOPIC_DIALECTS = (CONCRETE_SET, CONCRETE, "http://docs.oasis-open.org/wsn/t-1/TopicExpression/Simple")
NOTIFY_ACTION = "http://docs.oasis-open.org/wsn/bw-2/NotificationConsumer/Notify"
NOTIFY_TIMEOUT = 10.0  # seconds a consumer may take to take a Notify
OUR_PREFIX = {uri: prefix for prefix, uri in TOPIC_NAMESPACES.items()}


def stamp(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def unknown_subscription() -> SoapFault:
    return sender("The subscription does not exist or has ended: subscribe again",
                  etree.QName(WSRF_RW, "ResourceUnknownFault"))


def topic_expression(element: etree._Element) -> str:
    """The request's topic expression with its prefixes turned into the device's (tns1, tnsaxis)."""
    dialect = element.get("Dialect") or CONCRETE_SET
    if dialect not in TOPIC_DIALECTS:
        raise sender(f"Topic expression dialect {dialect[:80]} is not supported",
                     etree.QName(WSNT, "TopicExpressionDialectUnknownFault"))
    expression = (element.text or "").strip()
    if len(expression) > 1024:
        raise sender("The topic expression is too long", etree.QName(WSNT, "InvalidFilterFault"))

    def ours(part: str) -> str:
        prefix, sep, rest = part.partition(":")
        if not sep:
            return part
        uri = element.nsmap.get(prefix)
        return f"{OUR_PREFIX.get(uri, prefix)}:{rest}" if uri else part

    return "|".join("/".join(ours(p) for p in alt.strip().split("/")) for alt in expression.split("|"))


def message(event: Event) -> etree._Element:
    attributes = {"UtcTime": datetime.fromtimestamp(event.time, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
    if event.operation:
        attributes["PropertyOperation"] = event.operation

    def items(tag: str, values) -> etree._Element:
        return getattr(TT_, tag)(*(TT_.SimpleItem(Name=str(k), Value=str(v)) for k, v in values.items()))

    return WSNT_.NotificationMessage(
        WSNT_.Topic(event.topic, Dialect=CONCRETE_SET),
        WSNT_.Message(TT_.Message(items("Source", event.source), items("Data", event.data), **attributes)))


def topic_set(topics: list[Topic]) -> etree._Element:
    """wstop:TopicSet: one element per topic path segment, the leaf marked as a topic and
    holding its MessageDescription."""
    root = etree.Element(f"{{{WSTOP}}}TopicSet", nsmap={"wstop": WSTOP})
    for topic in topics:
        node, namespace = root, ""
        for part in normalize(topic.topic).split("/"):
            prefix, sep, name = part.partition(":")
            if sep:
                namespace = TOPIC_NAMESPACES.get(prefix, namespace)
            else:
                name = part
            tag = f"{{{namespace}}}{name}"
            child = node.find(tag)
            if child is None:
                child = etree.SubElement(node, tag)
            node = child
        node.set(f"{{{WSTOP}}}topic", "true")
        description = TT_.MessageDescription(IsProperty="true" if topic.stateful else "false")
        for tag, items in (("Source", topic.source), ("Data", topic.data)):
            if items:
                description.append(getattr(TT_, tag)(*(TT_.SimpleItemDescription(Name=i.name, Type=i.type)
                                                        for i in items)))
        node.append(description)
    return root


def events_capabilities(brokers: Mapping[str, str] | None = None) -> etree._Element:
    """The event service's capabilities; `brokers`: the event broker's (Profile M), where there is one."""
    return TEV_.Capabilities(WSSubscriptionPolicySupport="false", WSPullPointSupport="true",
                             WSPausableSubscriptionManagerInterfaceSupport="false",
                             MaxNotificationProducers=str(MAX_PULL_POINTS),
                             MaxPullPoints=str(MAX_PULL_POINTS), PersistentNotificationStorage="false",
                             **(brokers or {}))


def event_filter(given: etree._Element | None) -> EventFilter:
    """A wsnt:FilterType (TopicExpression, MessageContent) as the event streams' filter; all
    events without one. Subscriptions and the recording search (FindEvents) read it so."""
    topic, content = "//.", None
    if given is not None:
        topics = [topic_expression(e) for e in find_all(given, "TopicExpression")]
        contents = [e for e in find_all(given, "MessageContent")]
        if topics:
            topic = "|".join(topics)
        if contents:
            if (contents[0].get("Dialect") or ITEM_FILTER) != ITEM_FILTER:
                raise sender("Message content filter dialect is not supported",
                             etree.QName(WSNT, "InvalidMessageContentExpressionFault"))
            content = (contents[0].text or "").strip()
    try:
        return EventFilter(topic, content)
    except FilterError as err:
        raise sender(str(err), etree.QName(WSNT, "InvalidFilterFault")) from None


class EventService:
    def __init__(self, bus: EventBus, points: PullPoints, base_address,
                 brokers: Mapping[str, str] | None = None) -> None:
        self.bus = bus
        self.points = points
        self.base_address = base_address  # () -> scheme://host:port the client reached
        self.brokers = brokers  # the event broker capabilities (http_event_broker), where there is one

    def _now(self) -> float:
        return self.points.clock.time()

    def _point(self) -> PullPoint:
        point = self.points.get(CALL.get().path_params.get("subscription", ""))
        if point is None:
            raise unknown_subscription()
        return point

    async def get_service_capabilities(self, msg: SoapMessage, who: Principal) -> etree._Element:
        return TEV_.GetServiceCapabilitiesResponse(events_capabilities(self.brokers))

    async def get_event_properties(self, msg: SoapMessage, who: Principal) -> etree._Element:
        return TEV_.GetEventPropertiesResponse(
            TEV_.TopicNamespaceLocation("http://www.onvif.org/onvif/ver10/topics/topicns.xml"),
            WSNT_.FixedTopicSet("true"), topic_set(self.bus.topics()),
            *(WSNT_.TopicExpressionDialect(d) for d in (CONCRETE_SET, CONCRETE)),
            TEV_.MessageContentFilterDialect(ITEM_FILTER),
            TEV_.MessageContentSchemaLocation("http://www.onvif.org/onvif/ver10/schema/onvif.xsd"))

    @staticmethod
    def _filter(msg: SoapMessage) -> EventFilter:
        return event_filter(find(msg.body, "Filter"))

    def _subscription(self, msg: SoapMessage, consumer: str | None = None) -> tuple[PullPoint, str]:
        """A new subscription as the request asks (filter, initial termination time), and its address."""
        chosen = self._filter(msg)
        now = self._now()
        initial = text(msg.body, "InitialTerminationTime", limit=64)
        try:
            expires = termination(initial, now) if initial else now + DEFAULT_TERMINATION
        except ValueError as err:
            raise sender(str(err), etree.QName(WSNT, "UnacceptableInitialTerminationTimeFault")) from None
        try:
            point = self.points.create(chosen, expires, consumer, self.notify if consumer else None)
        except TooManySubscriptions as err:
            raise SoapFault(str(err), "Receiver", (etree.QName(TER, "Action"),
                                                   etree.QName(TER, "TooManySubscriptions"))) from None
        return point, self.base_address() + PULL_POINT_PATH.format(subscription=point.id)

    async def create_pull_point_subscription(self, msg: SoapMessage, who: Principal) -> etree._Element:
        point, address = self._subscription(msg)
        return TEV_.CreatePullPointSubscriptionResponse(
            TEV_.SubscriptionReference(WSA_.Address(address)),
            WSNT_.CurrentTime(stamp(self._now())), WSNT_.TerminationTime(stamp(point.expires)))

    async def subscribe(self, msg: SoapMessage, who: Principal) -> etree._Element:
        """Base notification: the events go to the consumer's address as Notify requests."""
        consumer = text(msg.body, "ConsumerReference", "Address", required=True, limit=1024) or ""
        parts = urlsplit(consumer)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise invalid(f"The consumer address must be an http or https URL, not {consumer[:80]!r}")
        point, address = self._subscription(msg, consumer)
        return WSNT_.SubscribeResponse(WSNT_.SubscriptionReference(WSA_.Address(address)),
                                       WSNT_.CurrentTime(stamp(self._now())),
                                       WSNT_.TerminationTime(stamp(point.expires)))

    async def notify(self, consumer: str, events: list[Event]) -> None:
        """POST one wsnt:Notify with `events` to the consumer (a base notification subscription's)."""
        body = envelope([WSNT_.Notify(*(message(e) for e in events))], "1.2", REPLY_NAMESPACES, TEXT_PREFIXES)
        async with httpx.AsyncClient(timeout=NOTIFY_TIMEOUT, follow_redirects=False) as client:
            r = await client.post(consumer, content=body, headers={"Content-Type": f'application/soap+xml; '
                                                                    f'charset=utf-8; action="{NOTIFY_ACTION}"'})
        if not 200 <= r.status_code < 300:
            raise RuntimeError(f"the consumer answered {r.status_code}")

    async def pull_messages(self, msg: SoapMessage, who: Principal) -> etree._Element:
        point = self._point()
        if point.consumer is not None:
            raise invalid("This subscription delivers its events to its consumer: there is nothing to pull")
        given = text(msg.body, "Timeout", required=True, limit=64) or ""
        timeout = duration(given)
        if timeout is None:
            raise invalid(f"Timeout must be a duration such as PT60S, not {given[:40]!r}")
        limit_text = text(msg.body, "MessageLimit", required=True) or ""
        if not limit_text.isascii() or not limit_text.isdigit() or len(limit_text) > 9:
            raise invalid(f"MessageLimit must be a whole number, not {limit_text[:40]!r}")
        if timeout > MAX_PULL_TIMEOUT or int(limit_text) > MAX_MESSAGE_LIMIT:
            fault = sender(f"At most {MAX_PULL_TIMEOUT:.0f} s and {MAX_MESSAGE_LIMIT} messages per pull")
            fault.detail = TEV_.PullMessagesFaultResponse(TEV_.MaxTimeout(f"PT{MAX_PULL_TIMEOUT:.0f}S"),
                                                          TEV_.MaxMessageLimit(str(MAX_MESSAGE_LIMIT)))
            raise fault
        events = await self.points.pull(point, timeout, int(limit_text))
        if point.id not in self.points.active:  # unsubscribed or ended while waiting
            raise unknown_subscription()
        return TEV_.PullMessagesResponse(TEV_.CurrentTime(stamp(self._now())),
                                         TEV_.TerminationTime(stamp(point.expires)), *(message(e) for e in events))

    async def set_synchronization_point(self, msg: SoapMessage, who: Principal) -> etree._Element:
        self.points.synchronize(self._point())
        return TEV_.SetSynchronizationPointResponse()

    async def renew(self, msg: SoapMessage, who: Principal) -> etree._Element:
        point = self._point()
        now = self._now()
        try:
            point.expires = termination(text(msg.body, "TerminationTime", required=True, limit=64) or "", now)
        except ValueError as err:
            raise sender(str(err), etree.QName(WSNT, "UnacceptableTerminationTimeFault")) from None
        return WSNT_.RenewResponse(WSNT_.TerminationTime(stamp(point.expires)), WSNT_.CurrentTime(stamp(now)))

    async def unsubscribe(self, msg: SoapMessage, who: Principal) -> etree._Element:
        self.points.remove(self._point().id)
        return WSNT_.UnsubscribeResponse()


def register(events: OnvifEndpoint, pull_point: OnvifEndpoint, service: EventService) -> None:
    events.add(TEV, "GetServiceCapabilities", PRE_AUTH, service.get_service_capabilities)
    events.add(TEV, "GetEventProperties", READ_MEDIA, service.get_event_properties)
    events.add(TEV, "CreatePullPointSubscription", READ_MEDIA, service.create_pull_point_subscription)
    events.add(WSNT, "Subscribe", READ_MEDIA, service.subscribe)
    pull_point.add(TEV, "PullMessages", READ_MEDIA, service.pull_messages)
    pull_point.add(TEV, "SetSynchronizationPoint", READ_MEDIA, service.set_synchronization_point)
    pull_point.add(WSNT, "Renew", READ_MEDIA, service.renew)
    pull_point.add(WSNT, "Unsubscribe", READ_MEDIA, service.unsubscribe)

