"""The Jinja2 sandbox the notification templates render in (see
:mod:`signalfire.notify.templating`, which imports this module on its first
Jinja render: a function that renders none does not load jinja2).

A template cannot reach Python internals (``__class__``, ``__globals__``,
``mro`` ...) and can load only files from the template folder; HTML
environments autoescape.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import ChainableUndefined, FileSystemLoader
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from signalfire.notify.templating import MAX_OUTPUT


class _Sandbox(SandboxedEnvironment):
    """The sandbox, plus a cap on ``*`` and ``**`` so ``{{ 'x' * 10**9 }}``
    cannot exhaust the function's memory."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int | float) and abs(right) > 100:
            raise SecurityError("exponent too large")
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(n, int) and len(seq) * n > MAX_OUTPUT:
                    raise SecurityError("repetition too large")
        return super().call_binop(context, operator, left, right)


@lru_cache(maxsize=4)
def environments(folder: str) -> tuple[_Sandbox, _Sandbox]:
    """(plain, html) environments over one folder."""
    loader = FileSystemLoader(folder)
    common = {"loader": loader, "undefined": _Lenient, "trim_blocks": True, "lstrip_blocks": True,
              "keep_trailing_newline": False}
    plain = _Sandbox(autoescape=False, **common)  # type: ignore[arg-type]
    html = _Sandbox(autoescape=True, **common)  # type: ignore[arg-type]
    for env in (plain, html):
        # Slack mrkdwn reads <...> as links and mentions: escape &, <, > in what alerts say
        env.filters["slack_escape"] = lambda s: str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        env.filters["truncate_chars"] = lambda s, n=200: (str(s)[: int(n) - 1] + "…") if len(str(s)) > int(n) else str(s)
    return plain, html


class _Lenient(ChainableUndefined):
    """Missing values render empty and test false (templates are written for
    many shapes of context), but an attribute the sandbox refused always fails
    the render: a SecurityError is never swallowed."""

    def _refused(self) -> bool:
        return issubclass(self._undefined_exception, SecurityError)

    def __str__(self) -> str:
        if self._refused():
            self._fail_with_undefined_error()
        return ""

    def __bool__(self) -> bool:
        if self._refused():
            self._fail_with_undefined_error()
        return False

    def __iter__(self):  # type: ignore[no-untyped-def]
        if self._refused():
            self._fail_with_undefined_error()
        return iter(())

    def __len__(self) -> int:
        if self._refused():
            self._fail_with_undefined_error()
        return 0

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or self._refused():
            return self._fail_with_undefined_error()
        return self

    def __getitem__(self, name: Any) -> Any:
        return self.__getattr__(str(name))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._fail_with_undefined_error()
