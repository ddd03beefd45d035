"""A thin wrapper over the DynamoDB client: error translation and queries.

Every AWS error is turned into a domain exception here: throttling and
service faults become :class:`StoreUnavailableError` (HTTP 503, the sender
retries), a lost condition becomes :class:`ConditionFailed`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from signalfire import aws
from signalfire.errors import BadRequestError, StoreUnavailableError
from signalfire.store.codec import (
    decode_token,
    deserialize,
    encode_token,
    key_fits,
    serialize,
    serialize_item,
)
from signalfire.store.exceptions import ConditionFailed
from signalfire.timeutil import utcnow

_TRANSIENT = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionConflictException",
    "LimitExceededException",
}


#: BatchWriteItem/BatchGetItem: how often unprocessed items are sent, and the back-off between
#: tries ("full jitter": a random wait up to min(cap, base * 2**attempt) seconds).
BATCH_ATTEMPTS = 8
BATCH_BACKOFF_BASE = 0.025
BATCH_BACKOFF_CAP = 1.0
_sleep = time.sleep  # the tests replace it to count and skip the waits


def _back_off(attempt: int) -> None:
    """Before a batch's try ``attempt`` (0: the first, no wait): full jitter."""
    if attempt:
        _sleep(random.uniform(0, min(BATCH_BACKOFF_CAP, BATCH_BACKOFF_BASE * 2 ** attempt)))


class Page:
    """One page of a query: items plus the opaque token for the next one."""

    def __init__(self, items: list[Any], next_token: str | None) -> None:
        self.items: list[Any] = items
        self.next_token = next_token


class DynamoTable:
    """Operations on the single signalfire table.  The client is injectable."""

    def __init__(self, table_name: str, client: Any | None = None) -> None:
        self.table_name = table_name
        self._client = client

    @staticmethod
    def expiry(retention_days: int) -> int:
        """``expires_at`` for an item written now: the epoch second the table's
        TTL deletes it, ``retention_days`` (AuditRetentionDays) from now."""
        return int((utcnow() + timedelta(days=retention_days)).timestamp())

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws.client("dynamodb")
        return self._client

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "ConditionalCheckFailedException":
                raise ConditionFailed(code) from exc
            if code == "TransactionCanceledException":
                reasons = [r.get("Code", "") for r in exc.response.get("CancellationReasons", []) or []]
                if any(r in _TRANSIENT for r in reasons):
                    raise StoreUnavailableError("the alert store is busy; retry shortly") from exc
                raise ConditionFailed(",".join(reasons)) from exc
            if code in _TRANSIENT:
                raise StoreUnavailableError("the alert store is busy; retry shortly") from exc
            raise
        except BotoCoreError as exc:
            raise StoreUnavailableError(f"the alert store could not be reached ({type(exc).__name__})") from exc

    # -- single items ------------------------------------------------------------------

    def get(self, pk: str, sk: str, consistent: bool = True) -> dict[str, Any] | None:
        if not key_fits(pk, sk):
            return None  # DynamoDB would refuse the key: no such item can exist
        with self._errors():
            resp = self.client.get_item(
                TableName=self.table_name, Key=serialize({"PK": pk, "SK": sk}), ConsistentRead=consistent
            )
        item = resp.get("Item")
        return deserialize(item) if item else None

    def batch_get(self, keys: list[tuple[str, str]], consistent: bool = True) -> list[dict[str, Any]]:
        """Fetch up to any number of items by (PK, SK), 100 keys a call,
        retrying what DynamoDB leaves unprocessed (after the same back-off as
        :meth:`batch_put`)."""
        found: list[dict[str, Any]] = []
        unique = [k for k in dict.fromkeys(keys) if key_fits(*k)]
        for start in range(0, len(unique), 100):
            request: dict[str, Any] = {self.table_name: {
                "Keys": [serialize({"PK": pk, "SK": sk}) for pk, sk in unique[start:start + 100]],
                "ConsistentRead": consistent,
            }}
            for attempt in range(BATCH_ATTEMPTS):
                _back_off(attempt)
                with self._errors():
                    resp = self.client.batch_get_item(RequestItems=request)
                found += [deserialize(i) for i in resp.get("Responses", {}).get(self.table_name, [])]
                request = resp.get("UnprocessedKeys") or {}
                if not request:
                    break
            else:
                raise StoreUnavailableError("the alert store is busy; retry shortly")
        return found

    def batch_put(self, items: list[dict[str, Any]]) -> None:
        """Put ``items`` (not atomically), 25 a call: each item costs the WCU a
        PutItem would, the round trips are fewer.  For idempotent writes that
        need no condition.  What DynamoDB leaves unprocessed (throttling) is
        sent again after an exponential, jittered back-off, as AWS asks of
        BatchWriteItem callers; StoreUnavailableError (503, the sender retries)
        when it is still unwritten after :data:`BATCH_ATTEMPTS` tries."""
        for start in range(0, len(items), 25):
            request: dict[str, Any] = {self.table_name: [
                {"PutRequest": {"Item": serialize_item(i)}} for i in items[start:start + 25]]}
            for attempt in range(BATCH_ATTEMPTS):
                _back_off(attempt)
                with self._errors():
                    resp = self.client.batch_write_item(RequestItems=request)
                request = resp.get("UnprocessedItems") or {}
                if not request:
                    break
            else:
                raise StoreUnavailableError("the alert store is busy; retry shortly")

    def _request(self, *, item: dict[str, Any] | None = None, key: tuple[str, str] | None = None,
                 expression: str | None = None, condition: str | None = None,
                 names: dict[str, str] | None = None, values: dict[str, Any] | None = None) -> dict[str, Any]:
        """The parameters shared by single-item writes and transaction actions."""
        req: dict[str, Any] = {"TableName": self.table_name}
        if item is not None:
            req["Item"] = serialize_item(item)
        if key is not None:
            req["Key"] = serialize({"PK": key[0], "SK": key[1]})
        if expression:
            req["UpdateExpression"] = expression
        if condition:
            req["ConditionExpression"] = condition
        if names:
            req["ExpressionAttributeNames"] = names
        if values:
            req["ExpressionAttributeValues"] = serialize(values)
        return req

    def put(self, item: dict[str, Any], condition: str | None = None, names: dict[str, str] | None = None,
            values: dict[str, Any] | None = None) -> None:
        with self._errors():
            self.client.put_item(**self._request(item=item, condition=condition, names=names, values=values))

    def update(self, pk: str, sk: str, expression: str, *, condition: str | None = None,
               names: dict[str, str] | None = None, values: dict[str, Any] | None = None,
               return_new: bool = True) -> dict[str, Any] | None:
        kwargs = self._request(key=(pk, sk), expression=expression, condition=condition, names=names, values=values)
        if return_new:
            kwargs["ReturnValues"] = "ALL_NEW"
        with self._errors():
            resp = self.client.update_item(**kwargs)
        attrs = resp.get("Attributes")
        return deserialize(attrs) if attrs else None

    def delete(self, pk: str, sk: str, condition: str | None = None, values: dict[str, Any] | None = None,
               names: dict[str, str] | None = None) -> None:
        with self._errors():
            self.client.delete_item(**self._request(key=(pk, sk), condition=condition, values=values, names=names))

    def transact(self, actions: list[dict[str, Any]]) -> None:
        """Run ``actions`` (already in the low-level TransactItems form) atomically."""
        with self._errors():
            self.client.transact_write_items(TransactItems=actions)

    # -- builders for transact() ---------------------------------------------------------

    def tx_put(self, item: dict[str, Any], condition: str | None = None,
               values: dict[str, Any] | None = None) -> dict[str, Any]:
        return {"Put": self._request(item=item, condition=condition, values=values)}

    def tx_condition(self, pk: str, sk: str, condition: str, *, names: dict[str, str] | None = None,
                     values: dict[str, Any] | None = None) -> dict[str, Any]:
        """A ConditionCheck: the transaction fails unless ``condition`` holds on that item."""
        return {"ConditionCheck": self._request(key=(pk, sk), condition=condition, names=names, values=values)}

    def tx_delete(self, pk: str, sk: str, condition: str | None = None,
                  values: dict[str, Any] | None = None) -> dict[str, Any]:
        return {"Delete": self._request(key=(pk, sk), condition=condition, values=values)}

    def tx_update(self, pk: str, sk: str, expression: str, *, condition: str | None = None,
                  names: dict[str, str] | None = None, values: dict[str, Any] | None = None) -> dict[str, Any]:
        return {"Update": self._request(key=(pk, sk), expression=expression, condition=condition, names=names,
                                        values=values)}

    # -- queries -----------------------------------------------------------------------

    def query_index(self, index: str, pk: str, **kwargs: Any) -> Page:
        """:meth:`query` on one of the generic GSIs (``GSI1``..``GSI4``), whose
        keys are ``<index>PK`` / ``<index>SK``."""
        return self.query(pk_name=f"{index}PK", pk=pk, index=index, sk_name=f"{index}SK", **kwargs)

    def query(self, *, pk_name: str, pk: str, index: str | None = None, sk_name: str | None = None,
              sk_prefix: str | None = None, sk_from: str | None = None, limit: int = 50,
              next_token: str | None = None, newest_first: bool = True, filters: dict[str, Any] | None = None,
              consistent: bool = False) -> Page:
        """Query one partition, optionally narrowed by a sort-key prefix or lower
        bound, with equality ``filters`` on other attributes.  Pages are filled
        up to ``limit`` items even when filters discard some."""
        names = {"#pk": pk_name}
        values: dict[str, Any] = {":pk": pk}
        key_cond = "#pk = :pk"
        if sk_name and sk_prefix is not None:
            names["#sk"] = sk_name
            values[":skp"] = sk_prefix
            key_cond += " AND begins_with(#sk, :skp)"
        elif sk_name and sk_from is not None:
            names["#sk"] = sk_name
            values[":skf"] = sk_from
            key_cond += " AND #sk >= :skf"
        filter_parts = []
        for i, (attr, val) in enumerate((filters or {}).items()):
            names[f"#f{i}"] = attr
            values[f":f{i}"] = val
            filter_parts.append(f"#f{i} = :f{i}")
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": key_cond,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": serialize(values),
            "ScanIndexForward": not newest_first,
        }
        if index:
            kwargs["IndexName"] = index
        elif consistent:
            kwargs["ConsistentRead"] = True
        if filter_parts:
            kwargs["FilterExpression"] = " AND ".join(filter_parts)
        start = _start_key_of(next_token, pk_name, pk, index, sk_name, sk_prefix, sk_from)
        items: list[dict[str, Any]] = []
        last: dict[str, Any] | None = None
        while True:
            kwargs["Limit"] = max(limit - len(items), 1) if not filter_parts else max(limit, 25)
            if start:
                kwargs["ExclusiveStartKey"] = start
            with self._errors():
                resp = self.client.query(**kwargs)
            raw = resp.get("Items", [])
            for pos, item in enumerate(raw):
                items.append(deserialize(item))
                if len(items) >= limit:
                    # Resume right after this item, not after the whole page.
                    last = _key_of(raw[pos], index_keys=(pk_name, sk_name) if index else None)
                    if pos == len(raw) - 1 and "LastEvaluatedKey" not in resp:
                        last = None
                    return Page(items, encode_token(last))
            start = resp.get("LastEvaluatedKey")
            if not start:
                return Page(items, None)


def _start_key_of(token: str | None, pk_name: str, pk: str, index: str | None, sk_name: str | None,
                  sk_prefix: str | None, sk_from: str | None) -> dict[str, Any] | None:
    """The ExclusiveStartKey a token names, checked against this query so a
    forged token is a 400 and never a DynamoDB ValidationException."""
    expected = {"PK", "SK"}
    if index:
        expected |= {pk_name} | ({sk_name} if sk_name else set())
    start = decode_token(token, expected_keys=expected)
    if start is None:
        return None
    plain = deserialize(start)
    sort = plain.get(sk_name) if sk_name else None
    fits = plain.get(pk_name) == pk and (
        sort is None or (sk_prefix is None or sort.startswith(sk_prefix)) and (sk_from is None or sort >= sk_from))
    if not fits:
        raise BadRequestError("next_token belongs to another listing: pass back the value this listing returned")
    return start


def _key_of(item: dict[str, Any], index_keys: tuple[str | None, str | None] | None) -> dict[str, Any]:
    keys = {"PK", "SK"}
    if index_keys:
        keys |= {k for k in index_keys if k}
    return {k: v for k, v in item.items() if k in keys}
