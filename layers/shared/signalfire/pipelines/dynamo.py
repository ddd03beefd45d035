"""Pipeline definitions in the single DynamoDB table.

Item layout (one partition per pipeline):

=====================  ===========  ============================================
PK                     SK           what
=====================  ===========  ============================================
PIPELINE#<name>        V#<000001>   one immutable version (config, description,
                                    tags, created_by, created_at)
PIPELINE#<name>        CURRENT      the pointer: active_version, latest_version,
                                    is_active, plus a copy of the active
                                    version's config/description/tags so that
                                    loading a pipeline is one GetItem.
                                    GSI1PK="PIPELINES", GSI1SK=<name> (listing)
=====================  ===========  ============================================

Versions count from 1; an update writes ``V#<latest+1>`` and moves the
pointer in one transaction conditioned on ``latest_version`` being unchanged,
so two concurrent updates can never both write the same version: the loser
re-reads and retries, and after a few losses raises ConcurrentUpdateError.
Presets (presets.py) are never stored; they are merged into ``get``/``list``.
"""

from __future__ import annotations

import random
import time
from typing import Any

from signalfire.errors import ConcurrentUpdateError, ConflictError, NotFoundError
from signalfire.pipelines.budget import WorkflowLimits, check_defaults, check_duration
from signalfire.pipelines.compile import compile_definition
from signalfire.pipelines.models import PipelineConfig, PipelineDefinition
from signalfire.pipelines.presets import PRESETS, get_preset, is_preset
from signalfire.pipelines.store import Definitions, PipelineStore, check_name
from signalfire.pipelines.validation import parse_config
from signalfire.store.codec import decode_token, deserialize, encode_token, serialize
from signalfire.store.dynamo import DynamoTable, Page
from signalfire.store.exceptions import ConditionFailed
from signalfire.timeutil import iso, utcnow

LIST_PK = "PIPELINES"
CURRENT = "CURRENT"
MAX_ATTEMPTS = 8


def pipeline_pk(name: str) -> str:
    return f"PIPELINE#{name}"


def version_sk(version: int) -> str:
    return f"V#{version:06d}"


def _builtin_conflict(name: str, what: str) -> ConflictError:
    return ConflictError(f"{name!r} is a built-in pipeline and cannot be {what}; "
                         "create a pipeline under another name instead", details={"name": name})


class DynamoPipelineStore(PipelineStore):
    def __init__(self, table: DynamoTable, limits: WorkflowLimits | None = None) -> None:
        self.t = table
        # When given, a definition whose worst-case run passes the workflow's
        # limit (Express: 5 minutes) is refused when saved.
        self.limits = limits

    def _parse(self, config: dict[str, Any] | PipelineConfig) -> PipelineConfig:
        parsed = parse_config(config)
        if self.limits is not None:
            nodes = compile_definition(parsed)
            check_defaults(config, nodes, self.limits)
            check_duration(nodes, self.limits)
        return parsed

    # -- item mapping --------------------------------------------------------------------

    @staticmethod
    def _version_item(name: str, version: int, config: PipelineConfig, description: str,
                      tags: dict[str, Any], created_by: str, now: str) -> dict[str, Any]:
        return {
            "PK": pipeline_pk(name), "SK": version_sk(version), "type": "pipeline_version",
            "name": name, "version": version, "config": config.model_dump(mode="json"),
            "description": description, "tags": tags, "created_by": created_by, "created_at": now,
        }

    @staticmethod
    def _from_current(item: dict[str, Any]) -> PipelineDefinition:
        return PipelineDefinition(
            name=item["name"], description=item.get("description", ""), version=item["active_version"],
            config=PipelineConfig.model_validate(item["config"]), tags=item.get("tags") or {},
            is_active=bool(item.get("is_active")), created_by=item.get("created_by", ""),
            created_at=item["created_at"], updated_at=item.get("updated_at", item["created_at"]),
            builtin=False, active_version=item["active_version"], latest_version=item["latest_version"],
        )

    @staticmethod
    def _from_version(item: dict[str, Any], current: dict[str, Any] | None) -> PipelineDefinition:
        cur = current or {}
        return PipelineDefinition(
            name=item["name"], description=item.get("description", ""), version=item["version"],
            config=PipelineConfig.model_validate(item["config"]), tags=item.get("tags") or {},
            is_active=bool(cur.get("is_active")) and cur.get("active_version") == item["version"],
            created_by=item.get("created_by", ""), created_at=item["created_at"], updated_at=item["created_at"],
            builtin=False, active_version=cur.get("active_version"), latest_version=cur.get("latest_version"),
        )

    def _current(self, name: str) -> dict[str, Any]:
        item = self.t.get(pipeline_pk(name), CURRENT)
        if not item:
            raise NotFoundError(f"pipeline {name!r} does not exist", details={"name": name})
        return item

    # -- writes ----------------------------------------------------------------------------

    def create(self, name: str, config: dict[str, Any] | PipelineConfig, *, description: str = "",
               tags: dict[str, Any] | None = None, created_by: str = "", activate: bool = True
               ) -> PipelineDefinition:
        check_name(name)
        if is_preset(name):
            raise ConflictError(f"pipeline {name!r} is a built-in preset; choose another name",
                                details={"name": name})
        parsed = self._parse(config)
        now = iso(utcnow()) or ""
        tags = tags or {}
        version = self._version_item(name, 1, parsed, description, tags, created_by, now)
        current = {
            "PK": pipeline_pk(name), "SK": CURRENT, "type": "pipeline", "name": name,
            "active_version": 1, "latest_version": 1, "is_active": activate,
            "config": version["config"], "description": description, "tags": tags,
            "created_by": created_by, "created_at": now, "updated_at": now,
            "GSI1PK": LIST_PK, "GSI1SK": name,
        }
        try:
            self.t.transact([
                self.t.tx_put(current, condition="attribute_not_exists(PK)"),
                self.t.tx_put(version, condition="attribute_not_exists(PK)"),
            ])
        except ConditionFailed:
            raise ConflictError(f"pipeline {name!r} already exists; update it to add a version",
                                details={"name": name}) from None
        return self._from_current(current)

    def update(self, name: str, config: dict[str, Any] | PipelineConfig, *, description: str | None = None,
               tags: dict[str, Any] | None = None, updated_by: str = "", activate: bool = True
               ) -> PipelineDefinition:
        if is_preset(name):
            raise _builtin_conflict(name, "modified")
        parsed = self._parse(config)
        for attempt in range(MAX_ATTEMPTS):
            cur = self._current(name)
            latest = int(cur["latest_version"])
            if description is None or tags is None:
                prev = self.t.get(pipeline_pk(name), version_sk(latest)) or {}
            else:
                prev = {}
            desc = description if description is not None else prev.get("description", "")
            new_tags = tags if tags is not None else (prev.get("tags") or {})
            now = iso(utcnow()) or ""
            new = latest + 1
            item = self._version_item(name, new, parsed, desc, new_tags, updated_by, now)
            expr = "SET latest_version = :new, updated_at = :now"
            values: dict[str, Any] = {":new": new, ":now": now, ":old": latest}
            if activate:
                expr += ", active_version = :new, is_active = :yes, config = :cfg, description = :desc, tags = :tags"
                values.update({":yes": True, ":cfg": item["config"], ":desc": desc, ":tags": new_tags})
            try:
                self.t.transact([
                    self.t.tx_put(item, condition="attribute_not_exists(PK)"),
                    self.t.tx_update(pipeline_pk(name), CURRENT, expr, condition="latest_version = :old",
                                     values=values),
                ])
            except ConditionFailed:
                # Another update took this version number: re-read and try the next one.
                time.sleep(random.uniform(0, 0.02 * (attempt + 1)))
                continue
            return self._from_version(item, {
                "is_active": True if activate else cur.get("is_active"),
                "active_version": new if activate else cur["active_version"], "latest_version": new,
            })
        raise ConcurrentUpdateError(f"pipeline {name!r} is being updated concurrently; retry",
                                    details={"name": name})

    def activate(self, name: str, version: int) -> PipelineDefinition:
        if is_preset(name):
            raise _builtin_conflict(name, "activated or deactivated")
        self._current(name)
        item = self.t.get(pipeline_pk(name), version_sk(version))
        if not item:
            raise NotFoundError(f"pipeline {name!r} has no version {version}",
                                details={"name": name, "version": version})
        try:
            updated = self.t.update(
                pipeline_pk(name), CURRENT,
                "SET active_version = :v, is_active = :yes, config = :cfg, description = :desc, "
                "tags = :tags, updated_at = :now",
                condition="attribute_exists(PK)",
                values={":v": version, ":yes": True, ":cfg": item["config"], ":desc": item.get("description", ""),
                        ":tags": item.get("tags") or {}, ":now": iso(utcnow())},
            )
        except ConditionFailed:
            raise NotFoundError(f"pipeline {name!r} does not exist", details={"name": name}) from None
        return self._from_current(updated or {})

    def deactivate(self, name: str) -> PipelineDefinition:
        if is_preset(name):
            raise _builtin_conflict(name, "activated or deactivated")
        try:
            updated = self.t.update(pipeline_pk(name), CURRENT, "SET is_active = :no, updated_at = :now",
                                    condition="attribute_exists(PK)",
                                    values={":no": False, ":now": iso(utcnow())})
        except ConditionFailed:
            raise NotFoundError(f"pipeline {name!r} does not exist", details={"name": name}) from None
        return self._from_current(updated or {})

    # -- reads -----------------------------------------------------------------------------

    def get(self, name: str, version: int | None = None) -> PipelineDefinition:
        preset = get_preset(name)
        if preset is not None:
            if version not in (None, 1):
                raise NotFoundError(f"built-in pipeline {name!r} has only version 1",
                                    details={"name": name, "version": version})
            return preset
        if version is None:
            return self._from_current(self._current(name))
        cur = self._current(name)
        item = self.t.get(pipeline_pk(name), version_sk(version))
        if not item:
            raise NotFoundError(f"pipeline {name!r} has no version {version}",
                                details={"name": name, "version": version})
        return self._from_version(item, cur)

    def history(self, name: str) -> Definitions:
        preset = get_preset(name)
        if preset is not None:
            return [preset]
        cur = self._current(name)
        out: Definitions = []
        token: str | None = None
        while True:
            page = self.t.query(pk_name="PK", pk=pipeline_pk(name), sk_name="SK", sk_prefix="V#", limit=200,
                                next_token=token, newest_first=True, consistent=True)
            out += [self._from_version(i, cur) for i in page.items]
            token = page.next_token
            if not token:
                return out

    def list(self, limit: int = 50, next_token: str | None = None) -> Page:
        """One listing sorted by name, presets merged in: a GSI1 query on
        ``PIPELINES`` (never a Scan).  The token is the key of the last name
        returned, so a page can end on a preset too."""
        limit = max(1, min(int(limit), 200))
        after: str | None = None
        start = decode_token(next_token)
        if start is not None:
            after = deserialize(start).get("GSI1SK")
        page = self.t.query_index("GSI1", LIST_PK, limit=limit,
                            next_token=next_token, newest_first=False)
        custom = [self._from_current(i) for i in page.items if not is_preset(i["name"])]
        upper = custom[-1].name if page.next_token and custom else None
        presets = [p.model_copy(deep=True) for n, p in sorted(PRESETS.items())
                   if (after is None or n > after) and (upper is None or n <= upper)]
        if page.next_token and not custom:
            presets = []  # a page of shadowed names only: the next page carries on
        merged = sorted(custom + presets, key=lambda d: d.name)
        more = page.next_token is not None
        if len(merged) > limit:
            merged, more = merged[:limit], True
        token = _list_token(merged[-1].name) if more and merged else (page.next_token if more else None)
        return Page(list(merged), token)


def _list_token(name: str) -> str | None:
    return encode_token(serialize({"PK": pipeline_pk(name), "SK": CURRENT, "GSI1PK": LIST_PK, "GSI1SK": name}))
