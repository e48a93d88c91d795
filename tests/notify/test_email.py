"""Email recipients against a real aiosmtpd server: plain, STARTTLS and implicit TLS, AUTH PLAIN/LOGIN."""

from __future__ import annotations

import email
import email.policy
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tests.conftest import free_port
from tests.peers.certs import self_signed, self_signed_context
from vigil.features.notify import delivery as notify
from vigil.features.notify.delivery import deliver
from vigil.features.notify.model import Message, Recipient, RecipientError

USER, PASSWORD = "cam", "mail-pass"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    return self_signed_context(tmp_path_factory.mktemp("smtp-tls"))


@dataclass
class Mailbox:
    """The aiosmtpd handler: keeps every message and every login attempt."""

    mails: list[tuple[str, list[str], email.message.EmailMessage]] = field(default_factory=list)
    logins: list[tuple[str, str, bool]] = field(default_factory=list)  # mechanism, user, accepted

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001, N802 - aiosmtpd's hook name
        msg = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.mails.append((envelope.mail_from, list(envelope.rcpt_tos), msg))
        return "250 Message accepted"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:  # noqa: ANN001, N802
        if address.startswith("nobody@"):
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:  # noqa: ANN001
        user = auth_data.login.decode()
        ok = (user, auth_data.password.decode()) == (USER, PASSWORD)
        self.logins.append((mechanism, user, ok))
        return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp(tls: ssl.SSLContext) -> Iterator:
    """smtp(mode, exclude=()) starts an aiosmtpd server: mode is none, starttls or ssl."""
    started: list[Controller] = []

    def start(mode: str, exclude: tuple[str, ...] = ()) -> tuple[int, Mailbox]:
        box = Mailbox()
        kwargs: dict = {"authenticator": box.authenticate, "auth_exclude_mechanism": list(exclude)}
        if mode == "starttls":
            kwargs.update(tls_context=tls, require_starttls=True)
        elif mode == "ssl":
            kwargs.update(ssl_context=tls, auth_require_tls=False)
        else:
            kwargs.update(auth_require_tls=False)
        port = free_port()
        controller = Controller(box, hostname="127.0.0.1", port=port, server_hostname="localhost", **kwargs)
        controller.start()
        started.append(controller)
        return port, box

    yield start
    for controller in started:
        controller.stop()


def recipient(port: int, **extra: str) -> Recipient:
    return Recipient("mail", "email", {"host": "127.0.0.1", "port": str(port), "from": "Camera <cam@vigil.test>",
                                       "to": "ops@example.test, Night Shift <night@example.test>", **extra})


def body_of(msg: email.message.EmailMessage) -> str:
    return msg.get_body(("plain",)).get_content().rstrip("\r\n")


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_plain_no_auth_several_recipients(smtp) -> None:  # noqa: ANN001
    port, box = smtp("none")
    await deliver(recipient(port, encryption="none"), Message("Motion: Camera 1", "Motion detected at the gate."))
    [(sender, rcpts, msg)] = box.mails
    assert sender == "cam@vigil.test" and rcpts == ["ops@example.test", "night@example.test"]
    assert msg["Subject"] == "Motion: Camera 1" and body_of(msg) == "Motion detected at the gate."
    assert msg["To"] == "ops@example.test, Night Shift <night@example.test>"
    assert box.logins == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_plain_with_auth_login(smtp) -> None:  # noqa: ANN001
    port, box = smtp("none", exclude=("PLAIN",))
    await deliver(recipient(port, encryption="none", username=USER, password=PASSWORD), Message("s", "b"))
    assert box.logins == [("LOGIN", USER, True)] and len(box.mails) == 1


async def test_starttls_auth_plain(smtp) -> None:  # noqa: ANN001
    port, box = smtp("starttls")
    rcp = recipient(port, encryption="starttls", validate_cert="no", username=USER, password=PASSWORD)
    await deliver(rcp, Message("Über ✓", "Tür geöffnet"))
    assert box.logins == [("PLAIN", USER, True)]
    [(_, _, msg)] = box.mails
    assert msg["Subject"] == "Über ✓" and body_of(msg) == "Tür geöffnet"
    await notify.test_recipient(rcp)
    assert box.mails[1][2]["Subject"] == "Vigil test message"


async def test_ssl_auth_login_with_attachment(smtp) -> None:  # noqa: ANN001
    port, box = smtp("ssl", exclude=("PLAIN",))
    data = bytes(range(256)) * 40
    rcp = recipient(port, encryption="ssl", validate_cert="no", username=USER, password=PASSWORD)
    await deliver(rcp, Message("Snapshot", "See attachment.", ("snap.jpg", data)))
    assert box.logins == [("LOGIN", USER, True)]
    [(_, rcpts, msg)] = box.mails
    assert len(rcpts) == 2 and body_of(msg) == "See attachment."
    [part] = list(msg.iter_attachments())
    assert part.get_filename() == "snap.jpg" and part.get_content_type() == "image/jpeg"
    assert part.get_content() == data


@pytest.mark.parametrize("mode", ["starttls", "ssl"])
async def test_certificate_validation_refuses_self_signed(smtp, mode: str) -> None:  # noqa: ANN001
    port, box = smtp(mode)
    rcp = recipient(port, encryption=mode, username=USER, password=PASSWORD)  # validate_cert defaults to yes
    with pytest.raises(RecipientError, match="certificate was refused .*self.signed"):
        await deliver(rcp, Message("s", "b"), timeout=5)
    assert box.mails == [] and box.logins == []


async def test_certificate_validation_trusts_the_devices_ca_certificates(tmp_path) -> None:  # noqa: ANN001
    """What `trusted_cas` holds (the keystore's CA certificates) is trusted besides the system's CAs."""
    cert_file, key_file = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port, server_hostname="localhost",
                            authenticator=box.authenticate, tls_context=context, require_starttls=True)
    controller.start()
    try:
        rcp = recipient(port, encryption="starttls", username=USER, password=PASSWORD)
        with pytest.raises(RecipientError, match="certificate was refused"):
            await deliver(rcp, Message("s", "b"), timeout=5)
        await deliver(rcp, Message("s", "b"), timeout=5, trusted_cas=Path(cert_file).read_text())
        assert len(box.mails) == 1
    finally:
        controller.stop()


async def test_wrong_password(smtp) -> None:  # noqa: ANN001
    port, box = smtp("starttls")
    rcp = recipient(port, encryption="starttls", validate_cert="no", username=USER, password="nope")
    with pytest.raises(RecipientError, match=r"^Recipient 'mail': the mail server refused the user name or password"):
        await deliver(rcp, Message("s", "b"))
    assert box.mails == [] and box.logins == [("PLAIN", USER, False), ("LOGIN", USER, False)]  # each method tried


async def test_login_offered_only_with_tls(smtp) -> None:  # noqa: ANN001
    port, box = smtp("starttls")
    rcp = recipient(port, encryption="none", username=USER, password=PASSWORD)
    with pytest.raises(RecipientError, match=r"does not offer login \(SMTP AUTH\) \(many servers offer it only with"):
        await deliver(rcp, Message("s", "b"))
    no_login = recipient(port, encryption="none")
    with pytest.raises(RecipientError, match=r"requires encryption: choose starttls \(530 "):
        await deliver(no_login, Message("s", "b"))
    assert box.mails == []


async def test_closed_port_fails_fast() -> None:
    t0 = time.monotonic()
    with pytest.raises(RecipientError, match=r"connection refused by 127\.0\.0\.1:\d+: no server is listening"):
        await deliver(recipient(free_port(), encryption="none"), Message("s", "b"))
    assert time.monotonic() - t0 < 2.0  # refused at once, not after the 15 s timeout


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_refused_recipients(smtp) -> None:  # noqa: ANN001
    port, box = smtp("none")
    some = Recipient("mail", "email", {"host": "127.0.0.1", "port": str(port), "encryption": "none",
                                       "from": "cam@vigil.test", "to": "ops@example.test, nobody@example.test"})
    with pytest.raises(RecipientError, match=r"the mail was sent to ops@example.test, but the mail server refused "
                                             r"nobody@example.test \(550 5.1.1 No such user\)"):
        await deliver(some, Message("s", "b"))
    assert [rcpts for _, rcpts, _ in box.mails] == [["ops@example.test"]]
    none = Recipient("mail", "email", {**some.settings, "to": "nobody@example.test"})
    with pytest.raises(RecipientError, match=r"refused every recipient: nobody@example.test \(550"):
        await deliver(none, Message("s", "b"))
    assert len(box.mails) == 1
