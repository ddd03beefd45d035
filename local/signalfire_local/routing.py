"""Route selection as an API Gateway HTTP API does it.

What AWS documents (docs/aws-fidelity.md cites the pages):

- a route key is ``$default`` or ``METHOD /path``; METHOD is one of
  GET POST PUT PATCH DELETE HEAD OPTIONS or ANY;
- a path variable is a whole segment, ``{name}``; a greedy one,
  ``{name+}``, must be the last segment;
- HTTP APIs refuse a route key whose path ends in ``/`` (SAM even drops
  such a route silently: aws/serverless-application-model#1949), so a
  request for ``/x/`` never matches a ``/x`` route;
- selection takes the most specific match: a full match of route and
  method first, then a route with a greedy path variable, then
  ``$default``; ``ANY`` matches the methods a path does not define;
- nothing matches: ``404 {"message":"Not Found"}``;
- path parameters reach the function URL-decoded, under the variable's
  name without ``+``.

Where AWS leaves a detail unsaid this module takes the strict reading, so
that what routes here also routes on AWS:

- a path variable matches one non-empty segment; a greedy one matches one
  or more characters (``/x/{proxy+}`` does not match ``/x/``, as
  ``/{proxy+}`` does not match ``/``);
- between two full matches, the one whose first differing segment is a
  literal wins; between two greedy matches, the longer literal prefix
  wins; then a named method beats ``ANY``;
- a method outside the list above matches no route (API Gateway answers
  404, never 501).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
ANY = "ANY"
DEFAULT_ROUTE = "$default"

# Characters a literal segment may hold (API Gateway: "a-zA-Z0-9._-" and,
# for HTTP APIs, the other unreserved/sub-delim characters of RFC 3986).
_LITERAL = re.compile(r"^[A-Za-z0-9._~!$&'()*,;=:@-]+$")
_VARIABLE = re.compile(r"^\{([A-Za-z0-9._-]+)(\+?)\}$")


class RouteKeyError(ValueError):
    """A route key that API Gateway would refuse (or SAM would drop)."""


@dataclass(frozen=True)
class Route:
    method: str  # GET ... OPTIONS, ANY, or "" for $default
    path: str  # /alerts/{proxy+}, or "" for $default
    function: str  # logical id of the function integrated with the route
    source: str = ""  # where it was declared, for error messages

    @property
    def route_key(self) -> str:
        return DEFAULT_ROUTE if self.is_default else f"{self.method} {self.path}"

    @property
    def is_default(self) -> bool:
        return self.path == "" and self.method == ""

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(self.path.split("/")[1:]) if self.path not in ("", "/") else ()

    @property
    def greedy(self) -> bool:
        return bool(self.segments) and self.segments[-1].endswith("+}")


@dataclass(frozen=True)
class Match:
    route: Route
    path_parameters: dict[str, str]

    @property
    def route_key(self) -> str:
        return self.route.route_key

    @property
    def function(self) -> str:
        return self.route.function


def parse_route_key(key: str, function: str = "", source: str = "") -> Route:
    """``"POST /alerts/{proxy+}"`` -> a validated :class:`Route`."""
    if key == DEFAULT_ROUTE:
        return Route("", "", function, source)
    method, sep, path = key.partition(" ")
    if not sep:
        raise RouteKeyError(f"{source or 'route'}: route key {key!r} is not '$default' or 'METHOD /path'")
    route = Route(method.upper(), path, function, source)
    validate(route)
    return route


def validate(route: Route) -> None:
    """Raise :class:`RouteKeyError` for a route AWS would refuse or drop."""
    if route.is_default:
        return
    where = f"{route.source + ': ' if route.source else ''}route {route.method} {route.path!r}"
    if route.method not in (*METHODS, ANY):
        raise RouteKeyError(f"{where}: method must be one of {', '.join((*METHODS, ANY))}")
    path = route.path
    if not isinstance(path, str) or not path.startswith("/"):
        raise RouteKeyError(f"{where}: the path must start with '/'")
    if path == "/":
        return
    if path.endswith("/"):
        raise RouteKeyError(
            f"{where}: an HTTP API route key cannot end in '/' (API Gateway refuses it; SAM creates the "
            f"integration without the route, aws/serverless-application-model#1949). Declare "
            f"{path.rstrip('/')!r} and let a greedy route such as '{_parent(path)}/{{proxy+}}' catch the "
            f"trailing-slash form (docs/aws-fidelity.md)")
    names: list[str] = []
    segments = route.segments
    for index, segment in enumerate(segments):
        if segment == "":
            raise RouteKeyError(f"{where}: empty path segment ('//')")
        variable = _VARIABLE.match(segment)
        if variable:
            name, plus = variable.groups()
            if plus and index != len(segments) - 1:
                raise RouteKeyError(f"{where}: a greedy path variable {segment} must be the last segment")
            if name in names:
                raise RouteKeyError(f"{where}: path variable {{{name}}} appears twice")
            names.append(name)
        elif "{" in segment or "}" in segment:
            raise RouteKeyError(f"{where}: a path variable must be a whole segment, like {{id}} or {{proxy+}}")
        elif not _LITERAL.match(segment):
            raise RouteKeyError(f"{where}: segment {segment!r} has characters a route path cannot hold")


def _parent(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[0]


def _match_path(route: Route, raw_path: str) -> dict[str, str] | None:
    """The route's path parameters when ``raw_path`` matches it, else None."""
    if route.path == "/":
        return {} if raw_path == "/" else None
    request = raw_path.split("/")[1:] if raw_path.startswith("/") else None
    if request is None:
        return None
    params: dict[str, str] = {}
    segments = route.segments
    for index, segment in enumerate(segments):
        variable = _VARIABLE.match(segment)
        if variable and variable.group(2):  # greedy: the rest, at least one character
            rest = "/".join(request[index:])
            if not rest:
                return None
            params[variable.group(1)] = unquote(rest)
            return params
        if index >= len(request):
            return None
        part = request[index]
        if variable:
            if not part:
                return None
            params[variable.group(1)] = unquote(part)
        elif part != segment:
            return None
    return params if len(request) == len(segments) else None


def _rank(route: Route, method: str) -> tuple[Any, ...]:
    """Sort key, most specific first (see the module docstring)."""
    segments = route.segments
    kinds = tuple(1 if s.startswith("{") else 0 for s in segments)
    named = 0 if route.method == method else 1
    if route.greedy:  # the longer prefix before the greedy variable wins
        return (1, -len(segments), kinds, named)
    return (0, 0, kinds, named)  # full match: literal before variable, left to right


class Router:
    """The routes of one HTTP API, checked as AWS checks them."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes: list[Route] = []
        seen: dict[str, Route] = {}
        for route in routes:
            validate(route)
            if route.route_key in seen:
                other = seen[route.route_key]
                raise RouteKeyError(
                    f"route key {route.route_key!r} is declared twice ({other.source or other.function} and "
                    f"{route.source or route.function}); API Gateway allows one integration per route key")
            seen[route.route_key] = route
            self.routes.append(route)
        self.default = seen.get(DEFAULT_ROUTE)

    def select(self, method: str, raw_path: str) -> Match | None:
        """The route API Gateway would pick for ``method raw_path`` (the path
        without its query string), or None: 404 ``{"message":"Not Found"}``."""
        method = method.upper()
        if method not in METHODS:
            return None
        candidates: list[tuple[tuple[Any, ...], Route, dict[str, str]]] = []
        for route in self.routes:
            if route.is_default or route.method not in (method, ANY):
                continue
            params = _match_path(route, raw_path)
            if params is not None:
                candidates.append((_rank(route, method), route, params))
        if candidates:
            candidates.sort(key=lambda c: c[0])
            _, route, params = candidates[0]
            return Match(route, params)
        if self.default is not None:
            return Match(self.default, {})
        return None


def routes_from_template(doc: Mapping[str, Any]) -> list[Route]:
    """Every route that the template's ``HttpApi`` events declare, as SAM
    turns them into API Gateway routes (a missing Path and Method is the
    ``$default`` route)."""
    routes = []
    for logical, res in (doc.get("Resources") or {}).items():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        for name, event in ((res.get("Properties") or {}).get("Events") or {}).items():
            if event.get("Type") != "HttpApi":
                continue
            props = event.get("Properties") or {}
            source = f"{logical}.Events.{name}"
            if "Path" not in props and "Method" not in props:
                routes.append(Route("", "", logical, source))
                continue
            method = str(props.get("Method", ANY)).upper()
            if method in ("X-AMAZON-APIGATEWAY-ANY-METHOD", "*"):
                method = ANY
            path = props.get("Path")
            if not isinstance(path, str):
                raise RouteKeyError(f"{source}: Path must be a literal string, got {path!r}")
            route = Route(method, path, logical, source)
            validate(route)
            routes.append(route)
    return routes


def router_for(doc: Mapping[str, Any]) -> Router:
    """The validated router of a template (raises :class:`RouteKeyError`)."""
    return Router(routes_from_template(doc))
