"""Templates (seed: NotificationTemplatingService).

Jinja2 in a :class:`~jinja2.sandbox.SandboxedEnvironment`: a template cannot
reach Python internals (``__class__``, ``__globals__``, ``mro`` ...) and can
load only files from the template folder.  HTML templates are autoescaped.

A template value in a channel config is one of:

* an inline string: ``"{{ title }} on {{ tags.host }}"``; a string with no
  Jinja markup but ``{name}`` fields is rendered with Python format instead
  (the seed's fallback), with the same guard: no attribute or index access;
* ``"file:slack_text.j2"`` or ``{"type": "file", "template": "slack_text.j2"}``:
  a file in the template folder (never outside it).

Default templates ship as files beside this module (``templates/``), found by
the seed's search order ``<driver>_<part>.j2``, ``<driver>.j2``, ``default_<part>.j2``.
"""

from __future__ import annotations

import re
import string
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any

from jinja2 import ChainableUndefined, FileSystemLoader, TemplateError, TemplateNotFound, TemplateSyntaxError
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment

from signalfire.errors import ConfigurationError

TEMPLATE_DIR = Path(__file__).parent / "templates"
_JINJA_MARKUP = re.compile(r"{{|{%|{#")
_MAX_OUTPUT = 200_000


class TemplateRefused(ConfigurationError):
    """A template tried to leave the sandbox or its folder."""


def _is_html(name: str) -> bool:
    return name.endswith((".html", ".html.j2", "_html.j2", ".htm"))


class _Sandbox(SandboxedEnvironment):
    """The sandbox, plus a cap on ``*`` and ``**`` so ``{{ 'x' * 10**9 }}``
    cannot exhaust the function's memory."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int | float) and abs(right) > 100:
            raise SecurityError("exponent too large")
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(n, int) and len(seq) * n > _MAX_OUTPUT:
                    raise SecurityError("repetition too large")
        return super().call_binop(context, operator, left, right)


@lru_cache(maxsize=4)
def _environments(folder: str) -> tuple[_Sandbox, _Sandbox]:
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


def file_name(spec: Any) -> str | None:
    """The file a template spec refers to, or None for an inline template."""
    if isinstance(spec, dict):
        if spec.get("type") == "file":
            return str(spec.get("template") or "")
        return None
    if isinstance(spec, str) and spec.startswith("file:"):
        return spec[len("file:"):].strip()
    return None


def _safe_name(name: str) -> str:
    path = PurePosixPath(name.replace("\\", "/"))
    if not name or path.is_absolute() or ".." in path.parts or name.startswith("~"):
        raise TemplateRefused(f"template file {name!r} is outside the template folder")
    return str(path)


class Renderer:
    """Renders template specs against a context; one per template folder."""

    def __init__(self, folder: Path | str = TEMPLATE_DIR) -> None:
        self.folder = Path(folder)

    def exists(self, name: str) -> bool:
        return (self.folder / name).is_file()

    def default_name(self, driver: str, part: str) -> str | None:
        """The seed's search order for a driver's default template."""
        for name in (f"{driver}_{part}.j2", f"{driver}.j2", f"default_{part}.j2"):
            if self.exists(name):
                return name
        return None

    def render(self, spec: Any, context: dict[str, Any], *, html: bool = False) -> str:
        """Render ``spec`` (inline or ``file:``); ConfigurationError when it is
        invalid or tries to leave the sandbox."""
        plain, html_env = _environments(str(self.folder))
        name = file_name(spec)
        try:
            if name is not None:
                safe = _safe_name(name)
                env = html_env if (html or _is_html(safe)) else plain
                template = env.get_template(safe)
            else:
                if not isinstance(spec, str):
                    raise ConfigurationError("a template must be a string or {\"type\": \"file\", \"template\": ...}")
                if not _JINJA_MARKUP.search(spec):
                    return _python_format(spec, context)
                template = (html_env if html else plain).from_string(spec)
            out = template.render(context)
        except TemplateNotFound as exc:
            raise TemplateRefused(f"template file {exc.name!r} was not found in the template folder") from None
        except SecurityError as exc:
            raise TemplateRefused(f"template refused: {exc}") from None
        except TemplateSyntaxError as exc:
            raise ConfigurationError(f"template syntax error on line {exc.lineno}: {exc.message}") from None
        except (UndefinedError, TemplateError, TypeError, ValueError, OverflowError, MemoryError) as exc:
            raise ConfigurationError(f"template failed to render: {type(exc).__name__}: {exc}") from None
        return out[:_MAX_OUTPUT]

    def render_part(self, config: dict[str, Any], key: str, driver: str, part: str,
                    context: dict[str, Any], *, html: bool = False) -> str | None:
        """The config's template under ``key``, else the driver's default file
        for ``part``, else None."""
        spec = config.get(key)
        if spec in (None, ""):
            name = self.default_name(driver, part)
            if name is None:
                return None
            spec = f"file:{name}"
        return self.render(spec, context, html=html)


class _SafeFormatter(string.Formatter):
    """Python format with plain names only: ``{title}`` works, ``{title.__class__}``
    and ``{tags[host]}`` are refused (attribute access is how format strings
    reach ``__globals__``)."""

    def get_field(self, field_name: str, args: Any, kwargs: Any) -> Any:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", field_name):
            raise TemplateRefused(f"format field {{{field_name}}} is not allowed: use a plain name "
                                  "or a Jinja2 template for nested values")
        return self.get_value(field_name, args, kwargs), field_name

    def get_value(self, key: Any, args: Any, kwargs: Any) -> Any:
        value = kwargs.get(key, "") if isinstance(key, str) else ""
        return value if isinstance(value, str | int | float) else str(value)

    def format_field(self, value: Any, format_spec: str) -> Any:
        if re.search(r"\d{4,}", format_spec):  # "{x:>99999999}" would allocate gigabytes
            raise TemplateRefused("format width too large")
        return super().format_field(value, format_spec)


def _python_format(text: str, context: dict[str, Any]) -> str:
    try:
        return _SafeFormatter().vformat(text, (), context)[:_MAX_OUTPUT]
    except TemplateRefused:
        raise
    except (ValueError, IndexError, KeyError):
        return text  # not a format string after all (a lone brace): send it as written
