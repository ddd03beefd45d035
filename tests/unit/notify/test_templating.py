"""Templates: sandboxed Jinja2, confined files, autoescaped HTML, Python-format fallback."""

from __future__ import annotations

import pytest

from signalfire.errors import ConfigurationError
from signalfire.notify.templating import TEMPLATE_DIR, Renderer, TemplateRefused

CTX = {"title": "DiskFull", "severity": "critical", "tags": {"host": "web-1"}, "message": "<b>97%</b>"}


@pytest.mark.parametrize("template", [
    "{{ ''.__class__ }}",
    "{{ title.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{% for c in ''.__class__.__mro__ %}{{ c }}{% endfor %}",
    "{{ self._TemplateReference__context }}",
    "{{ tags.__class__ }}",
    "{{ 'x' * 10**9 }}",
    "{title.__class__}",
    "{tags[host]}",
    "{title:>99999999}",
])
def test_templates_cannot_reach_python_internals(template):
    with pytest.raises(TemplateRefused):
        Renderer().render(template, CTX)


@pytest.mark.parametrize("spec", [
    "file:../models.py", "file:/etc/passwd", "file:../../../../etc/passwd", "file:~/x.j2",
    {"type": "file", "template": "sub/../../compose.py"}, "{% include '../models.py' %}",
    "{% import '/etc/passwd' as p %}", "file:does_not_exist.j2",
])
def test_files_outside_the_template_folder_are_refused(spec):
    with pytest.raises(TemplateRefused):
        Renderer().render(spec, CTX)


def test_inline_file_and_python_format():
    r = Renderer()
    assert r.render("{{ title }} on {{ tags.host }} {{ missing }}{{ missing.deeper }}", CTX) == "DiskFull on web-1 "
    assert r.render("{title} is {severity} {absent}", CTX) == "DiskFull is critical "
    assert r.render("plain text with a } brace", CTX) == "plain text with a } brace"
    assert r.render("file:default_subject.j2", {**CTX, "label": "FIRING", "emoji": "", "hosts": ["web-1"]}).strip() \
        == "[FIRING] DiskFull on web-1"
    assert r.render({"type": "file", "template": "pagerduty_text.j2"}, {**CTX, "label": "FIRING"}).startswith(
        "FIRING: DiskFull")


def test_html_is_autoescaped_text_is_not():
    r = Renderer()
    assert r.render("{{ message }}", CTX, html=True) == "&lt;b&gt;97%&lt;/b&gt;"
    assert r.render("{{ message }}", CTX) == "<b>97%</b>"
    assert "&lt;b&gt;" in r.render("file:email_html.j2", CTX)


def test_syntax_errors_are_configuration_errors():
    with pytest.raises(ConfigurationError, match="syntax"):
        Renderer().render("{% if %}", CTX)


def test_default_templates_ship_for_every_part():
    r = Renderer()
    names = {p.name for p in TEMPLATE_DIR.glob("*.j2")}
    assert {"default_text.j2", "default_subject.j2", "email_html.j2", "slack_text.j2", "pagerduty_text.j2"} <= names
    assert r.default_name("email", "html") == "email_html.j2"
    assert r.default_name("email", "text") == "default_text.j2"
    assert r.default_name("slack", "text") == "slack_text.j2"


def test_templates_are_package_data():
    import tomllib

    from support import ROOT

    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["signalfire"]
    assert "**/*.j2" in data
