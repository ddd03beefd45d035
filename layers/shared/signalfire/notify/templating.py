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
The Jinja2 environments are in :mod:`signalfire.notify.sandbox`, imported on the
first Jinja render (cold start: docs/build.md).
"""

from __future__ import annotations

import re
import string
from pathlib import Path, PurePosixPath
from typing import Any

from signalfire.errors import ConfigurationError

TEMPLATE_DIR = Path(__file__).parent / "templates"
_JINJA_MARKUP = re.compile(r"{{|{%|{#")
MAX_OUTPUT = 200_000


class TemplateRefused(ConfigurationError):
    """A template tried to leave the sandbox or its folder."""


def _is_html(name: str) -> bool:
    return name.endswith((".html", ".html.j2", "_html.j2", ".htm"))


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
        name = file_name(spec)
        if name is None and isinstance(spec, str) and not _JINJA_MARKUP.search(spec):
            return _python_format(spec, context)
        # jinja2 here, not at the top: a cold start that renders no Jinja template does not pay for it
        from jinja2 import TemplateError, TemplateNotFound, TemplateSyntaxError
        from jinja2.exceptions import SecurityError, UndefinedError

        from signalfire.notify.sandbox import environments

        plain, html_env = environments(str(self.folder))
        try:
            if name is not None:
                safe = _safe_name(name)
                env = html_env if (html or _is_html(safe)) else plain
                template = env.get_template(safe)
            else:
                if not isinstance(spec, str):
                    raise ConfigurationError("a template must be a string or {\"type\": \"file\", \"template\": ...}")
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
        return out[:MAX_OUTPUT]

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
        return _SafeFormatter().vformat(text, (), context)[:MAX_OUTPUT]
    except TemplateRefused:
        raise
    except (ValueError, IndexError, KeyError):
        return text  # not a format string after all (a lone brace): send it as written
