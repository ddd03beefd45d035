"""Agent configuration: a TOML file, overridden by command-line flags.

```toml
api_url = "https://abc.execute-api.eu-west-1.amazonaws.com"
token = "..."                 # or SIGNALFIRE_AGENT_TOKEN in the environment
hostname = "web-1"            # default: this machine's host name
interval = 60                 # seconds between cycles (set it to the cron period with --once)
spool_dir = "/var/lib/signalfire-agent"
checkers = ["cpu", "memory", "disk", "network", "process", "disk_common", "disk_linux"]
scan_interval = 3600          # the directory-walking scanners run this often
snapshot_interval = 60        # top processes / mounts are refreshed this often (and on any non-OK result)
timeout = 10                  # HTTP timeout when posting
spool_max_batches = 1000      # oldest dropped first beyond this (the count is reported)

[checker.disk]
paths = ["/", "/var"]
warning_threshold = 85

[checker.process]
processes = ["nginx", "postgres"]
```
"""

from __future__ import annotations

import os
import socket

from signalfire_agent.checkers import CHECKER_REGISTRY, ConfigError, default_checkers

TYPE_CHECKING = False
if TYPE_CHECKING:  # not imported at run time: typing costs 0.4 MB resident (docs/agent.md)
    from typing import Any


TOKEN_ENV = ("SIGNALFIRE_AGENT_TOKEN", "SIGNALFIRE_TOKEN")


def default_spool_dir() -> str:
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return "/var/lib/signalfire-agent"
    state = os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")
    return os.path.join(state, "signalfire-agent")


#: every config key and its default (a plain class: see models.py on dataclasses)
DEFAULTS: dict[str, Any] = {
    "api_url": "", "token": "", "hostname": "", "interval": 60.0, "spool_dir": "", "checkers": None,
    "checker": None, "scan_interval": 3600.0, "snapshot_interval": 60.0, "timeout": 10.0,
    "spool_max_batches": 1000, "backoff_initial": 2.0, "backoff_max": 300.0,
}


class AgentConfig:
    api_url: str
    token: str
    hostname: str
    interval: float
    spool_dir: str
    checkers: list[str]
    checker: dict[str, dict[str, Any]]
    scan_interval: float
    snapshot_interval: float
    timeout: float
    spool_max_batches: int
    backoff_initial: float
    backoff_max: float

    def __init__(self, **values: Any) -> None:
        unknown = sorted(set(values) - set(DEFAULTS))
        if unknown:
            raise ConfigError(f"unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(DEFAULTS))}")
        for key, default in DEFAULTS.items():
            setattr(self, key, values.get(key, default))
        self.checkers = list(self.checkers) if self.checkers is not None else default_checkers()
        self.checker = dict(self.checker or {})

    def __repr__(self) -> str:  # never the token
        return f"AgentConfig(api_url={self.api_url!r}, hostname={self.hostname!r}, checkers={self.checkers!r})"

    def validate(self) -> AgentConfig:
        unknown = [n for n in self.checkers if n not in CHECKER_REGISTRY]
        if unknown:
            raise ConfigError(f"unknown checker(s) {', '.join(unknown)}; known: {', '.join(CHECKER_REGISTRY)}")
        stray = [n for n in self.checker if n not in CHECKER_REGISTRY]
        if stray:
            raise ConfigError(f"[checker.{stray[0]}]: no such checker; known: {', '.join(CHECKER_REGISTRY)}")
        if self.interval <= 0 or self.scan_interval <= 0:
            raise ConfigError("interval and scan_interval must be positive numbers of seconds")
        if self.spool_max_batches < 1:
            raise ConfigError("spool_max_batches must be at least 1")
        self.api_url = self.api_url.rstrip("/")
        if self.api_url and not self.api_url.startswith(("http://", "https://")):
            raise ConfigError(f"api_url must start with http:// or https://, got {self.api_url!r}")
        return self


def load(path: str | None = None, overrides: dict[str, Any] | None = None) -> AgentConfig:
    """Read ``path`` (TOML), apply ``overrides`` (flags, ``None`` = not given), fill defaults."""
    data: dict[str, Any] = {}
    if path:
        import tomllib  # only when a config file is given

        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError as exc:
            raise ConfigError(f"config file {path} not found") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path}: {exc}") from exc
    extra = sorted(set(data) - set(DEFAULTS))
    if extra:
        raise ConfigError(f"config file {path}: unknown key(s) {', '.join(extra)}; known: {', '.join(sorted(DEFAULTS))}")
    for key, value in (overrides or {}).items():
        if value is not None:
            data[key] = value
    if not data.get("token"):
        for env in TOKEN_ENV:
            if os.environ.get(env):
                data["token"] = os.environ[env]
                break
    cfg = AgentConfig(**data)
    cfg.hostname = cfg.hostname or socket.gethostname()
    cfg.spool_dir = cfg.spool_dir or default_spool_dir()
    for key in ("interval", "scan_interval", "snapshot_interval", "timeout", "backoff_initial", "backoff_max"):
        value = getattr(cfg, key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{key} must be a number of seconds, got {value!r}")
        setattr(cfg, key, float(value))
    return cfg.validate()


def build_checkers(cfg: AgentConfig) -> dict[str, Any]:
    return {name: CHECKER_REGISTRY[name](**dict(cfg.checker.get(name, {}))) for name in cfg.checkers}
