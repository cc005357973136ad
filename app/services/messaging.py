"""One channel layer for every message to a user: e-mail by SMTP, SMS/Zalo by an adapter.

Callers say *what* to send and to *whom*; ``send`` picks the channel from what the recipient has
(e-mail first, else mobile). Backends: ``log`` writes the message to the log (development),
``memory`` keeps it in ``app.extensions["outbox"]`` (tests), ``smtp`` / ``http`` deliver for real.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage

from flask import current_app


@dataclass(frozen=True)
class Message:
    """A message as delivered: channel ``email`` or ``sms``, its address, subject and body."""

    channel: str
    to: str
    subject: str
    body: str


class DeliveryError(RuntimeError):
    """The message could not be handed to its channel."""


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

        payload = json.dumps({"to": message.to, "text": message.body}).encode()
        request = urllib.request.Request(  # noqa: S310 (URL is an operator setting)
            config["SMS_GATEWAY_URL"],
            data=payload,
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {config['SMS_GATEWAY_TOKEN']}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10):  # noqa: S310
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
