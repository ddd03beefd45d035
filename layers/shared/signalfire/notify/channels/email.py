"""Email over SMTP (seed: EmailNotifyDriver).

One multipart message: a plain-text part and an HTML part (alternatives), and
the incident as a JSON attachment.  STARTTLS when ``use_tls`` (implicit TLS on
port 465).  A 4xx SMTP reply is transient and retryable, a 5xx is permanent
(RFC 5321, applied by :mod:`signalfire.notify.retry`).  The connection goes to
the address the outbound guard checked, and TLS verifies the host's name.
"""

from __future__ import annotations

import json
import smtplib
import socket
import ssl
import time
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, ClassVar

from pydantic import Field, field_validator

from signalfire import deadline
from signalfire.notify import retry
from signalfire.notify.channels.base import Channel, ChannelConfig
from signalfire.notify.models import NotificationMessage, SendResult
from signalfire.notify.outbound import check_host, resolve


def _address(value: str) -> str:
    value = value.strip()
    if "@" not in value or any(c in value for c in "\r\n<>,;") or len(value) > 254:
        raise ValueError(f"{value!r} is not an email address")
    return value


class EmailConfig(ChannelConfig):
    smtp_host: str = Field(min_length=1, max_length=253, description="SMTP server host name")
    from_address: str = Field(description="Sender address")
    smtp_port: int = Field(default=587, ge=1, le=65535, description="SMTP port (465 = implicit TLS)")
    use_tls: bool = Field(default=True, description="STARTTLS (or implicit TLS on port 465)")
    username: str | None = Field(default=None, description="SMTP auth user")
    password: str | None = Field(default=None, description="SMTP auth password (secret; may be a reference)")
    to_addresses: list[str] = Field(default_factory=list, description="Recipients (list or comma-separated)")
    timeout: float = Field(default=30, gt=0, le=30, description="Connection timeout, seconds")
    subject_template: Any = Field(default=None, description="Subject template (inline or file:)")
    html_template: Any = Field(default=None, description="HTML body template (inline or file:)")

    @field_validator("from_address")
    @classmethod
    def _from(cls, v: str) -> str:
        return _address(v)

    @field_validator("to_addresses", mode="before")
    @classmethod
    def _to(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = [p for p in v.split(",") if p.strip()]
        if isinstance(v, list):
            return [_address(str(p)) for p in v]
        return v


class _PinnedSMTP(smtplib.SMTP):
    """Connects to the checked address while keeping the host name for TLS."""

    pinned_ip = ""

    def _get_socket(self, host, port, timeout):  # type: ignore[no-untyped-def]
        return socket.create_connection((self.pinned_ip or host, port), timeout, self.source_address)


class _PinnedSMTPSSL(smtplib.SMTP_SSL):
    pinned_ip = ""

    def _get_socket(self, host, port, timeout):  # type: ignore[no-untyped-def]
        raw = socket.create_connection((self.pinned_ip or host, port), timeout, self.source_address)
        return self.context.wrap_socket(raw, server_hostname=host)


class EmailChannel(Channel):
    name: ClassVar[str] = "email"
    description: ClassVar[str] = "Email over SMTP: text, HTML and the incident as JSON."
    config_model = EmailConfig
    secret_keys: ClassVar[tuple[str, ...]] = ("password",)

    def check_destinations(self, config: EmailConfig, *, resolve_names: bool) -> None:  # type: ignore[override]
        check_host(config.smtp_host, config.smtp_port, self.runtime.policy, resolve_name=resolve_names)

    def build(self, message: NotificationMessage, config: EmailConfig, recipients: list[str]) -> EmailMessage:
        email = EmailMessage()
        email["Subject"] = " ".join(self.render(config, "subject_template", "subject", message).split())[:250]
        email["From"] = config.from_address
        email["To"] = ", ".join(recipients)
        email["Date"] = formatdate(localtime=False)
        email["Message-ID"] = make_msgid(domain=config.from_address.rsplit("@", 1)[1])
        email["X-Signalfire-Severity"] = message.severity
        email["X-Signalfire-Event"] = message.event.value
        if message.tags.get("incident_id"):
            email["X-Signalfire-Incident"] = message.tags["incident_id"]
        if message.dedup_key:  # threads a trigger and its resolve together in mail clients
            ref = f"<{message.dedup_key.replace('/', '.')}@signalfire>"
            email["References"] = ref
            if message.event.value != "trigger":
                email["In-Reply-To"] = ref
        email.set_content(self.render(config, "template", "text", message) + "\n")
        email.add_alternative(self.render(config, "html_template", "html", message, html=True), subtype="html")
        payload = {"title": message.title, "message": message.message, "severity": message.severity,
                   "event": message.event.value, "dedup_key": message.dedup_key, "tags": message.tags,
                   "links": [link.model_dump() for link in message.links], **message.context}
        email.add_attachment(json.dumps(payload, indent=2, default=str).encode(), maintype="application",
                             subtype="json", filename="incident.json")
        return email

    def _send(self, message: NotificationMessage, config: EmailConfig) -> SendResult:  # type: ignore[override]
        recipients = config.to_addresses or ([message.channel] if "@" in message.channel else [])
        if not recipients:
            return SendResult.failed("email: no recipients (set config.to_addresses)",
                                     retryable=retry.CONFIGURATION_RETRYABLE)
        email = self.build(message, config, recipients)
        ip = resolve(config.smtp_host, config.smtp_port, self.runtime.policy)
        implicit = config.smtp_port == 465
        cls: type[smtplib.SMTP] = _PinnedSMTPSSL if implicit else _PinnedSMTP
        where = f"{config.smtp_host}:{config.smtp_port}"
        try:
            limit = deadline.bound(self.timeout(config))  # cut to what the stage's deadline leaves
        except deadline.DeadlinePassed as exc:
            return SendResult.failed(f"email: {where} was not called: {exc}", retryable=retry.NETWORK_FAILURE_RETRYABLE)
        until = time.monotonic() + limit.seconds

        def step() -> None:
            """Each SMTP exchange gets only what is left of the call's time."""
            left = until - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no time left for the next SMTP command after {limit.seconds:.3g}s")
            if smtp.sock is not None:
                smtp.sock.settimeout(left)

        try:
            kwargs: dict[str, Any] = {"timeout": limit.seconds}
            if implicit:
                kwargs["context"] = ssl.create_default_context()
            smtp = cls(**kwargs)
            smtp.pinned_ip = ip  # type: ignore[attr-defined]
            try:
                smtp.connect(config.smtp_host, config.smtp_port)
                step()
                smtp.ehlo()
                if config.use_tls and not implicit:
                    step()
                    smtp.starttls(context=ssl.create_default_context())
                    step()
                    smtp.ehlo()
                if config.username:
                    step()
                    smtp.login(config.username, config.password or "")
                step()
                refused = smtp.send_message(email, to_addrs=recipients)
            finally:
                try:
                    step()  # no time left: close without a QUIT
                    smtp.quit()
                except (smtplib.SMTPException, OSError):
                    smtp.close()
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            return SendResult.failed(f"email: every recipient refused by {where} ({', '.join(map(str, codes))})",
                                     retryable=all(retry.smtp_code_retryable(c) for c in codes), codes=codes)
        except smtplib.SMTPNotSupportedError:
            return SendResult.failed(f"email: {where} does not support STARTTLS (set use_tls false only for a "
                                     "trusted local server)", retryable=False)
        except smtplib.SMTPResponseException as exc:
            text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
            return SendResult.failed(f"email: {where} answered {exc.smtp_code} {text[:300]}",
                                     retryable=retry.smtp_code_retryable(exc.smtp_code), smtp_code=exc.smtp_code)
        except ssl.SSLError as exc:
            return SendResult.failed(f"email: TLS with {where} failed ({exc.reason or exc})", retryable=False)
        except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, OSError) as exc:
            # smtplib reports a read timeout as a disconnection: the time spent says it was the timeout
            timed_out = isinstance(exc, TimeoutError) or time.monotonic() >= until - 0.05
            cut = limit.says() if timed_out else ""
            return SendResult.failed(f"email: could not talk to {where} ({type(exc).__name__}: {exc}){cut}",
                                     retryable=retry.NETWORK_FAILURE_RETRYABLE)
        except smtplib.SMTPException as exc:
            return SendResult.failed(f"email: {where}: {type(exc).__name__}: {exc}", retryable=False)
        message_id = str(email["Message-ID"])
        if refused:
            return SendResult.ok(message_id, recipients=recipients, refused=sorted(refused))
        return SendResult.ok(message_id, recipients=recipients)
