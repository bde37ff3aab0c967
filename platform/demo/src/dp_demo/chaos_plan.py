"""The chaos run's pure parts: the seeded fault schedule, the ledger of what the collector acknowledged, the Kafka
reconciliation against that ledger, and the figures table.

A fault is one component killed with SIGKILL, left down a few seconds and started again. The ledger keeps, per
simulator sequence number, how often the event was *acknowledged* (a 202 took it, as accepted or rejected) and
how often its outcome was *unknown* (a request with no answer, a 503 that says its records may still be written),
so the reconciliation can tell a lost or duplicated record (a platform bug) from a copy a client's resend may
legitimately have written. An acknowledged event whose request was in flight while Kafka was killed may also be in
its topic twice (the collector README's *Duplicates*: librdkafka can re-send under a new producer epoch a record the
broker had written just before it went away); the ledger counts those acknowledgements apart (``at_fault``), and
their second copy is allowed, reported as ``rewritten``.
"""

from __future__ import annotations

import collections
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: what a round can kill, in the order the table shows them
COMPONENTS = ("kafka", "s3", "postgres", "catalog", "registry", "collector", "flink", "spark")
#: components that are services of the local stack (restarted through it)
STACK_SERVICES = {"kafka": "kafka", "s3": "s3", "postgres": "postgres", "catalog": "catalog", "registry": "registry"}


@dataclass(frozen=True)
class Fault:
    """Round ``round`` kills ``component`` (for ``flink``: the job ``target``) and restarts it after ``down_s``."""

    round: int
    component: str
    down_s: float
    target: str = ""


def plan(seed: int, rounds: int, components: Sequence[str] = COMPONENTS, jobs: Sequence[str] = ()) -> list[Fault]:
    """``rounds`` faults in a seeded random order: every component once per pass over ``components`` (so 10 rounds
    over the 8 components kill each at least once), each down 2-6 s; a Flink fault names one of ``jobs``."""
    unknown = sorted(set(components) - set(COMPONENTS))
    if unknown:
        raise ValueError(f"unknown component(s) {', '.join(unknown)}; known: {', '.join(COMPONENTS)}")
    if rounds < 1 or not components:
        raise ValueError("a chaos run needs at least one round and one component")
    rng = random.Random(seed)  # noqa: S311 - a reproducible schedule, not a secret
    order: list[str] = []
    while len(order) < rounds:
        one_pass = list(components)
        rng.shuffle(one_pass)
        if order and len(one_pass) > 1 and one_pass[0] == order[-1]:  # never the same component twice in a row
            one_pass[0], one_pass[-1] = one_pass[-1], one_pass[0]
        order.extend(one_pass)
    faults = []
    for number, component in enumerate(order[:rounds], start=1):
        target = rng.choice(list(jobs)) if component == "flink" and jobs else ""
        faults.append(Fault(number, component, round(rng.uniform(2.0, 6.0), 1), target))
    return faults


@dataclass
class Ledger:
    """Per simulator sequence number: acknowledged copies (``acked``), copies of unknown outcome (``unknown``), and
    whether the acknowledgement was an acceptance (else a rejection, dead-lettered). Plus the answers seen, by the
    component that was down when they came (``"-"``: none)."""

    acked: collections.Counter[int] = field(default_factory=collections.Counter)
    unknown: collections.Counter[int] = field(default_factory=collections.Counter)
    at_fault: collections.Counter[int] = field(default_factory=collections.Counter)
    """Acknowledgements of requests that were in flight while Kafka was killed: each may have one extra copy."""
    accepted: set[int] = field(default_factory=set)
    rejected: set[int] = field(default_factory=set)
    refused: set[int] = field(default_factory=set)
    """Events a 400 refused as a whole (not JSON): never in Kafka."""
    answers: dict[str, collections.Counter[str]] = field(
        default_factory=lambda: collections.defaultdict(collections.Counter)
    )
    violations: list[str] = field(default_factory=list)
    """Answers the collector must never give: a 500, no answer within the client's timeout while it was up, a 400
    to a JSON body."""

    def ack(self, seq: int, accepted: bool, at_broker_fault: bool = False) -> None:
        self.acked[seq] += 1
        if at_broker_fault:
            self.at_fault[seq] += 1
        (self.accepted if accepted else self.rejected).add(seq)

    def uncertain(self, seqs: Iterable[int]) -> None:
        for seq in seqs:
            self.unknown[seq] += 1

    def answer(self, down: str, status: str) -> None:
        self.answers[down or "-"][status] += 1


@dataclass(frozen=True)
class TopicCheck:
    """One topic's records against the ledger: ``acknowledged`` copies the collector promised, ``records`` found,
    ``lost`` acknowledged copies missing, ``duplicated`` copies beyond what acknowledged and unknown sends can
    explain, ``resent`` copies written by a resend of an unknown outcome, ``rewritten`` second copies of
    acknowledged records that were in flight while Kafka was killed (both allowed; Silver keeps one)."""

    topic: str
    acknowledged: int
    records: int
    lost: int
    duplicated: int
    resent: int
    unexplained: int
    """Records of no event of the workload (nothing the chaos run sent)."""
    rewritten: int = 0

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.unexplained)


def check_topic(topic: str, sent: Mapping[int, str], found: Mapping[str, int], ledger: Ledger) -> TopicCheck:
    """``sent``: seq -> identity (event id, or the dead letter's payload identity) of every event sent to ``topic``;
    ``found``: identity -> copies in the topic. Events sharing an identity (a simulator duplicate re-sends an event)
    are counted together."""
    by_identity: dict[str, list[int]] = collections.defaultdict(list)
    for seq, identity in sent.items():
        by_identity[identity].append(seq)
    acknowledged = lost = duplicated = resent = rewritten = 0
    for identity, seqs in by_identity.items():
        acked = sum(ledger.acked[s] for s in seqs)
        unknown = sum(ledger.unknown[s] for s in seqs)
        at_fault = sum(ledger.at_fault[s] for s in seqs)
        copies = found.get(identity, 0)
        acknowledged += acked
        lost += max(0, acked - copies)
        duplicated += max(0, copies - acked - unknown - at_fault)
        resent += max(0, min(copies, acked + unknown) - acked)
        rewritten += max(0, min(copies, acked + unknown + at_fault) - acked - unknown)
    unexplained = sum(n for identity, n in found.items() if identity not in by_identity)
    records = sum(found.values())
    return TopicCheck(topic, acknowledged, records, lost, duplicated, resent, unexplained, rewritten)


@dataclass(frozen=True)
class Recovery:
    """One fault as it happened: when it was injected (seconds into the run), how long the component was down,
    how long its restart took until healthy (``None``: it did not recover), and what else had to be restarted."""

    fault: Fault
    at_s: float
    down_s: float
    recovery_s: float | None
    note: str = ""


def figures(recoveries: Sequence[Recovery], checks: Sequence[TopicCheck], ledger: Ledger) -> dict[str, Any]:
    """The run's figures: per component faults and recovery times; events acknowledged, lost, duplicated, resent;
    the collector's answers while each component was down."""
    per: dict[str, dict[str, Any]] = {}
    for component in COMPONENTS:
        mine = [r for r in recoveries if r.fault.component == component]
        if not mine:
            continue
        times = [r.recovery_s for r in mine if r.recovery_s is not None]
        per[component] = {
            "faults": len(mine),
            "recovered": len(times),
            "recovery_s_max": round(max(times), 1) if times else None,
            "recovery_s_mean": round(sum(times) / len(times), 1) if times else None,
            "answers_while_down": dict(sorted(ledger.answers.get(component, {}).items())),
        }
    return {
        "components": per,
        "events": {
            "acknowledged": sum(c.acknowledged for c in checks),
            "lost": sum(c.lost for c in checks),
            "duplicated": sum(c.duplicated for c in checks),
            "resent_after_unknown_outcome": sum(c.resent for c in checks),
            "rewritten_after_broker_fault": sum(c.rewritten for c in checks),
            "unexplained": sum(c.unexplained for c in checks),
            "unknown_outcome_sends": sum(ledger.unknown.values()),
            "refused_400_not_json": len(ledger.refused),
        },
        "answers": {k: dict(sorted(v.items())) for k, v in sorted(ledger.answers.items())},
        "violations": list(ledger.violations),
    }


def render_figures(found: Mapping[str, Any]) -> list[str]:
    """The figures as text lines."""
    head = f"  {'component':<11}{'faults':>7}{'recovered':>10}{'recovery s (mean/max)':>23}"
    out = [head + "  collector answers while down"]
    for component, c in found["components"].items():
        mean = "-" if c["recovery_s_mean"] is None else f"{c['recovery_s_mean']:.1f}"
        top = "-" if c["recovery_s_max"] is None else f"{c['recovery_s_max']:.1f}"
        answers = ", ".join(f"{status}: {n:,}" for status, n in c["answers_while_down"].items()) or "-"
        out.append(f"  {component:<11}{c['faults']:>7}{c['recovered']:>10}{mean + ' / ' + top:>23}  {answers}")
    e = found["events"]
    out.append(
        f"  events acknowledged {e['acknowledged']:,}, lost {e['lost']:,}, duplicated {e['duplicated']:,}; "
        f"{e['unknown_outcome_sends']:,} send(s) of unknown outcome resent ({e['resent_after_unknown_outcome']:,} "
        f"written twice, allowed and deduplicated by Silver); {e['rewritten_after_broker_fault']:,} acknowledged "
        f"record(s) in flight at a Kafka kill written twice (allowed, ditto); {e['refused_400_not_json']:,} not-JSON "
        "event(s) refused with 400"
    )
    if found["violations"]:
        out.append(f"  collector answers it must never give: {len(found['violations'])}")
        out.extend(f"    {v}" for v in found["violations"][:10])
    return out
