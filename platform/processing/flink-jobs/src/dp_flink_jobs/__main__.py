"""``python -m dp_flink_jobs run|commits aggregator|enricher [...]``: what ``dp stream run|submit|commits`` execute."""

from __future__ import annotations

import argparse
import sys

from dp_flink.names import JOBS
from dp_flink_jobs.run import RunOptions, main_run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dp_flink_jobs", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a speed-layer job")
    run.add_argument("job", choices=JOBS)
    run.add_argument("--until-idle", type=float, metavar="SECONDS", help="stop once caught up for this long")
    run.add_argument("--remote", metavar="HOST:PORT", help="submit to this session cluster (REST) and return")
    run.add_argument("--reset", action="store_true", help="forget the job's checkpoints first")
    run.add_argument("--domain", help="contract domain (default: the one domain that has the job's contracts)")
    run.add_argument("--timeout", type=float, metavar="SECONDS", help="fail if not idle after this long")
    run.add_argument("--json", action="store_true", help="print the summary as JSON")
    commits = sub.add_parser("commits", help="a job's newest checkpoints: snapshots, offsets, watermark")
    commits.add_argument("job", choices=JOBS)
    commits.add_argument("--domain", help="contract domain (default: the one domain that has the job's contracts)")
    commits.add_argument("--last", type=int, default=5, metavar="N", help="how many checkpoints (default 5)")
    commits.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    if args.command == "commits":
        from dp_flink_jobs.commits import main_commits

        return main_commits(args.job, args.domain, args.last, args.json)
    options = RunOptions(args.until_idle, args.remote, args.reset, args.domain, args.timeout)
    return main_run(args.job, options, args.json)


if __name__ == "__main__":
    sys.exit(main())
