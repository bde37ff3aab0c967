"""``python -m dp_flink_jobs run aggregator|enricher [...]``: what ``dp stream run|submit`` executes."""

from __future__ import annotations

import argparse
import sys

from dp_flink_jobs.run import RunOptions, main_run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dp_flink_jobs", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a speed-layer job")
    run.add_argument("job", choices=["aggregator", "enricher"])
    run.add_argument("--until-idle", type=float, metavar="SECONDS", help="stop once caught up for this long")
    run.add_argument("--remote", metavar="HOST:PORT", help="submit to this session cluster (REST) and return")
    run.add_argument("--reset", action="store_true", help="forget the job's checkpoints first")
    run.add_argument("--domain", help="contract domain (default: the one domain that has the job's contracts)")
    run.add_argument("--timeout", type=float, metavar="SECONDS", help="fail if not idle after this long")
    run.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(argv)
    options = RunOptions(args.until_idle, args.remote, args.reset, args.domain, args.timeout)
    return main_run(args.job, options, args.json)


if __name__ == "__main__":
    sys.exit(main())
