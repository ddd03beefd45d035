"""The ``signalfire`` command."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading


def _params(values: list[str]) -> dict[str, str]:
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--param takes NAME=VALUE, got {item!r}")
        out[key] = value
    return out


def cmd_local(args: argparse.Namespace) -> int:
    # Read by the shared logger when the handlers load (signalfire.observability).
    os.environ["SIGNALFIRE_LOG_FORMAT"] = args.log_format
    from signalfire_local.iam import PolicyError
    from signalfire_local.routing import RouteKeyError
    from signalfire_local.server import make_server
    from signalfire_local.stack import LocalStack

    try:
        stack = LocalStack(args.template, token=args.token, admin_token=args.admin_token,
                           parameters=_params(args.param), outbox=args.outbox, data_dir=args.data_dir)
    except (RouteKeyError, PolicyError) as exc:  # what AWS would refuse never starts locally
        print(f"signalfire local: template.yaml: {exc}", file=sys.stderr)
        return 2
    stack.start()
    try:
        server = make_server(stack, args.host, args.port)
    except OSError as exc:
        stack.stop()
        print(f"signalfire local: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 2
    server.verbose = args.verbose  # type: ignore[attr-defined]
    base = f"http://{args.host}:{server.server_address[1]}"
    os.environ["SIGNALFIRE_PUBLIC_URL"] = base  # links in notifications point at this server
    print(f"""signalfire local is running on {base}
  webhook token : {stack.token}
  admin token   : {stack.admin_token}

Send a first alert:
  curl -s -X POST '{base}/alerts/webhook/?token={stack.token}' \\
       -H 'Content-Type: application/json' \\
       -d '{{"name": "DiskFull", "severity": "critical", "labels": {{"host": "web-1"}}}}'
The notification prints here. Then look at the incident and the run's stages:
  curl -s -H 'Authorization: Bearer {stack.admin_token}' {base}/incidents/
  curl -s -H 'Authorization: Bearer {stack.admin_token}' {base}/runs/
Report this machine's health (pip install ./agent):
  SIGNALFIRE_AGENT_TOKEN={stack.token} signalfire-agent run --api-url {base}

Ctrl-C stops.""", flush=True)
    if stack.data is not None:
        print(f"Data is kept in {stack.data.path} (restarts keep it).", flush=True)
    if stack.interrupted_runs:
        print(f"{len(stack.interrupted_runs)} run(s) were in flight when the last process stopped; they are "
              f"FAILED with outcome INTERRUPTED and can be resumed (POST /runs/{{id}}/resume): "
              f"{', '.join(stack.interrupted_runs[:10])}", flush=True)
    from signalfire_local.schedules import ScheduleTimers, template_schedules

    timers = ScheduleTimers(template_schedules(stack.template), stack.invoke, every=args.schedule_every,
                            log=lambda line: print(line, flush=True) if args.verbose or "failed" in line else None)
    for s in timers.schedules:
        every = f"every {args.schedule_every:g}s" if args.schedule_every else s.expression
        print(f"  schedule {s.function}.{s.event}: {every}", flush=True)
    timers.start()

    stopping = threading.Event()

    def _stop(signum: int, frame: object) -> None:
        if not stopping.is_set():
            stopping.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        timers.stop()
        server.server_close()
        stack.stop()
        print("signalfire local stopped.", flush=True)
    return 0


def cmd_openapi(args: argparse.Namespace) -> int:
    from signalfire_local.openapi import build

    text = json.dumps(build(args.template), indent=2)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
    else:
        print(text)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="signalfire", description="signalfire alert pipeline tools")
    sub = parser.add_subparsers(dest="command", required=True)
    local = sub.add_parser("local", help="run the whole stack on this machine (no AWS account, no Docker)")
    local.add_argument("--host", default="127.0.0.1")
    local.add_argument("--port", type=int, default=3000)
    local.add_argument("--template", default=None, help="path to template.yaml (default: the project's)")
    local.add_argument("--token", default=None, help="webhook/agent token (default: $SIGNALFIRE_TOKEN or generated)")
    local.add_argument("--admin-token", default=None,
                       help="management API token (default: $SIGNALFIRE_ADMIN_TOKEN or generated)")
    local.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                       help="override a template parameter, e.g. --param StageRetryIntervalSeconds=1")
    local.add_argument("--outbox", default=None, help="also append local notifications to this JSONL file")
    local.add_argument("--verbose", action="store_true", help="log every HTTP request")
    local.add_argument("--data-dir", default=None, metavar="DIR",
                       help="keep the data (alerts, incidents, runs, pipelines, channels, tokens) in DIR across "
                            "restarts (default: in memory only)")
    local.add_argument("--log-format", choices=("text", "json"), default="text",
                       help="text: one readable line per event (default); json: the structured lines Lambda writes")
    local.add_argument("--schedule-every", type=float, default=None, metavar="SECONDS",
                       help="fire every template schedule each SECONDS instead of its own rate/cron (demos, tests)")
    local.set_defaults(func=cmd_local)
    openapi = sub.add_parser("openapi", help="print the OpenAPI document of the HTTP API")
    openapi.add_argument("--template", default=None)
    openapi.add_argument("--output", default=None, help="write to this file instead of stdout")
    openapi.set_defaults(func=cmd_openapi)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":  # python -m signalfire_local.cli
    sys.exit(main())
