"""One channel layer for every message to a user: e-mail by SMTP, SMS/Zalo by an adapter.

Callers say *what* to send and to *whom*; ``send`` picks the channel from what the recipient has
(e-mail first, else mobile). Backends: ``log`` writes the message to the log (development),
``memory`` keeps it in ``app.extensions["outbox"]`` (tests), ``smtp`` / ``http`` deliver for real.

Services that change the database use ``send_after_commit``: the message leaves only when the
transaction that describes it commits (through the job queue when ``REDIS_URL`` is set), so a
rolled-back change never sends a link to nothing, and no SMTP call happens while the transaction
holds its locks. Links in messages are built with
``portal_url`` from ``BASE_URL``, never from the request's Host header (a forged Host would
otherwise put an attacker's site into a password-reset link).
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from app.extensions import db


@dataclass(frozen=True)
class Message:
    """A message as delivered: channel ``email`` or ``sms``, its address, subject and body."""

    channel: str
    to: str
    subject: str
    body: str


class DeliveryError(RuntimeError):
    """The message could not be handed to its channel."""


def _sender_domain(sender: str) -> str | None:
    """The domain of the sender address, for Message-ID (mail servers score mail without one as spam)."""
    address = sender.rsplit("<", 1)[-1].rstrip(">").strip()
    return address.rpartition("@")[2] or None


def _deliver_email(message: Message) -> None:
    config = current_app.config
    backend = config["MESSAGE_BACKEND"]
    if backend == "memory":
        current_app.extensions.setdefault("outbox", []).append(message)
    elif backend == "log":
        current_app.logger.info("E-mail to %s — %s\n%s", message.to, message.subject, message.body)
    elif backend == "smtp":
        email = EmailMessage()
        email["From"] = config["MAIL_SENDER"]
        email["To"] = message.to
        email["Subject"] = message.subject
        email["Date"] = formatdate(localtime=True)
        email["Message-ID"] = make_msgid(domain=_sender_domain(config["MAIL_SENDER"]))
        email.set_content(message.body)
        try:
            with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=10) as smtp:
                if config["MAIL_USE_TLS"]:
                    smtp.starttls(context=ssl.create_default_context())
                if config["MAIL_USERNAME"]:
                    smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
                smtp.send_message(email)
        except (OSError, smtplib.SMTPException) as error:
            raise DeliveryError(str(error)) from error
    else:
        raise DeliveryError(f"unknown MESSAGE_BACKEND {backend!r}")


def _deliver_sms(message: Message) -> None:
    config = current_app.config
    backend = config["SMS_BACKEND"]
    if backend == "memory":
        current_app.extensions.setdefault("outbox", []).append(message)
    elif backend == "log":
        current_app.logger.info("SMS/Zalo to %s — %s", message.to, message.body)
    elif backend == "http":
        import json
        import urllib.request

        gateway = config["SMS_GATEWAY_URL"] or ""
        if urlsplit(gateway).scheme not in ("http", "https"):
            raise DeliveryError("SMS_GATEWAY_URL must be an http:// or https:// address")
        payload = json.dumps({"to": message.to, "text": message.body}).encode()
        request = urllib.request.Request(  # noqa: S310 (URL is an operator setting, http(s) only: checked above)
            gateway,
            data=payload,
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {config['SMS_GATEWAY_TOKEN']}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10):  # noqa: S310 (http(s) only, checked above)  # nosec B310
                pass
        except OSError as error:
            raise DeliveryError(str(error)) from error
    else:
        raise DeliveryError(f"unknown SMS_BACKEND {backend!r}")


def send(*, subject: str, body: str, email: str | None = None, phone: str | None = None) -> Message:
    """Send to the e-mail address if there is one, else by SMS/Zalo to the mobile number.

    SMS carries no subject, so the body must make sense alone (keep it short, with the link).
    """
    if email:
        message = Message("email", email, subject, body)
        _deliver_email(message)
    elif phone:
        message = Message("sms", phone, subject, body)
        _deliver_sms(message)
    else:
        raise DeliveryError("recipient has neither an e-mail address nor a mobile number")
    return message


def send_to_user(user, *, subject: str, body: str) -> Message:
    """Send to a user by their preferred channel (e-mail when they have one)."""
    return send(subject=subject, body=body, email=user.email, phone=user.phone)


_PENDING_KEY = "dxportal.pending_messages"


def send_after_commit(*, subject: str, body: str, email: str | None = None, phone: str | None = None) -> None:
    """Queue a message on the current database session; it is sent when the session commits.

    Subject and body must be final strings: the objects they came from are expired after the commit.
    """
    if not email and not phone:
        raise DeliveryError("recipient has neither an e-mail address nor a mobile number")
    session = db.session()
    if not session.in_transaction():
        session.begin()  # so that a rollback right after this discards the message too
    session.info.setdefault(_PENDING_KEY, []).append(
        {"subject": str(subject), "body": str(body), "email": email, "phone": phone}
    )


@event.listens_for(Session, "after_commit")
def _send_pending(session: Session) -> None:
    """Deliver what the committed transaction queued; a failed delivery is logged, never raised.

    The change is already committed, so raising would only turn a saved action into an error
    page; the user can ask for the message again (resend, reset).
    """
    from app import jobs

    for item in session.info.pop(_PENDING_KEY, None) or []:
        if jobs.is_async():
            try:
                jobs.enqueue("app.services.messaging.deliver", item)
            except Exception:  # Redis down: deliver now rather than lose the message
                current_app.logger.exception("Could not queue %r; sending now", item["subject"])
                deliver(item, raise_errors=False)
        else:
            deliver(item, raise_errors=False)


def deliver(item: dict, raise_errors: bool = True) -> None:
    """Send one queued message (the job a worker runs); a worker raises so that RQ retries it."""
    try:
        send(**item)
    except DeliveryError:
        if raise_errors:
            raise
        current_app.logger.exception("Could not deliver %r", item["subject"])


@event.listens_for(Session, "after_transaction_end")
def _discard_pending(session: Session, transaction: SessionTransaction) -> None:
    """A transaction that ended without a commit (rollback, close) sends nothing."""
    if transaction.parent is None:
        session.info.pop(_PENDING_KEY, None)


def portal_url(endpoint: str, **values) -> str:
    """An absolute link to a page of the portal, based on the ``BASE_URL`` setting."""
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "https"
    )
    return adapter.build(endpoint, values, force_external=True)
