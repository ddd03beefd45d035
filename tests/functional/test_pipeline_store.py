"""DynamoPipelineStore against moto, with the table built from template.yaml.

The fixture lives in this file rather than in a tests/functional/conftest.py,
so it cannot collide with the shared tests/conftest.py that other suites use.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

import pytest

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent
for extra in (str(TESTS), str(ROOT / "layers" / "shared")):
    if extra not in sys.path:
        sys.path.insert(0, extra)

from signalfire.errors import (  # noqa: E402
    BadRequestError,
    ConcurrentUpdateError,
    ConfigurationError,
    ConflictError,
    NotFoundError,
)
from signalfire.pipelines.dynamo import DynamoPipelineStore  # noqa: E402
from signalfire.pipelines.presets import PRESETS  # noqa: E402
from signalfire.store.dynamo import DynamoTable  # noqa: E402
from signalfire.store.exceptions import ConditionFailed  # noqa: E402
from support import table_spec  # noqa: E402

TABLE = "signalfire-test"


class LockedClient:
    """Runs each DynamoDB call atomically, as DynamoDB does (moto's in-memory
    backend is not thread-safe); threads still interleave *between* calls,
    which is where lost updates happen.  Also records the operations called."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._lock = threading.Lock()
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self.calls.append(name)
                return attr(*args, **kwargs)

        return call


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch):
    import boto3
    from moto import mock_aws

    from signalfire import services

    for key, value in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
                       "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_SESSION_TOKEN": "testing", "SIGNALFIRE_TABLE": TABLE}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        services.reset()
        raw = boto3.client("dynamodb", region_name="us-east-1")
        raw.create_table(**table_spec(TABLE))
        yield LockedClient(raw)
        services.reset()


@pytest.fixture
def store(client: LockedClient) -> DynamoPipelineStore:
    return DynamoPipelineStore(DynamoTable(TABLE, client=client))


def config(*types: str, **node_config: dict[str, Any]) -> dict[str, Any]:
    nodes = []
    for i, t in enumerate(types):
        node: dict[str, Any] = {"id": f"{t}_{i}", "type": t, "config": node_config.get(t, {})}
        if i + 1 < len(types):
            node["next"] = f"{types[i + 1]}_{i + 1}"
        nodes.append(node)
    return {"version": "1.0", "nodes": nodes}


SLACK = config("context", "notify", context={"checker_names": ["cpu"]}, notify={"drivers": ["slack"]})
EMAIL = config("notify", notify={"drivers": ["email"]})


def test_table_comes_from_the_template(client: LockedClient) -> None:
    desc = client.describe_table(TableName=TABLE)["Table"]
    assert {i["IndexName"] for i in desc["GlobalSecondaryIndexes"]} == {"GSI1", "GSI2", "GSI3", "GSI4"}


def test_create_then_get(store: DynamoPipelineStore, client: LockedClient) -> None:
    created = store.create("ops-slack", SLACK, description="to slack", tags={"team": "ops"}, created_by="alice")
    assert (created.version, created.is_active, created.builtin) == (1, True, False)
    got = store.get("ops-slack")
    assert got.name == "ops-slack" and got.version == 1 and got.description == "to slack"
    assert got.tags == {"team": "ops"} and got.created_by == "alice"
    assert [n.id for n in got.config.nodes] == ["context_0", "notify_1"]
    assert got.config.nodes[0].config == {"checker_names": ["cpu"]}
    # loading a pipeline by name is one read
    client.calls.clear()
    store.get("ops-slack")
    assert client.calls == ["get_item"]


def test_items_follow_the_documented_layout(store: DynamoPipelineStore, client: LockedClient) -> None:
    store.create("layout", SLACK)
    store.update("layout", EMAIL)
    items = client.query(TableName=TABLE, KeyConditionExpression="PK = :pk",
                         ExpressionAttributeValues={":pk": {"S": "PIPELINE#layout"}})["Items"]
    assert sorted(i["SK"]["S"] for i in items) == ["CURRENT", "V#000001", "V#000002"]
    current = next(i for i in items if i["SK"]["S"] == "CURRENT")
    assert current["GSI1PK"]["S"] == "PIPELINES" and current["GSI1SK"]["S"] == "layout"
    assert current["active_version"]["N"] == "2" and current["latest_version"]["N"] == "2"
    assert current["is_active"]["BOOL"] is True


def test_update_adds_versions_and_keeps_old_ones(store: DynamoPipelineStore) -> None:
    store.create("ver", SLACK, description="v1", tags={"a": "1"})
    v2 = store.update("ver", EMAIL, updated_by="bob")
    assert v2.version == 2 and v2.is_active and v2.description == "v1" and v2.tags == {"a": "1"}
    v3 = store.update("ver", SLACK, description="v3")
    assert v3.version == 3
    assert store.get("ver").version == 3
    old = store.get("ver", 1)
    assert old.version == 1 and not old.is_active and old.config.nodes[0].type == "context"
    assert store.get("ver", 2).created_by == "bob"
    history = store.history("ver")
    assert [d.version for d in history] == [3, 2, 1]
    assert [d.is_active for d in history] == [True, False, False]
    with pytest.raises(NotFoundError):
        store.get("ver", 9)


def test_update_without_activation(store: DynamoPipelineStore) -> None:
    store.create("staged", SLACK)
    staged = store.update("staged", EMAIL, activate=False)
    assert staged.version == 2 and not staged.is_active
    current = store.get("staged")
    assert current.version == 1 and current.latest_version == 2


def test_activate_an_old_version_and_deactivate(store: DynamoPipelineStore) -> None:
    store.create("flip", SLACK)
    store.update("flip", EMAIL)
    back = store.activate("flip", 1)
    assert back.version == 1 and back.is_active and back.latest_version == 2
    got = store.get("flip")
    assert got.version == 1 and got.config.nodes[0].type == "context"
    assert store.get("flip", 1).is_active and not store.get("flip", 2).is_active
    off = store.deactivate("flip")
    assert not off.is_active and not store.get("flip").is_active
    assert store.activate("flip", 2).is_active
    assert store.update("flip", SLACK).version == 3  # versions keep counting from the latest
    with pytest.raises(NotFoundError):
        store.activate("flip", 7)
    with pytest.raises(NotFoundError):
        store.activate("nope", 1)
    with pytest.raises(NotFoundError):
        store.deactivate("nope")


def test_duplicate_is_409(store: DynamoPipelineStore) -> None:
    store.create("dup", SLACK)
    with pytest.raises(ConflictError) as info:
        store.create("dup", EMAIL)
    assert info.value.http_status == 409
    assert store.get("dup").config.nodes[0].type == "context"  # the first one is untouched


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_names_cannot_be_shadowed_or_changed(store: DynamoPipelineStore, name: str) -> None:
    with pytest.raises(ConflictError) as info:
        store.create(name, SLACK)
    assert info.value.http_status == 409
    with pytest.raises(ConflictError):
        store.update(name, SLACK)
    with pytest.raises(ConflictError):
        store.deactivate(name)
    preset = store.get(name)
    assert preset.builtin and preset.is_active
    assert [d.version for d in store.history(name)] == [1]


def test_bad_names_and_configs(store: DynamoPipelineStore) -> None:
    for bad in ("A-upper", "-lead", "x", "has_underscore", "a" * 64):
        with pytest.raises(BadRequestError):
            store.create(bad, SLACK)
    with pytest.raises(ConfigurationError, match="'ctx'"):
        store.create("good-name", {"nodes": [{"id": "ctx", "type": "context", "config": {"checker_names": ["gpu"]}}]})
    with pytest.raises(NotFoundError):
        store.get("good-name")
    with pytest.raises(NotFoundError):
        store.update("never-created", SLACK)


@pytest.mark.parametrize("limit", [1, 2, 4, 5])
def test_list_merges_presets_and_custom_by_name_without_scan(store: DynamoPipelineStore,
                                                             client: LockedClient, limit: int) -> None:
    customs = ["alpha", "ember", "gamma", "zulu", "mid-one", "health-z"]
    for name in customs:
        store.create(name, EMAIL)
    client.calls.clear()
    names: list[str] = []
    token = None
    pages = 0
    while True:
        page = store.list(limit=limit, next_token=token)
        assert 0 < len(page.items) <= limit
        names += [d.name for d in page.items]
        pages += 1
        token = page.next_token
        if not token:
            break
    assert names == sorted(customs + list(PRESETS))
    assert pages == -(-len(names) // limit) or pages == len(names) // limit + 1
    assert "scan" not in client.calls and set(client.calls) == {"query"}
    everything = store.list(limit=200)
    assert everything.next_token is None
    by_name = {d.name: d for d in everything.items}
    assert by_name["full"].builtin and not by_name["alpha"].builtin


def test_list_first_page_and_bad_token(store: DynamoPipelineStore) -> None:
    page = store.list(limit=2)
    assert [d.name for d in page.items] == ["ai-analyzed", "direct"] and page.next_token
    with pytest.raises(BadRequestError):
        store.list(next_token="not-a-token!")


def test_concurrent_updates_get_distinct_versions(store: DynamoPipelineStore) -> None:
    store.create("race", SLACK)
    workers = 6
    barrier = threading.Barrier(workers)
    versions: list[int] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            barrier.wait()
            versions.append(store.update("race", EMAIL).version)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert sorted(versions) == list(range(2, 2 + workers))
    assert [d.version for d in store.history("race")] == list(range(1 + workers, 0, -1))
    assert store.get("race").latest_version == 1 + workers


def test_a_lost_race_retries_with_the_next_version(store: DynamoPipelineStore) -> None:
    store.create("lost", SLACK)
    real_get = store.t.get
    other = DynamoPipelineStore(DynamoTable(TABLE, client=store.t.client))
    sneaked: list[int] = []

    def get(pk: str, sk: str, consistent: bool = True):  # type: ignore[no-untyped-def]
        item = real_get(pk, sk, consistent)
        if sk == "CURRENT" and not sneaked:
            # Another writer commits between our read and our write.
            sneaked.append(other.update("lost", EMAIL).version)
        return item

    store.t.get = get  # type: ignore[method-assign]
    mine = store.update("lost", SLACK)
    assert sneaked == [2] and mine.version == 3


def test_always_losing_raises_concurrent_update_error(store: DynamoPipelineStore,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    store.create("stuck", SLACK)

    def lose(actions: list[dict[str, Any]]) -> None:
        raise ConditionFailed("ConditionalCheckFailed")

    monkeypatch.setattr(store.t, "transact", lose)
    monkeypatch.setattr("signalfire.pipelines.dynamo.time.sleep", lambda s: None)
    with pytest.raises(ConcurrentUpdateError) as info:
        store.update("stuck", EMAIL)
    assert info.value.retryable


def test_factory_is_cached_and_reset(client: LockedClient) -> None:
    from signalfire import services

    first = services.pipeline_store()
    assert services.pipeline_store() is first and first.t.table_name == TABLE
    services.reset()
    assert services.pipeline_store() is not first


# -- the HTTP routes (router only: app.py adds the admin check) --------------------------


def _event(method: str, path: str, body: Any = None, query: dict[str, str] | None = None) -> dict[str, Any]:
    import json

    return {"version": "2.0", "routeKey": "ANY /{proxy+}", "rawPath": path,
            "rawQueryString": "&".join(f"{k}={v}" for k, v in (query or {}).items()),
            "queryStringParameters": query, "headers": {"content-type": "application/json"},
            "requestContext": {"http": {"method": method, "path": path, "sourceIp": "127.0.0.1"},
                               "stage": "$default"},
            "body": json.dumps(body) if body is not None else None, "isBase64Encoded": False}


def test_routes_roundtrip(client: LockedClient) -> None:
    import json

    api_dir = str(ROOT / "functions" / "api")
    if api_dir not in sys.path:
        sys.path.insert(0, api_dir)
    import routes_pipelines

    from signalfire.handlers.resolver import make_resolver

    app = make_resolver()
    app.include_router(routes_pipelines.router)

    def call(method: str, path: str, body: Any = None, query: dict[str, str] | None = None) -> tuple[int, Any]:
        reply = app.resolve(_event(method, path, body, query), None)
        return reply["statusCode"], json.loads(reply["body"]) if reply.get("body") else None

    status, created = call("POST", "/pipelines", {"name": "api-made", "config": EMAIL, "tags": {"t": "1"}})
    assert status == 201 and created["version"] == 1
    assert call("POST", "/pipelines", {"name": "api-made", "config": EMAIL})[0] == 409
    assert call("POST", "/pipelines", {"name": "direct", "config": EMAIL})[0] == 409
    assert call("POST", "/pipelines", {"name": "x-y", "confg": EMAIL})[0] == 400
    status, body = call("PUT", "/pipelines/api-made", {"config": SLACK})
    assert status == 200 and body["version"] == 2
    assert call("GET", "/pipelines/api-made", query={"version": "1"})[1]["version"] == 1
    assert call("GET", "/pipelines/api-made")[1]["version"] == 2
    assert [v["version"] for v in call("GET", "/pipelines/api-made/versions")[1]["items"]] == [2, 1]
    assert call("POST", "/pipelines/api-made/activate", {"version": 1})[1]["version"] == 1
    assert call("POST", "/pipelines/api-made/deactivate")[1]["is_active"] is False
    assert call("GET", "/pipelines/nope")[0] == 404
    status, listing = call("GET", "/pipelines", query={"limit": "3"})
    assert status == 200 and len(listing["items"]) == 3 and listing["next_token"]
    status, body = call("POST", "/pipelines/validate", SLACK)
    assert status == 200 and body["count"] == 2 and body["nodes"][0]["id"] == "context_0"
    status, body = call("POST", "/pipelines/validate",
                        {"config": {"nodes": [{"id": "n", "type": "notify", "next": "gone"}]}})
    assert status == 400 and "'n'" in body["message"] and body["details"]["node"] == "n"
