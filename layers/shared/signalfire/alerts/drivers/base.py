"""The driver interface every webhook driver implements (seed: BaseAlertDriver)."""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from signalfire.alerts.models import ParsedPayload
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

    @abstractmethod
    def validate(self, payload: Any) -> bool:
        """True when ``payload`` looks like this vendor's webhook."""

    @abstractmethod
    def parse(self, payload: dict[str, Any]) -> ParsedPayload:
        """Parse a payload that :meth:`validate` accepted."""

    # -- helpers shared by the drivers ------------------------------------------------

    def reject(self, reason: str) -> PayloadValidationError:
        return PayloadValidationError(f"{self.title} payload rejected: {reason}", details={"driver": self.name})

    @staticmethod
    def fingerprint_of(*parts: Any) -> str:
        """SHA-256 of the fields that identify an alert, for vendors with no stable id."""
        canon = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(canon.encode("utf-8")).hexdigest()
