"""Every URL we publish reaches, on AWS, the function that serves it.

The URLs come from the README, the stack Outputs and the seed's URL tables;
each is tried as written, with the trailing slash toggled and with
``?token=``, through the router that selects routes as API Gateway does
(signalfire_local.routing).  A URL documented without a row in EXPECTED
fails: say which function serves it.  docs/aws-fidelity.md explains the
route shape."""

from __future__ import annotations

import re

import pytest

from handler_calls import call
from support import ADMIN_TOKEN, ROOT, WEBHOOK_TOKEN, router

INGEST = ("IngestFunction", "POST /alerts/{proxy+}")
API = ("ApiFunction", "ANY /{proxy+}")
NOTIFY = ("NotifyApiFunction", "ANY /notify/{proxy+}")
INTELLIGENCE = ("IntelligenceApiFunction", "ANY /intelligence/{proxy+}")

# (method, path without its trailing slash) -> (function, route key)
EXPECTED: dict[tuple[str, str], tuple[str, str]] = {
    ("POST", "/alerts/webhook"): INGEST,
    ("POST", "/alerts/webhook/{driver}"): INGEST,
    **{("POST", f"/alerts/webhook/{driver}"): INGEST for driver in (
        "alertmanager", "grafana", "pagerduty", "datadog", "newrelic", "opsgenie", "zabbix", "generic")},
    ("GET", "/alerts/webhook"): API,  # the senders' health check
    ("GET", "/alerts"): API,
    ("GET", "/alerts/{id}"): API,
    ("GET", "/alerts/rejected"): API,
    ("GET", "/alerts/rejected/{id}"): API,
    ("GET", "/incidents"): API,
    ("GET", "/incidents/{id}"): API,
    ("POST", "/incidents/{id}/acknowledge"): API,
    ("POST", "/incidents/{id}/resolve"): API,
    ("POST", "/incidents/{id}/close"): API,
    ("POST", "/incidents/{id}/notes"): API,
    ("GET", "/runs"): API,
    ("GET", "/runs/{id}"): API,
    ("POST", "/runs/{id}/resume"): API,
    ("GET", "/pipelines"): API,
    ("POST", "/pipelines"): API,
    ("GET", "/pipelines/{name}"): API,
    ("PUT", "/pipelines/{name}"): API,
    ("GET", "/pipelines/{name}/versions"): API,
    ("POST", "/pipelines/{name}/activate"): API,
    ("POST", "/pipelines/{name}/deactivate"): API,
    ("POST", "/pipelines/validate"): API,
    # host agents: check-ins carry the webhook token, the lists need the admin token
    ("POST", "/checks"): API,
    ("GET", "/checks"): API,
    ("GET", "/hosts"): API,
    ("GET", "/hosts/{hostname}"): API,
    # seed URL tables (apps/intelligence, apps/notify): a management function per capability
    ("GET", "/intelligence/health"): INTELLIGENCE,
    ("GET", "/intelligence/providers"): INTELLIGENCE,
    ("POST", "/intelligence/providers"): INTELLIGENCE,
    ("GET", "/intelligence/providers/{name}"): INTELLIGENCE,
    ("PUT", "/intelligence/providers/{name}"): INTELLIGENCE,
    ("DELETE", "/intelligence/providers/{name}"): INTELLIGENCE,
    ("GET", "/intelligence/recommendations"): INTELLIGENCE,
    ("POST", "/intelligence/recommendations"): INTELLIGENCE,
    ("GET", "/intelligence/memory"): INTELLIGENCE,
    ("GET", "/intelligence/disk"): INTELLIGENCE,
    ("POST", "/notify/send"): NOTIFY,
    ("POST", "/notify/send/{driver}"): NOTIFY,
    ("POST", "/notify/batch"): NOTIFY,
    ("GET", "/notify/drivers"): NOTIFY,
    ("GET", "/notify/drivers/{driver}"): NOTIFY,
    ("GET", "/notify/channels"): NOTIFY,
    ("POST", "/notify/channels"): NOTIFY,
    ("GET", "/notify/channels/{name}"): NOTIFY,
    ("PUT", "/notify/channels/{name}"): NOTIFY,
    ("DELETE", "/notify/channels/{name}"): NOTIFY,
}

SAMPLE = {"driver": "alertmanager", "id": "id-1", "name": "my-pipeline"}
METHOD = r"(?:GET|POST|PUT|PATCH|DELETE)"


def _norm(path: str) -> str:
    path = re.sub(r"<(\w+)>", r"{\1}", path.split("?", 1)[0])
    return path.rstrip("/") or "/"


def readme_urls(text: str) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    # `<ApiUrl>/alerts/webhook/grafana/` (a webhook to paste: POST) or `GET <ApiUrl>/...`
    for method, path in re.findall(rf"`(?:({METHOD}) )?<ApiUrl>(/[^`\s]*)`", text):
        found.add((method or "POST", path))
    # `POST /alerts/webhook/{driver}/`
    found.update(re.findall(rf"`({METHOD}) (/[^`\s]*)`", text))
    # curl examples against the local stack
    for line in text.splitlines():
        if "curl" in line and "127.0.0.1:3000" in line:
            method = re.search(r"-X (\w+)", line)
            for path in re.findall(r"127\.0\.0\.1:3000(/[^\s\"'?]*)", line):
                found.add((method.group(1) if method else "GET", path))
    # management tables: | GET/POST | `/pipelines/`, `/pipelines/{name}` | ...
    for cells in (line.split("|") for line in text.splitlines() if line.startswith("| ")):
        methods = cells[1].strip()
        if len(cells) > 2 and re.fullmatch(rf"{METHOD}(?:/{METHOD})*", methods):
            for path in re.findall(r"`(/[^`]*)`", cells[2]):
                found.update((m, path) for m in methods.split("/"))
    return found


def output_urls(doc: dict) -> set[tuple[str, str]]:
    found = set()
    for output in (doc.get("Outputs") or {}).values():
        value = output.get("Value")
        text = value.get("Fn::Sub", "") if isinstance(value, dict) else ""
        path = text.partition("${AWS::URLSuffix}")[2] if isinstance(text, str) else ""
        if path:
            found.add(("POST", path))  # the webhook URLs to paste into a sender
    return found


# The seed wiki's URL tables (apps/alerts, apps/intelligence, apps/notify), as
# written there; test_the_seed_copy_is_the_seed checks it when the wiki is at hand.
SEED_URLS = {
    ("POST", "/alerts/webhook/"), ("POST", "/alerts/webhook/<driver>/"), ("GET", "/alerts/webhook/"),
    ("GET", "/intelligence/health/"), ("GET", "/intelligence/providers/"), ("GET", "/intelligence/recommendations/"),
    ("POST", "/intelligence/recommendations/"), ("GET", "/intelligence/memory/"), ("GET", "/intelligence/disk/"),
    ("POST", "/notify/send/"), ("POST", "/notify/send/<driver>/"), ("POST", "/notify/batch/"),
    ("GET", "/notify/drivers/"), ("GET", "/notify/drivers/<driver>/"),
}
SEED_FILES = sorted({p for d in (ROOT.parent, ROOT.parent.parent) for p in (d / "shared" / "seed").glob("*.txt")})


def seed_urls(text: str) -> set[tuple[str, str]]:
    found = set()
    for methods, path in re.findall(rf"^\| ({METHOD}(?:/{METHOD})*) \| (/\S*) \|", text, re.M):
        found.update((m, path) for m in methods.split("/"))
    return found


def documented() -> dict[tuple[str, str], str]:
    """(method, documented path) -> where it is documented."""
    from signalfire_local.template import load_yaml

    urls: dict[tuple[str, str], str] = {}
    for url in readme_urls((ROOT / "README.md").read_text()):
        urls.setdefault(url, "README.md")
    for url in output_urls(load_yaml(ROOT / "template.yaml")):
        urls.setdefault(url, "template.yaml Outputs")
    for url in SEED_URLS:
        urls.setdefault(url, "seed wiki")
    return urls


@pytest.mark.skipif(not SEED_FILES, reason="the seed wiki is not on this machine")
def test_the_seed_copy_is_the_seed() -> None:
    assert seed_urls(SEED_FILES[0].read_text(errors="replace")) == SEED_URLS


DOCUMENTED = documented()


def _concrete(path: str) -> str:
    return re.sub(r"[{<](\w+)[}>]", lambda m: SAMPLE.get(m.group(1), "x1"), path)


def test_the_walk_finds_the_urls_we_publish() -> None:
    found = {(m, _norm(p)) for m, p in DOCUMENTED}
    for must in [("POST", "/alerts/webhook/{driver}"), ("POST", "/alerts/webhook"), ("GET", "/incidents"),
                 ("POST", "/incidents/{id}/acknowledge"), ("GET", "/alerts/webhook")]:
        assert must in found


@pytest.mark.parametrize(("method", "path"), sorted(DOCUMENTED), ids=lambda v: str(v))
def test_every_documented_url_reaches_its_function_with_or_without_slash_and_token(method: str, path: str) -> None:
    key = (method, _norm(path))
    assert key in EXPECTED, (f"{method} {path} ({DOCUMENTED[(method, path)]}) has no row in EXPECTED: "
                             f"add which function serves it")
    function, route_key = EXPECTED[key]
    bare = _concrete(path.split("?", 1)[0])
    for variant in {bare, bare.rstrip("/") or "/", bare.rstrip("/") + "/"}:
        for query in ("", f"token={WEBHOOK_TOKEN}"):
            found = router().select(method, variant)
            url = f"{method} {variant}{'?' + query if query else ''}"
            assert found is not None, f"{url}: API Gateway would answer 404"
            assert (found.function, found.route_key) == (function, route_key), url
            prefix = route_key.split(" ", 1)[1].removesuffix("{proxy+}")
            assert found.path_parameters == {"proxy": variant.removeprefix(prefix)}, url


def test_the_function_has_a_route_for_every_url_readme_and_outputs_publish(moto_stack: dict) -> None:
    """Routing is half of it: the handler the route reaches must know the path."""
    problems = []
    for method, path in sorted(u for u, where in DOCUMENTED.items() if where != "seed wiki"):
        bare = _concrete(path.split("?", 1)[0])
        token = WEBHOOK_TOKEN if "/alerts/webhook" in bare else ADMIN_TOKEN
        for variant in sorted({bare.rstrip("/") or "/", bare.rstrip("/") + "/"}):
            reply = call(method, variant, None, token=token)
            message = reply.json.get("message", "") if isinstance(reply.json, dict) else ""
            if (reply.status == 404 and message.startswith("no route")) or reply.status >= 500:
                problems.append(f"{method} {variant}: {reply}")
    assert not problems
