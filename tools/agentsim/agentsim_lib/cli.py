# SPDX-License-Identifier: MIT
"""Command line of agentsim."""

import argparse
import json
import os
import stat
import sys

from . import VERSION, control, scenario as scn

USAGE_EXAMPLES = """\
examples:
  agentsim list
  agentsim run --scenario normal --duration 30 --log /tmp/truth.jsonl
  agentsim run --scenario load-spike --tls --seed 7
  agentsim run --scenario normal --total-instances 100 --control-port 0
  agentsim scale coder 4
  agentsim status
"""


def _instances(text):
    out = {}
    for part in text.split(","):
        if not part.strip():
            continue
        name, sep, num = part.partition("=")
        if not sep or not num.strip().isdigit():
            raise argparse.ArgumentTypeError("expected POOL=N[,POOL=N...], got %r" % part)
        out[name.strip()] = int(num)
    return out


def _positive(text):
    try:
        val = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a number of seconds, got %r" % text)
    if val <= 0 or val > scn.MAX_RUN_S:
        raise argparse.ArgumentTypeError("must be in (0, %d]" % scn.MAX_RUN_S)
    return val


DEFAULT_STATSD_SOCKET = "/run/swarmwatch/statsd.sock"


def _statsd(text):
    """--statsd: unix:PATH, udp:HOST:PORT, off or auto."""
    if text in ("off", "auto"):
        return text
    kind, _, where = text.partition(":")
    if kind == "unix" and where.startswith("/"):
        return text
    if kind == "udp" and ":" in where and where.rsplit(":", 1)[1].isdigit():
        return text
    raise argparse.ArgumentTypeError(
        "%r: give unix:PATH, udp:HOST:PORT, off or auto" % text)


def _statsd_target(text):
    """The StatsD target agents get, or None: auto means the default socket if it exists."""
    if text == "off":
        return None
    if text == "auto":
        try:
            if stat.S_ISSOCK(os.stat(DEFAULT_STATSD_SOCKET).st_mode):
                return "unix:" + DEFAULT_STATSD_SOCKET
        except OSError:
            pass
        return None
    return text


def _port(text):
    try:
        val = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a port number, got %r" % text)
    if not 0 <= val <= 65535:
        raise argparse.ArgumentTypeError("port must be in 0..65535")
    return val


def build_parser():
    p = argparse.ArgumentParser(
        prog="agentsim",
        description="agentsim runs pools of simulated AI agents (each started with "
        "SWARMWATCH_AGENT=<pool>) against a mock LLM API, following a scenario, "
        "so swarmwatch has agents to watch whose behaviour is known.",
        epilog=USAGE_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version="agentsim " + VERSION)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    r = sub.add_parser("run", help="run a scenario",
                       description="Run a scenario: start the mock servers and the agent "
                       "pools, follow the phases, stop everything at the end or on "
                       "SIGINT/SIGTERM.")
    r.add_argument("--scenario", required=True, metavar="NAME|FILE",
                   help="a shipped scenario (see `agentsim list`) or a JSON file")
    r.add_argument("--duration", type=_positive, metavar="SECONDS",
                   help="run length (default: the scenario's duration)")
    r.add_argument("--seed", type=int, metavar="N", help="seed of every random draw "
                   "(default: the scenario's seed)")
    r.add_argument("--log", metavar="FILE", help="write the ground-truth JSON-lines log here")
    r.add_argument("--no-request-log", action="store_true",
                   help="leave per-request records out of the log (counts stay in run_end)")
    r.add_argument("--tls", action="store_true",
                   help="serve the mock LLM API over HTTPS (self-signed, needs openssl)")
    r.add_argument("--control-port", type=_port, default=control.DEFAULT_PORT, metavar="PORT",
                   help="port of the control endpoint on 127.0.0.1 (default %d; 0 picks a "
                   "free one)" % control.DEFAULT_PORT)
    r.add_argument("--llm-port", type=_port, default=0, metavar="PORT",
                   help="port of the mock LLM API (default: a free one)")
    r.add_argument("--tool-port", type=_port, default=0, metavar="PORT",
                   help="port of the mock tool API (default: a free one)")
    r.add_argument("--instances", type=_instances, default={}, metavar="POOL=N[,...]",
                   help="start with these instance counts instead of the scenario's")
    r.add_argument("--total-instances", type=int, metavar="N",
                   help="start N instances in all, shared out like the scenario's counts")
    r.add_argument("--sample-interval", type=_positive, default=1.0, metavar="SECONDS",
                   help="how often a pool_sample line goes to the log (default 1)")
    r.add_argument("--webhook-secret", metavar="SECRET",
                   default=os.environ.get("AGENTSIM_WEBHOOK_SECRET"),
                   help="require an HMAC-SHA256 signature of scaling webhooks in the %s "
                   "header (also $AGENTSIM_WEBHOOK_SECRET)" % control.SIGNATURE_HEADER)
    r.add_argument("--max-hog-mb", type=int, default=1024, metavar="MB",
                   help="cap on the memory one memory_hog agent takes (default 1024)")
    r.add_argument("--statsd", type=_statsd, default="auto", metavar="WHERE",
                   help="where agents report quality, queue length, queue wait and cost as "
                        "StatsD: unix:PATH, udp:HOST:PORT, off, or auto (the default: unix:"
                        + DEFAULT_STATSD_SOCKET + " when that socket exists, else off)")
    r.add_argument("-q", "--quiet", action="store_true", help="print errors only")

    sub.add_parser("list", help="list the shipped scenarios")

    s = sub.add_parser("scale", help="change the instance count of a pool of a running agentsim")
    s.add_argument("pool")
    s.add_argument("count", type=int, metavar="N")
    s.add_argument("--reason", default="agentsim scale")
    s.add_argument("--control", metavar="URL",
                   help="control URL (default: $AGENTSIM_CONTROL, else the running agentsim's, "
                   "else http://127.0.0.1:%d)" % control.DEFAULT_PORT)

    st = sub.add_parser("status", help="show pools and counts of a running agentsim")
    st.add_argument("--control", metavar="URL")
    st.add_argument("--json", action="store_true", help="print the raw JSON")

    c = sub.add_parser("check", help="validate scenario files")
    c.add_argument("scenarios", nargs="+", metavar="NAME|FILE")
    return p


def cmd_list(args):
    rows = []
    for name, path in scn.list_scenarios():
        try:
            sc = scn.load(path)
        except scn.ScenarioError as e:
            rows.append((name, "-", "-", "invalid: %s" % e))
            continue
        pools = ",".join("%s=%d" % (n, p["instances"]) for n, p in sc.pools.items())
        rows.append((name, "%gs" % sc.duration, pools, sc.description))
    if not rows:
        print("no scenarios in %s" % scn.scenarios_dir())
        return 1
    w = max(len(r[0]) for r in rows)
    for name, dur, pools, desc in rows:
        print("%-*s  %6s  %-28s  %s" % (w, name, dur, pools, desc))
    return 0


def cmd_run(args):
    from . import oomcg, supervisor, tlscert
    sc = scn.load(args.scenario)
    opts = supervisor.Options(
        duration=args.duration, seed=args.seed, log=args.log, tls=args.tls,
        control_port=args.control_port, llm_port=args.llm_port, tool_port=args.tool_port,
        instances=args.instances, total_instances=args.total_instances, quiet=args.quiet,
        request_log=not args.no_request_log, sample_interval=args.sample_interval,
        webhook_secret=args.webhook_secret, hog_cap_mb=args.max_hog_mb,
        statsd=_statsd_target(args.statsd))
    sup = supervisor.Supervisor(sc, opts)
    try:
        return sup.run()
    except tlscert.TLSError as e:
        sys.stderr.write("agentsim: %s\n" % e)
        return 1
    except oomcg.Unavailable as e:
        sys.stderr.write("agentsim: %s: %s\n" % (sc.name, e))
        return 2


def cmd_scale(args):
    url = control.find_url(args.control)
    if args.count < 0:
        sys.stderr.write("agentsim: scale: N must be >= 0\n")
        return 2
    body = {"pool": args.pool, "desired_replicas": args.count, "reason": args.reason,
            "source": "cli"}
    try:
        status, resp = control.request(url + "/v1/scale", "POST", body)
    except OSError as e:
        sys.stderr.write("agentsim: scale: no agentsim answers at %s (%s); is `agentsim run` "
                         "going? pass --control URL otherwise\n" % (url, getattr(e, "reason", e)))
        return 1
    if status != 200:
        msg = resp.get("error") if isinstance(resp, dict) else resp
        sys.stderr.write("agentsim: scale: %s\n" % msg)
        return 1
    for item in resp["applied"]:
        print("%s: %d -> %d%s" % (item["pool"], item["previous"], item["desired"],
                                  " (clamped from %d)" % item["requested"] if item["clamped"]
                                  else ""))
    return 0


def cmd_status(args):
    url = control.find_url(args.control)
    try:
        status, st = control.request(url + "/v1/status")
    except OSError as e:
        sys.stderr.write("agentsim: status: no agentsim answers at %s (%s)\n" % (
            url, getattr(e, "reason", e)))
        return 1
    if args.json:
        print(json.dumps(st, indent=2, sort_keys=True))
        return 0
    print("scenario %s  t=%.1f/%g s  phase %s  faults %s" % (
        st.get("scenario"), st.get("t", 0), st.get("duration", 0), st.get("phase"),
        ",".join(st.get("faults") or []) or "-"))
    print("%-12s %7s %9s %9s %9s %10s" % ("pool", "desired", "instances", "llm_req", "tool_req",
                                           "cost_usd"))
    for name, p in sorted((st.get("pools") or {}).items()):
        print("%-12s %7d %9d %9d %9d %10.4f" % (name, p["desired"], p["instances"],
                                                 p["requests"]["llm"]["total"],
                                                 p["requests"]["tool"]["total"], p["cost_usd"]))
    return 0


def cmd_check(args):
    bad = 0
    for name in args.scenarios:
        try:
            sc = scn.load(name)
            sc.timeline(sc.duration)
            print("%s: ok (%d phases, %g s)" % (name, len(sc.phases), sc.duration))
            if sc.has_oom(sc.duration):
                from . import oomcg
                try:
                    oomcg.detect()
                except oomcg.Unavailable as e:
                    print("%s: note: `run` will refuse it on this host: %s" % (name, e))
        except scn.ScenarioError as e:
            print("%s" % e)
            bad += 1
    return 1 if bad else 0


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return {"run": cmd_run, "list": cmd_list, "scale": cmd_scale, "status": cmd_status,
                "check": cmd_check}[args.command](args)
    except scn.ScenarioError as e:
        sys.stderr.write("agentsim: %s\n" % e)
        return 2
    except OSError as e:
        sys.stderr.write("agentsim: %s\n" % (e.strerror or e))
        return 1
    except KeyboardInterrupt:
        return 130
