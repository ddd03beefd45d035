"""The driver interface every webhook driver implements (seed: BaseAlertDriver)."""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from signalfire.alerts.models import AlertStatus, ParsedPayload
from signalfire.errors import PayloadValidationError


class BaseAlertDriver(ABC):
    """Turns one vendor's webhook JSON into a :class:`ParsedPayload`.

    ``validate`` answers "is this payload in my vendor's shape?" without
    raising; ``parse`` raises :class:`PayloadValidationError` with a message a
    person can act on when the payload is in the vendor's shape but broken.
    """

    name: ClassVar[str]
    #: Human-readable vendor name, for docs and error messages.
    title: ClassVar[str]
    #: The status words this vendor documents, per payload field (lower-case
    #: word -> firing/resolved).  Any other word is refused with a 400 naming
    #: these (docs/drivers.md, "Status vocabulary"); never guessed as firing.
    status_words: ClassVar[dict[str, dict[str, AlertStatus]]] = {}

    @abstractmethod
    def validate(self, payload: Any) -> bool:
        """True when ``payload`` looks like this vendor's webhook."""

    @abstractmethod
    def parse(self, payload: dict[str, Any]) -> ParsedPayload:
        """Parse a payload that :meth:`validate` accepted."""

    # -- helpers shared by the drivers ------------------------------------------------

    def status_of(self, field: str, value: Any, default: AlertStatus | None = None) -> AlertStatus:
        """Map ``value`` of ``field`` through :attr:`status_words`.  Absent or
        blank -> ``default`` (a rejection when there is none); an unknown word is
        a rejection naming the accepted ones."""
        table = self.status_words[field]
        word = value.strip().lower() if isinstance(value, str) else ("" if value is None else str(value).lower())
        if not word:
            if default is None:
                raise self.reject(f"'{field}' is missing: expected one of {', '.join(table)}")
            return default
        found = table.get(word)
        if found is None:
            shown = value if isinstance(value, str) else str(value)
            raise PayloadValidationError(
                f"{self.title} payload rejected: unknown {field} {shown[:100]!r}: accepted words are "
                f"{', '.join(table)}",
                details={"driver": self.name, "field": field, "accepted": list(table)},
            )
        return found

    def reject(self, reason: str) -> PayloadValidationError:
        return PayloadValidationError(f"{self.title} payload rejected: {reason}", details={"driver": self.name})

    @staticmethod
    def fingerprint_of(*parts: Any) -> str:
        """SHA-256 of the fields that identify an alert, for vendors with no stable id."""
        canon = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(canon.encode("utf-8")).hexdigest()
