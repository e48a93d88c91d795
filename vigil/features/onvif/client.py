"""A compact ONVIF client for the cameras a recorder records: SOAP 1.2 over HTTP with a
WS-Security UsernameToken (PasswordDigest, signed at the camera's time as GetSystemDateAndTime
gives it, so that a camera whose clock is off still accepts it; HTTP Digest when the camera
asks for it instead), the device service's GetServices, Media's GetProfiles and GetStreamUri,
and the event service's PullPoint (CreatePullPointSubscription, PullMessages, Renew,
Unsubscribe). Built with lxml on the names the ONVIF server uses (const.py) and the digest the
server checks (security.py).

Every failure is an `OnvifError` whose message says what went wrong in words a user can act on
(unreachable, refused credentials, a fault and its reason, an answer that is not ONVIF).
"""

from __future__ import annotations

import base64
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
from lxml import etree
from lxml.builder import ElementMaker

from vigil.features.onvif.const import PASSWORD_DIGEST, TDS, TEV, TRT, TT, WSA, WSNT, WSSE, WSU
from vigil.features.onvif.security import password_digest
from vigil.http.soap import SOAP12

TIMEOUT = 10.0
MAX_REPLY = 4 << 20
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
S = ElementMaker(namespace=SOAP12, nsmap={"s": SOAP12})
TDS_ = ElementMaker(namespace=TDS, nsmap={"tds": TDS})
TRT_ = ElementMaker(namespace=TRT, nsmap={"trt": TRT, "tt": TT})
TT_ = ElementMaker(namespace=TT, nsmap={"tt": TT})
TEV_ = ElementMaker(namespace=TEV, nsmap={"tev": TEV, "wsnt": WSNT})
WSNT_ = ElementMaker(namespace=WSNT, nsmap={"wsnt": WSNT})
WSSE_ = ElementMaker(namespace=WSSE, nsmap={"wsse": WSSE, "wsu": WSU})
WSA_ = ElementMaker(namespace=WSA, nsmap={"wsa": WSA})


class OnvifError(Exception):
    """The camera could not be reached, refused, or answered what is not ONVIF."""


@dataclass(frozen=True)
class Profile:
    token: str
    name: str
    encoding: str  # H264, H265, JPEG ... ("" without a video encoder)
    width: int
    height: int


@dataclass(frozen=True)
class Notification:
    """One message of PullMessages: the topic, and the source and data items."""

    topic: str
    source: dict[str, str]
    data: dict[str, str]
    operation: str  # Initialized | Changed | Deleted ("" when not said)


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _find(parent: etree._Element | None, *path: str) -> etree._Element | None:
    node = parent
    for name in path:
        if node is None:
            return None
        node = next((c for c in node if _local(c) == name), None)
    return node


def _text(parent: etree._Element | None, *path: str) -> str:
    node = _find(parent, *path)
    return (node.text or "").strip() if node is not None else ""


def _items(parent: etree._Element | None) -> dict[str, str]:
    return {item.get("Name", ""): item.get("Value", "") for item in (parent if parent is not None else [])
            if _local(item) == "SimpleItem"}


def _topic(element: etree._Element | None) -> str:
    """A topic expression with the camera's prefixes made ours (tns1, tnsaxis) where they are the
    usual namespaces, so that a rule's topic reads the same whatever prefix the camera chose."""
    if element is None:
        return ""
    known = {"http://www.onvif.org/ver10/topics": "tns1", "http://www.axis.com/2009/event/topics": "tnsaxis"}
    parts = []
    for part in (element.text or "").strip().split("/"):
        prefix, colon, local = part.rpartition(":")
        namespace = element.nsmap.get(prefix) if colon else None
        parts.append(f"{known[namespace]}:{local}" if namespace in known else part)
    return "/".join(parts)


@dataclass
class OnvifClient:
    """One camera's ONVIF services, reached at its device service address."""

    device_url: str
    username: str = ""
    password: str = ""
    timeout: float = TIMEOUT
    offset: float = 0.0  # the camera's clock minus ours, learnt by `synchronize`
    services: dict[str, str] = field(default_factory=dict)  # namespace -> XAddr

    def __post_init__(self) -> None:
        parts = urlsplit(self.device_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise OnvifError(f"not an http:// address: {self.device_url[:80]!r}")
        auth = httpx.DigestAuth(self.username, self.password) if self.username else None
        # Cameras on the local network mostly have self-signed certificates: over https the
        # credentials are still not in clear (the digest never carries the password).
        self.http = httpx.AsyncClient(timeout=self.timeout, auth=auth, verify=False, trust_env=False)

    async def close(self) -> None:
        await self.http.aclose()

    # -- the wire ---------------------------------------------------------------------------
    def _security(self) -> etree._Element:
        nonce = secrets.token_bytes(16)
        created = datetime.fromtimestamp(time.time() + self.offset, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        token = WSSE_.UsernameToken(
            WSSE_.Username(self.username),
            WSSE_.Password(password_digest(nonce, created, self.password), Type=PASSWORD_DIGEST),
            WSSE_.Nonce(base64.b64encode(nonce).decode(),
                        EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-"
                                     "1.0#Base64Binary"),
            etree.Element(etree.QName(WSU, "Created"), nsmap={"wsu": WSU}))
        token[-1].text = created
        return WSSE_.Security(token, {etree.QName(SOAP12, "mustUnderstand"): "true"})

    async def call(self, url: str, body: etree._Element, signed: bool = True,
                   action: str = "") -> etree._Element:
        """Send `body` to `url`; the reply's first body element, or OnvifError."""
        headers = [self._security()] if signed and self.username else []
        if action:
            headers += [WSA_.Action(action), WSA_.To(url)]
        envelope = S.Envelope(S.Header(*headers), S.Body(body))
        data = etree.tostring(envelope, xml_declaration=True, encoding="utf-8")
        host = urlsplit(url).netloc
        try:
            reply = await self.http.post(url, content=data,
                                         headers={"Content-Type": "application/soap+xml; charset=utf-8"})
        except httpx.TimeoutException:
            raise OnvifError(f"{host} did not answer within {self.timeout:g} s") from None
        except httpx.HTTPError as err:
            raise OnvifError(f"cannot reach {host}: {err}") from None
        except httpx.InvalidURL as err:
            raise OnvifError(f"not a usable address: {err}") from None
        if reply.status_code == 401:
            raise OnvifError("the camera refused the user name or password")
        if len(reply.content) > MAX_REPLY:
            raise OnvifError(f"{host} answered more than {MAX_REPLY >> 20} MiB")
        try:
            root = etree.fromstring(reply.content, PARSER)
        except etree.XMLSyntaxError:
            raise OnvifError(f"{host} answered HTTP {reply.status_code} without a SOAP message: "
                             "is it an ONVIF device?") from None
        answer = _find(root, "Body")
        first = next((c for c in answer if isinstance(c.tag, str)), None) if answer is not None else None
        if first is None:
            raise OnvifError(f"{host} answered an empty SOAP message")
        if _local(first) == "Fault":
            reason = _text(first, "Reason", "Text") or _text(first, "faultstring") or "no reason given"
            subcodes = " ".join(c.text or "" for c in first.iter() if _local(c) == "Value")
            if "NotAuthorized" in subcodes or "FailedAuthentication" in subcodes:
                raise OnvifError(f"the camera refused the user name or password ({reason})")
            raise OnvifError(f"the camera answered a fault: {reason}")
        return first

    # -- device service ---------------------------------------------------------------------
    async def synchronize(self) -> None:
        """Learn the camera's clock (UsernameTokens are checked against it) and its services."""
        reply = await self.call(self.device_url, TDS_.GetSystemDateAndTime(), signed=False)
        utc = _find(reply, "SystemDateAndTime", "UTCDateTime")
        try:
            date, clock = _find(utc, "Date"), _find(utc, "Time")
            moment = datetime(int(_text(date, "Year")), int(_text(date, "Month")), int(_text(date, "Day")),
                              int(_text(clock, "Hour")), int(_text(clock, "Minute")), int(_text(clock, "Second")),
                              tzinfo=UTC)
            self.offset = moment.timestamp() - time.time()
        except ValueError:
            self.offset = 0.0  # no usable UTC time: sign with ours
        reply = await self.call(self.device_url, TDS_.GetServices(TDS_.IncludeCapability("false")))
        self.services = {_text(s, "Namespace"): _text(s, "XAddr") for s in reply if _local(s) == "Service"}

    def service(self, namespace: str, what: str) -> str:
        address = self.services.get(namespace)
        if not address:
            raise OnvifError(f"the camera offers no {what} service")
        return address

    # -- media ------------------------------------------------------------------------------
    async def profiles(self) -> list[Profile]:
        reply = await self.call(self.service(TRT, "media"), TRT_.GetProfiles())
        out = []
        for profile in (p for p in reply if _local(p) == "Profiles"):
            encoder = _find(profile, "VideoEncoderConfiguration")
            width, height = _text(encoder, "Resolution", "Width"), _text(encoder, "Resolution", "Height")
            out.append(Profile(profile.get("token", ""), _text(profile, "Name"), _text(encoder, "Encoding"),
                               int(width) if width.isdigit() else 0, int(height) if height.isdigit() else 0))
        return out

    async def stream_uri(self, token: str) -> str:
        setup = TRT_.StreamSetup(TT_.Stream("RTP-Unicast"), TT_.Transport(TT_.Protocol("RTSP")))
        reply = await self.call(self.service(TRT, "media"), TRT_.GetStreamUri(setup, TRT_.ProfileToken(token)))
        uri = _text(reply, "MediaUri", "Uri")
        if not uri.startswith("rtsp://"):
            raise OnvifError(f"the camera's stream address for {token} is not rtsp://: {uri[:80]!r}")
        return uri

    # -- events -----------------------------------------------------------------------------
    async def create_pull_point(self, keep: int = 60) -> str:
        """A PullPoint subscription kept `keep` seconds unless renewed; its address."""
        reply = await self.call(self.service(TEV, "event"),
                                TEV_.CreatePullPointSubscription(TEV_.InitialTerminationTime(f"PT{keep}S")),
                                action=f"{TEV}/EventPortType/CreatePullPointSubscriptionRequest")
        address = _text(reply, "SubscriptionReference", "Address")
        if not address.startswith(("http://", "https://")):
            raise OnvifError("the camera's PullPoint subscription has no address")
        return address

    async def pull(self, address: str, wait: int = 5, limit: int = 64) -> list[Notification]:
        reply = await self.call(address, TEV_.PullMessages(TEV_.Timeout(f"PT{wait}S"), TEV_.MessageLimit(str(limit))),
                                action=f"{TEV}/PullPointSubscription/PullMessagesRequest")
        out = []
        for message in (m for m in reply if _local(m) == "NotificationMessage"):
            inner = _find(message, "Message", "Message")
            out.append(Notification(_topic(_find(message, "Topic")), _items(_find(inner, "Source")),
                                    _items(_find(inner, "Data")), inner.get("PropertyOperation", "")
                                    if inner is not None else ""))
        return out

    async def renew(self, address: str, keep: int = 60) -> None:
        await self.call(address, WSNT_.Renew(WSNT_.TerminationTime(f"PT{keep}S")),
                        action=f"{WSNT}/SubscriptionManager/RenewRequest")

    async def unsubscribe(self, address: str) -> None:
        await self.call(address, WSNT_.Unsubscribe(), action=f"{WSNT}/SubscriptionManager/UnsubscribeRequest")
