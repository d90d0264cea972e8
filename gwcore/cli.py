"""The `gwcore` command line: run, check, reload, stop, top, version."""
import argparse
import os
import sys

from gwcore import __version__


def version_line() -> str:
    from gwcore import fastpath
    return f"gwcore {__version__} fastpath={fastpath.IMPLEMENTATION} python={sys.version_info[0]}.{sys.version_info[1]}"


def cmd_version(args) -> int:
    print(version_line())
    return 0


def cmd_check(args) -> int:
    from gwcore.config import ConfigError, load_plan
    try:
        plan = load_plan(args.config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        count = len(exc.problems)
        print(f"{args.config}: invalid, {count} problem{'s' if count != 1 else ''}", file=sys.stderr)
        return 1
    print(f"{args.config}: valid; {plan.summary()}")
    return 0


def cmd_run(args) -> int:
    from gwcore.supervisor.arbiter import run_from_cli
    return run_from_cli(args)


def cmd_reload(args) -> int:
    from gwcore.supervisor import client
    return client.reload(args.pidfile, args.timeout)


def cmd_stop(args) -> int:
    from gwcore.supervisor import client
    return client.stop(args.pidfile, args.timeout)


def cmd_top(args) -> int:
    import importlib.util
    if importlib.util.find_spec("rich") is None:
        print("gwcore top needs the optional extra `top` (the rich library): pip install 'gwcore[top]'",
              file=sys.stderr)
        return 2
    from gwcore import top
    token = args.token or os.environ.get("GWCORE_ADMIN_TOKEN")
    url = args.admin if "://" in args.admin else f"http://{args.admin}"
    return top.run(url, token, once=args.once, interval=args.interval)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gwcore", description="A fast, self-hosted API gateway.")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="serve the gateway")
    run.add_argument("--config", required=True, help="YAML or JSON config file")
    run.add_argument("--workers", help="number of worker processes, or auto")
    run.add_argument("--listen", help="HOST:PORT to listen on (beats the config file)")
    run.add_argument("--pidfile", help="write the supervisor's pid here")
    run.set_defaults(func=cmd_run)

    check = sub.add_parser("check", help="validate a config file; exit 1 listing every problem")
    check.add_argument("--config", required=True)
    check.set_defaults(func=cmd_check)

    reload = sub.add_parser("reload", help="reload the config of a running gateway; exit 1 if refused")
    reload.add_argument("--pidfile", required=True, help="the pid file given to `gwcore run`")
    reload.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the outcome")
    reload.set_defaults(func=cmd_reload)

    stop = sub.add_parser("stop", help="stop a running gateway gracefully and wait until it is gone")
    stop.add_argument("--pidfile", required=True, help="the pid file given to `gwcore run`")
    stop.add_argument("--timeout", type=float, help="seconds to wait (default: timeouts.graceful + 10)")
    stop.set_defaults(func=cmd_stop)

    top = sub.add_parser("top", help="live view of a running gateway's workers (needs gwcore[top])")
    top.add_argument("--admin", default="127.0.0.1:9901", help="the admin listener, HOST:PORT or URL")
    top.add_argument("--token", default=None, help="the admin token (default: $GWCORE_ADMIN_TOKEN)")
    top.add_argument("--once", action="store_true", help="print one frame and exit (no live refresh)")
    top.add_argument("--interval", type=float, default=1.0, help="seconds between refreshes")
    top.set_defaults(func=cmd_top)

    version = sub.add_parser("version", help="print the version, fast path and Python")
    version.set_defaults(func=cmd_version)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)
