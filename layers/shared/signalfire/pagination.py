"""The one way every list route pages: ``?limit=&next_token=`` in, a
:class:`PageOut` out.

The stores return :class:`signalfire.store.dynamo.Page` (items and an opaque
token that :mod:`signalfire.store.codec` encodes); :meth:`PageOut.of` turns
one into the answer, mapping each item to its public model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from pydantic import Field

from signalfire.models import Model
from signalfire.store.dynamo import Page

MAX_PAGE = 200
DEFAULT_PAGE = 50

T = TypeVar("T")


class PageQuery(Model):
    """``?limit=&next_token=``: the query every list route takes (extended with its filters)."""

    limit: int = Field(default=DEFAULT_PAGE, ge=1, le=MAX_PAGE, description=f"items per page, 1-{MAX_PAGE}")
    next_token: str | None = Field(default=None, description="the next_token of the previous page")


class PageOut(Model, Generic[T]):
    """One page of a list: ``next_token`` is null on the last page."""

    items: list[T]
    next_token: str | None = None
    count: int = 0

    @classmethod
    def of(cls, page: Page | Sequence[Any], convert: Callable[[Any], T] | None = None,
           next_token: str | None = None) -> PageOut[T]:
        """The answer for a store page (or a plain list and its token)."""
        raw = page.items if isinstance(page, Page) else list(page)
        token = page.next_token if isinstance(page, Page) else next_token
        items = [convert(i) for i in raw] if convert else list(raw)
        return cls(items=items, next_token=token, count=len(items))
