"""``signalfire-agent run [--once] ...`` and ``signalfire-agent check [--json]``."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from signalfire_agent import __version__, log
from signalfire_agent.checkers import CHECKER_REGISTRY, ConfigError
from signalfire_agent.config import AgentConfig, load
from signalfire_agent.models import CheckStatus, worst

TYPE_CHECKING = False
if TYPE_CHECKING:  # not imported at run time: typing costs 0.4 MB resident (docs/agent.md)
    from typing import Any


#: `check` exits like a Nagios plugin, so it can be used as one
EXIT = {CheckStatus.OK: 0, CheckStatus.WARNING: 1, CheckStatus.CRITICAL: 2, CheckStatus.UNKNOWN: 3}


def _checker_list(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in CHECKER_REGISTRY]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown checker(s) {', '.join(unknown)}; known: {', '.join(CHECKER_REGISTRY)}")
    return names


def _setting(text: str) -> tuple[str, str, object]:
    import tomllib

    target, sep, raw = text.partition("=")
    checker, dot, key = target.strip().partition(".")
    if not sep or not dot or not key:
        raise argparse.ArgumentTypeError(f"{text!r}: write CHECKER.KEY=VALUE, e.g. cpu.warning_threshold=80")
    if checker not in CHECKER_REGISTRY:
        raise argparse.ArgumentTypeError(f"unknown checker {checker!r}; known: {', '.join(CHECKER_REGISTRY)}")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()  # a bare word is a string
    return checker, key.strip(), value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="signalfire-agent", description=__doc__)
    p.add_argument("--version", action="version", version=f"signalfire-agent {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", help="TOML config file (flags override it)")
    common.add_argument("--hostname", help="host name to report (default: this machine's)")
    common.add_argument("--checkers", type=_checker_list, help="comma-separated checkers to run")
    common.add_argument("--set", dest="settings", action="append", type=_setting, default=[], metavar="CHECKER.KEY=VALUE",
                        help="override one checker setting, VALUE in TOML syntax (repeatable), "
                             "e.g. --set disk.paths='[\"/\", \"/var\"]' --set cpu.warning_threshold=80")
    common.add_argument("-v", "--verbose", action="store_true", help="one line per cycle")
    run = sub.add_parser("run", parents=[common], help="check and post to signalfire (loop, or --once for cron)")
    run.add_argument("--once", action="store_true", help="one cycle, then exit (for cron)")
    run.add_argument("--interval", type=float, help="seconds between cycles (default 60)")
    run.add_argument("--api-url", help="signalfire API base URL; batches go to {api-url}/checks/")
    run.add_argument("--token", help="ingest token (better: SIGNALFIRE_AGENT_TOKEN or the config file)")
    run.add_argument("--spool-dir", help="where unsent batches wait (default /var/lib/signalfire-agent)")
    check = sub.add_parser("check", parents=[common], help="run the checkers and print the results; send nothing")
    check.add_argument("--json", action="store_true", help="print the results as JSON")
    return p


def _config(args: argparse.Namespace) -> AgentConfig:
    overrides: dict[str, Any] = {"hostname": args.hostname, "checkers": args.checkers}
    for key in ("interval", "api_url", "token", "spool_dir"):
        overrides[key] = getattr(args, key, None)
    cfg = load(args.config, overrides)
    for checker, key, value in args.settings:
        cfg.checker.setdefault(checker, {})[key] = value
    return cfg


def cmd_check(args: argparse.Namespace) -> int:
    import tempfile

    from signalfire_agent.agent import Agent

    cfg = _config(args)
    with tempfile.TemporaryDirectory() as tmp:
        cfg.spool_dir, cfg.api_url = tmp, ""
        results = Agent(cfg).run_checks()
    if args.json:
        print(json.dumps({"hostname": cfg.hostname, "results": [r.to_dict() for r in results]}, indent=2))
    else:
        for r in results:
            print(f"{r.status.value.upper():9} {r.checker_name:12} {r.message}")
    return EXIT[worst([r.status for r in results])]


def cmd_run(args: argparse.Namespace) -> int:
    from signalfire_agent.agent import Agent

    cfg = _config(args)
    if not cfg.api_url:
        raise ConfigError("no API URL: pass --api-url or set api_url in the config file")
    if not cfg.token:
        raise ConfigError("no token: pass --token, set SIGNALFIRE_AGENT_TOKEN or token in the config file")
    agent = Agent(cfg)
    if args.once:
        report = agent.cycle()
        log.info("sent %d, rejected %d, %d waiting in %s", report.sent, report.rejected, report.pending,
                     agent.spool.outbox)
        return 0
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    log.info("signalfire-agent %s: %s every %gs to %s/checks/ as %s", __version__, ",".join(cfg.checkers),
                 cfg.interval, cfg.api_url, cfg.hostname)
    agent.run_forever(stop)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    log.VERBOSE[0] = args.verbose
    try:
        return cmd_check(args) if args.command == "check" else cmd_run(args)
    except ConfigError as exc:
        print(f"signalfire-agent: {exc}", file=sys.stderr)
        return 64


if __name__ == "__main__":
    sys.exit(main())
