"""Email recipients: the message as a mail (with its attachment) through an SMTP server, plain,
STARTTLS or implicit TLS, with an optional login."""

from __future__ import annotations

import contextlib
import mimetypes
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from vigil.core.proxies import Proxies, open_tunnel
from vigil.features.notify.model import Message, RecipientError
from vigil.features.notify.transports.common import (
    TRUSTED_CAS,
    safe_name,
    target,
    trusted_context,
    unverified_context,
)


async def send(settings: dict[str, str], message: Message, timeout: float, proxies: Proxies) -> None:
    import aiosmtplib

    mail = EmailMessage()
    mail["Subject"] = message.subject
    mail["From"] = settings["from"]
    mail["To"] = settings["to"]
    mail["Date"] = formatdate(localtime=False, usegmt=True)
    mail["Message-ID"] = make_msgid(domain=settings["from"].rpartition("@")[2].rstrip(">"))
    mail.set_content(message.body)
    if message.attachment is not None:
        name, data = message.attachment
        maintype, _, subtype = (mimetypes.guess_type(name)[0] or "application/octet-stream").partition("/")
        mail.add_attachment(bytes(data), maintype=maintype, subtype=subtype, filename=safe_name(name))
    sender = parseaddr(settings["from"])[1]
    recipients = [parseaddr(a)[1] for a in settings["to"].split(",")]

    enc = settings["encryption"]
    validate_cert = settings["validate_cert"] == "yes"
    tls_context = None
    if enc != "none":
        tls_context = trusted_context(settings.get(TRUSTED_CAS, "")) if validate_cert else unverified_context()
    smtp = aiosmtplib.SMTP(hostname=settings["host"], port=int(settings["port"]), timeout=timeout,
                           use_tls=enc == "ssl", start_tls=enc == "starttls", validate_certs=validate_cert,
                           tls_context=tls_context)
    proxy = proxies.for_host(settings["host"], secure=enc != "none")
    try:
        if proxy is None:
            await smtp.connect()
        else:  # through the global proxy; the TLS name stays the mail server's
            sock = await open_tunnel(proxy, settings["host"], int(settings["port"]), timeout)
            await smtp.connect(sock=sock, port=None)
        if smtp.is_ehlo_or_helo_needed:
            try:
                await smtp.ehlo()
            except aiosmtplib.SMTPHeloError:
                await smtp.helo()
        if settings["username"]:
            if not smtp.supports_extension("auth"):
                hint = "" if enc != "none" else " (many servers offer it only with encryption)"
                raise RecipientError(f"the mail server does not offer login (SMTP AUTH){hint}")
            try:
                await smtp.login(settings["username"], settings["password"])
            except aiosmtplib.SMTPAuthenticationError as exc:
                raise RecipientError(f"the mail server refused the user name or password ({exc.code} "
                                     f"{exc.message})") from exc
        try:
            errors, _ = await smtp.send_message(mail, sender=sender, recipients=recipients)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refused = ", ".join(f"{r.recipient} ({r.code} {r.message})" for r in exc.recipients)
            raise RecipientError(f"the mail server refused every recipient: {refused}") from exc
        except aiosmtplib.SMTPResponseException as exc:
            reply = f"({exc.code} {exc.message})"
            if exc.code == 530 and "tls" in exc.message.lower():
                raise RecipientError(f"the mail server requires encryption: choose starttls {reply}") from exc
            if exc.code == 530:
                raise RecipientError(f"the mail server requires a login {reply}") from exc
            if isinstance(exc, aiosmtplib.SMTPSenderRefused):
                raise RecipientError(f"the mail server refused the sender {exc.sender} {reply}") from exc
            raise RecipientError(f"the mail server refused the message {reply}") from exc
        if errors:
            refused = ", ".join(f"{addr} ({r.code} {r.message})" for addr, r in errors.items())
            sent = ", ".join(a for a in recipients if a not in errors)
            raise RecipientError(f"the mail was sent to {sent}, but the mail server refused {refused}")
        with contextlib.suppress(Exception):
            await smtp.quit()
    except (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPTimeoutError):
        raise  # explained by deliver() from the underlying OSError / timeout
    except aiosmtplib.SMTPServerDisconnected as exc:
        raise RecipientError(f"the mail server {target(settings)} closed the connection ({exc})") from exc
    except aiosmtplib.SMTPException as exc:
        raise RecipientError(f"the mail server failed: {exc}") from exc
    finally:
        smtp.close()
