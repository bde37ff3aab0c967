"""The shop simulator: reproducible, exact in its counts, contract-valid where it means to be and nowhere else."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import random
import re
import time
import uuid
from collections import Counter, defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from dp_contracts.compiler import to_json_schema
from dp_contracts.model import Contract, contracts_dir, load_contracts
from dp_core.errors import PlatformError
from dp_ingest.codec import ContractCodec
from dp_ingest.convert import compile_converter
from dp_simulator import (
    CONTRACTS,
    ID_FIELDS,
    ManifestBuilder,
    SimEvent,
    SimulationConfig,
    SimulationConfigError,
    simulate,
    write_manifest,
)
from dp_simulator.corrupt import CORRUPTIONS, FIELD_SPECS
from dp_simulator.shop import TAX_RATES

REPO = Path(__file__).resolve().parents[4]
START = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)
FIVE_MIN = dt.timedelta(minutes=5)
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
MONEY = re.compile(r"^\d+\.\d\d$")
#: a few thousand events with every anomaly, over about two and a half hours of simulated time (refunds need it)
BIG = SimulationConfig(
    seed=20261125, count=6000, start=START, late=0.05, duplicates=0.06, malformed=0.07, mean_gap_ms=1500.0
)
#: many more late events and orders, for rules that only rare cases break (a lag near 5 minutes, a tax of x.xx5)
WIDE = SimulationConfig(seed=7, count=40_000, start=START, late=0.3, duplicates=0.01, malformed=0.01)
SENT_KINDS = ("valid", "late")


@pytest.fixture(scope="module")
def contracts() -> dict[str, Contract]:
    return {c.name: c for c in load_contracts(contracts_dir(REPO)) if c.domain == "commerce"}


@pytest.fixture(scope="module")
def validators(contracts: dict[str, Contract]) -> dict[str, Any]:
    return {name: Draft202012Validator(to_json_schema(c.record)) for name, c in contracts.items()}


@pytest.fixture(scope="module")
def run() -> list[SimEvent]:
    return list(simulate(BIG))


@pytest.fixture(scope="module")
def wide_run() -> list[SimEvent]:
    return list(simulate(WIDE))


@pytest.fixture(scope="module")
def unique(run: list[SimEvent]) -> list[SimEvent]:
    """Valid and late events: each one sent once, each one expected once in Silver."""
    return [e for e in run if e.kind in SENT_KINDS]


def _payloads(events: list[SimEvent], contract: str) -> list[dict[str, Any]]:
    return [e.payload for e in events if e.contract == contract and e.payload is not None]


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _half_up(count: int, fraction: str) -> int:
    return int((Decimal(fraction) * count).to_integral_value(ROUND_HALF_UP))


# ------------------------------------------------------------------------------------------------ reproducibility


def test_the_same_seed_gives_the_same_events() -> None:
    config = SimulationConfig(seed=42, count=3000, start=START, late=0.1, duplicates=0.1, malformed=0.1)
    first, second = list(simulate(config)), list(simulate(config))
    assert first == second
    assert [json.dumps(e.payload, sort_keys=True) for e in first] == [
        json.dumps(e.payload, sort_keys=True) for e in second
    ]


def test_another_seed_gives_other_events() -> None:
    one = list(simulate(SimulationConfig(seed=1, count=1000, start=START, duplicates=0.1)))
    other = list(simulate(SimulationConfig(seed=2, count=1000, start=START, duplicates=0.1)))
    assert [e.event_id for e in one] != [e.event_id for e in other]
    assert {e.event_id for e in one[300:] if e.kind == "valid"}.isdisjoint(
        e.event_id for e in other[300:] if e.kind == "valid"
    )


def test_no_wall_clock_or_os_randomness(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*_: object, **__: object) -> Any:
        raise AssertionError("the simulator must draw everything from its seeded generator")

    config = SimulationConfig(seed=3, count=2000, start=START, late=0.1, duplicates=0.1, malformed=0.1)
    expected = list(simulate(config))
    for name in ("uuid4", "uuid1"):
        monkeypatch.setattr(uuid, name, forbidden)
    monkeypatch.setattr(time, "time", forbidden)
    monkeypatch.setattr("os.urandom", forbidden)
    for name in ("random", "randrange", "randint", "choice", "choices", "getrandbits", "expovariate", "shuffle"):
        monkeypatch.setattr(random, name, forbidden)
    assert list(simulate(config)) == expected


# ---------------------------------------------------------------------------------------------------------- counts


@pytest.mark.parametrize("count", [0, 1, 99, 100, 150, 300, 301, 1000, 4321])
def test_exactly_count_events(count: int) -> None:
    fraction = 0.01 if count >= 1000 else 0.0  # anomalies must fit after the 300 reference events
    config = SimulationConfig(seed=5, count=count, start=START, late=fraction, duplicates=fraction, malformed=fraction)
    events = list(simulate(config))
    assert len(events) == count
    assert [e.seq for e in events] == list(range(1, count + 1))


def test_a_count_within_the_reference_data_is_a_prefix_of_it() -> None:
    events = list(simulate(SimulationConfig(seed=5, count=150, start=START, late=0.5, malformed=0.5)))
    assert [e.contract for e in events] == ["product"] * 100 + ["customer"] * 50
    assert {e.kind for e in events} == {"valid"}
    assert [e.event_id for e in events[:3]] == ["SKU-00001", "SKU-00002", "SKU-00003"]
    assert events[100].event_id == "C000001"


@pytest.mark.parametrize(
    ("count", "late", "duplicates", "malformed"),
    [
        (1005, "0.1", "0.1", "0.1"),  # 100.5 -> 101: half up
        (1000, "0.001", "0.0005", "0.0015"),  # 1, 0.5 -> 1, 1.5 -> 2
        (5000, "0.03", "0.02", "0.25"),
        (2000, "0", "0.3333", "0"),
        (1300, "0.4", "0.3", "0.07"),  # 1001 anomalies in 1000 slots after the reference data: does not fit
    ],
)
def test_exact_numbers_of_each_kind(count: int, late: str, duplicates: str, malformed: str) -> None:
    expected = {
        "late": _half_up(count, late),
        "duplicate": _half_up(count, duplicates),
        "malformed": _half_up(count, malformed),
    }
    if sum(expected.values()) > count - 300:
        with pytest.raises(SimulationConfigError, match="do not fit"):
            SimulationConfig(
                seed=9,
                count=count,
                start=START,
                late=float(late),
                duplicates=float(duplicates),
                malformed=float(malformed),
            )
        return
    config = SimulationConfig(
        seed=9, count=count, start=START, late=float(late), duplicates=float(duplicates), malformed=float(malformed)
    )
    expected["valid"] = count - sum(expected.values())
    kinds: Counter[str] = Counter(e.kind for e in simulate(config))
    assert {k: kinds[k] for k in expected} == expected
    assert config.planned_counts() == expected


def test_anomalies_are_spread_over_the_stream() -> None:
    config = SimulationConfig(seed=11, count=10_300, start=START, late=0.1, duplicates=0.1, malformed=0.1)
    events = list(simulate(config))
    assert {e.kind for e in events[:300]} == {"valid"}
    for half in (events[300:5300], events[5300:]):
        kinds = Counter(e.kind for e in half)
        for kind in ("late", "duplicate", "malformed"):
            assert 350 < kinds[kind] < 650, (kind, kinds)


def test_an_endless_stream_draws_each_kind_with_its_probability() -> None:
    config = SimulationConfig(seed=12, start=START, late=0.05, duplicates=0.1, malformed=0.15)
    assert config.planned_counts() is None
    events = list(itertools.islice(simulate(config), 40_300))
    assert [e.seq for e in events[-2:]] == [40_299, 40_300]
    kinds: Counter[str] = Counter(e.kind for e in events[300:])
    # binomial: the standard deviation is below 75 for these numbers; 5 of them is a wide margin
    for kind, fraction in (("late", 0.05), ("duplicate", 0.1), ("malformed", 0.15)):
        assert abs(kinds[kind] - 40_000 * fraction) < 5 * 75, (kind, kinds)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"start": dt.datetime(2026, 11, 25, 10)}, "no time zone"),
        ({"late": 1.5}, "not a fraction"),
        ({"malformed": -0.1}, "not a fraction"),
        ({"late": 0.5, "duplicates": 0.3, "malformed": 0.3}, "more than 1"),
        ({"customers": 0}, "customers"),
        ({"products": 0}, "products"),
        ({"count": -1}, "negative"),
        ({"mean_gap_ms": 0.0}, "mean_gap_ms"),
    ],
)
def test_a_config_that_cannot_be_simulated_is_rejected(changes: dict[str, Any], message: str) -> None:
    settings: dict[str, Any] = {"seed": 1, "count": 1000, "start": START, **changes}
    with pytest.raises(SimulationConfigError, match=message) as caught:
        SimulationConfig(**settings)
    assert isinstance(caught.value, PlatformError)
    assert isinstance(caught.value, ValueError)


# ----------------------------------------------------------------------------------------------------- contracts


def test_the_corruption_targets_match_the_contracts(validators: dict[str, Any]) -> None:
    assert set(FIELD_SPECS) == set(CONTRACTS) == set(validators)
    for name, spec in FIELD_SPECS.items():
        schema = validators[name].schema
        props = schema["properties"]
        assert spec.required == tuple(schema["required"]), name
        temporal = {f for f, p in props.items() if p.get("format") in ("date", "date-time")}
        assert spec.typed == tuple(f for f in schema["required"] if f not in temporal), name
        decimals = tuple(f for f, p in props.items() if _is_decimal(p))
        assert spec.decimals == decimals, name
        enums = {f: p["enum"] for f, p in props.items() if "enum" in p}
        assert set(spec.enums) == set(enums), name
        assert all(bad not in enums[f] for f, bad in spec.enums.items()), name


def _is_decimal(prop: dict[str, Any]) -> bool:
    return str(prop.get("pattern", "")).startswith("^-?[0-9]{")


def test_every_valid_late_and_duplicate_event_validates(
    run: list[SimEvent], validators: dict[str, Any], contracts: dict[str, Contract]
) -> None:
    converters = {name: compile_converter(c.record) for name, c in contracts.items()}
    codecs = {name: ContractCodec(c, schema_id=1) for name, c in contracts.items()}
    checked: Counter[str] = Counter()
    for event in run:
        if event.kind == "malformed":
            continue
        assert event.raw is None and event.payload is not None and event.expected_error is None
        errors = [e.message for e in validators[event.contract].iter_errors(event.payload)]
        assert not errors, (event.seq, event.contract, errors)
        datum, problems = converters[event.contract](event.payload)
        assert datum is not None and not problems, (event.seq, problems)
        _, value = codecs[event.contract].encode(event.payload)
        assert value[:1] == b"\x00"
        assert event.event_id == event.payload[ID_FIELDS[event.contract]]
        checked[event.contract] += 1
    assert set(checked) == set(CONTRACTS)
    assert sum(checked.values()) > 5000


def test_json_shapes_are_canonical(unique: list[SimEvent]) -> None:
    for event in unique:
        p = event.payload
        assert p is not None
        for field in ("occurred_at", "updated_at"):
            if field in p:
                assert TS.match(p[field]), p[field]
        for field in ("event_id", "order_id", "payment_id"):
            if field in p:
                assert str(uuid.UUID(p[field])) == p[field]
                assert uuid.UUID(p[field]).version == 4
        for field in ("unit_price", "subtotal", "shipping", "tax", "total", "amount", "price"):
            if field in p:
                assert MONEY.match(p[field]), (field, p[field])
        for line in p.get("lines", []):
            assert MONEY.match(line["unit_price"]) and MONEY.match(line["line_total"])
        if event.contract == "customer":
            assert dt.date.fromisoformat(p["signup_date"]) <= START.date()


def _schema_reasons(errors: list[Any]) -> set[str]:
    reasons = set()
    for error in errors:
        if error.validator == "required":
            match = re.match(r"'(\w+)' is a required property", error.message)
            assert match, error.message
            reasons.add(f"missing:{match.group(1)}")
        elif error.validator == "additionalProperties":
            reasons.update(f"unknown_field:{f}" for f in re.findall(r"'(\w+)'", error.message))
        else:
            rule = {"type": "type", "pattern": "decimal", "enum": "enum"}[str(error.validator)]
            reasons.add(f"{rule}:{error.path[0]}")
    return reasons


def test_every_malformed_event_breaks_its_contract_where_it_says(
    run: list[SimEvent], validators: dict[str, Any], contracts: dict[str, Contract]
) -> None:
    converters = {name: compile_converter(c.record) for name, c in contracts.items()}
    seen: Counter[str] = Counter()
    for event in (e for e in run if e.kind == "malformed"):
        reason = event.expected_error
        assert reason is not None
        seen[reason.split(":")[0]] += 1
        if event.raw is not None:
            assert event.payload is None and reason == "not_json" and event.event_id is None
            assert b"\n" not in event.raw
            with pytest.raises(ValueError):
                json.loads(event.raw)
            continue
        assert event.payload is not None
        corruption, field = reason.split(":")
        # the JSON Schema rejects it, at that field and nowhere else
        errors = list(validators[event.contract].iter_errors(event.payload))
        assert errors, (event.seq, reason)
        reasons = _schema_reasons(errors)
        assert reason in reasons, (reason, reasons)
        assert {r.split(":")[1] for r in reasons} == {field}, (reason, reasons)
        # and so does the producer core, with the rule it writes to the dead letter
        datum, problems = converters[event.contract](event.payload)
        assert datum is None
        rule = "required" if corruption == "missing" else corruption
        assert (field, rule) in {(p.path, p.rule) for p in problems}, (reason, problems)
        assert {p.path for p in problems} == {field}
        carried = event.payload.get(ID_FIELDS[event.contract])
        assert event.event_id == (carried if isinstance(carried, str) else None)
    assert set(seen) == set(CORRUPTIONS), seen


def test_malformed_events_never_use_an_id_of_a_valid_one(run: list[SimEvent], unique: list[SimEvent]) -> None:
    valid_ids = {(e.contract, e.event_id) for e in unique}
    malformed_ids = {(e.contract, e.event_id) for e in run if e.kind == "malformed" and e.event_id is not None}
    assert malformed_ids
    assert not malformed_ids & valid_ids
    # reference data that is malformed names customers and products the shop does not have
    assert any(c == "customer" for c, _ in malformed_ids) or any(c == "product" for c, _ in malformed_ids)


# ------------------------------------------------------------------------------------------------------ anomalies


def test_duplicates_are_exact_resends_of_an_earlier_event(run: list[SimEvent]) -> None:
    first_sent: dict[tuple[str, str | None], SimEvent] = {}
    duplicates = 0
    for event in run:
        key = (event.contract, event.event_id)
        if event.kind == "duplicate":
            original = first_sent[key]
            assert original.seq < event.seq and original.kind in SENT_KINDS
            assert json.dumps(event.payload).encode() == json.dumps(original.payload).encode()
            assert event.payload is not original.payload  # a copy: sending one cannot change the other
            duplicates += 1
        elif event.kind in SENT_KINDS:
            assert key not in first_sent, f"valid id sent twice: {key}"
            first_sent[key] = event
    assert duplicates == _half_up(BIG.count or 0, "0.06")


@pytest.mark.parametrize("which", ["big", "wide"])
def test_late_events_are_five_to_120_minutes_behind(which: str, run: list[SimEvent], wide_run: list[SimEvent]) -> None:
    config, events = (BIG, run) if which == "big" else (WIDE, wide_run)
    latest_on_time = START
    late = 0
    for event in events:
        if event.kind == "valid":
            assert event.payload is not None
            field = "updated_at" if event.contract in ("customer", "product") else "occurred_at"
            occurred = _time(event.payload[field])
            assert occurred >= latest_on_time
            assert occurred == event.emitted_at
            latest_on_time = occurred
        elif event.kind == "late":
            assert event.payload is not None
            occurred = _time(event.payload["occurred_at"])
            assert latest_on_time - dt.timedelta(minutes=120) <= occurred <= latest_on_time - FIVE_MIN
            assert occurred <= event.emitted_at - FIVE_MIN
            late += 1
    assert late == _half_up(config.count or 0, repr(config.late))


def test_the_clock_starts_at_start_and_only_moves_forward(run: list[SimEvent]) -> None:
    assert all(e.payload and e.payload["updated_at"] == "2026-11-25T10:00:00.000000Z" for e in run[:300])
    emitted = [e.emitted_at for e in run]
    assert emitted == sorted(emitted)
    assert emitted[0] == START and emitted[300] > START
    span = emitted[-1] - START
    assert dt.timedelta(hours=2) < span < dt.timedelta(hours=3)  # 5700 gaps of 1.5 s on average


def test_start_is_converted_to_utc() -> None:
    paris = dt.datetime(2026, 11, 25, 11, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    events = list(simulate(SimulationConfig(seed=1, count=310, start=paris)))
    assert events[0].payload is not None and events[0].payload["updated_at"] == "2026-11-25T10:00:00.000000Z"
    assert events[-1].payload is not None and events[-1].payload["occurred_at"].startswith("2026-11-25T10:00:")


# --------------------------------------------------------------------------------------------------------- the shop


@pytest.fixture(scope="module")
def reference(unique: list[SimEvent]) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    products = {p["product_id"]: p for p in _payloads(unique, "product")}
    customers = {c["customer_id"]: c for c in _payloads(unique, "customer")}
    return products, customers


def test_reference_data_is_complete_and_sent_first(run: list[SimEvent], reference: Any) -> None:
    products, customers = reference
    assert len(products) == BIG.products and len(customers) == BIG.customers
    assert [e.contract for e in run[: BIG.reference_size]] == ["product"] * 100 + ["customer"] * 200
    assert all(e.kind == "valid" for e in run[: BIG.reference_size])
    assert len({c["email"] for c in customers.values()}) == len(customers)
    assert {p["currency"] for p in products.values()} == {"EUR", "GBP", "USD"}


def test_referential_integrity(unique: list[SimEvent], reference: Any) -> None:
    products, customers = reference
    for view in _payloads(unique, "page_view"):
        assert view["product_id"] is None or view["product_id"] in products
        assert view["customer_id"] is None or view["customer_id"] in customers
        assert (view["page_type"] == "PRODUCT") == (view["product_id"] is not None)
    for cart in _payloads(unique, "cart_updated"):
        product = products[cart["product_id"]]
        assert product["active"]
        assert (cart["unit_price"], cart["currency"]) == (product["price"], product["currency"])
        assert cart["quantity"] > 0
        assert cart["customer_id"] is None or cart["customer_id"] in customers
    for order in _payloads(unique, "order_placed"):
        assert order["customer_id"] in customers
        for line in order["lines"]:
            product = products[line["product_id"]]
            assert (line["unit_price"], order["currency"]) == (product["price"], product["currency"])


@pytest.mark.parametrize("which", ["big", "wide"])
def test_order_arithmetic_is_exact(which: str, unique: list[SimEvent], wide_run: list[SimEvent]) -> None:
    events = unique if which == "big" else [e for e in wide_run if e.kind in SENT_KINDS]
    orders = _payloads(events, "order_placed")
    assert len(orders) > (100 if which == "big" else 900)
    for order in orders:
        lines = order["lines"]
        assert lines and [line["line_number"] for line in lines] == list(range(1, len(lines) + 1))
        assert len({line["product_id"] for line in lines}) == len(lines)
        for line in lines:
            assert line["quantity"] > 0
            assert Decimal(line["line_total"]) == line["quantity"] * Decimal(line["unit_price"])
        subtotal, shipping, tax, total = (Decimal(order[f]) for f in ("subtotal", "shipping", "tax", "total"))
        assert subtotal == sum(Decimal(line["line_total"]) for line in lines)
        assert total == subtotal + shipping + tax
        rate = TAX_RATES[order["shipping_country"]]
        assert tax == ((subtotal + shipping) * rate).quantize(Decimal("0.01"), ROUND_HALF_UP)
        assert shipping >= 0 and tax > 0
        assert all(isinstance(v, str) for v in order["attributes"].values())
        assert order["attributes"]["channel"] in {"direct", "organic", "cpc", "social", "email", "affiliate"}
    assert any("campaign" in o["attributes"] for o in orders)
    assert any(Decimal(o["shipping"]) == 0 for o in orders) and any(Decimal(o["shipping"]) > 0 for o in orders)


def test_payments_are_for_orders_sent_before_them_and_match_their_total(unique: list[SimEvent]) -> None:
    orders: dict[str, dict[str, Any]] = {}
    authorised: dict[str, dict[str, Any]] = {}
    statuses: Counter[str] = Counter()
    for event in unique:
        p = event.payload
        assert p is not None
        if event.contract == "order_placed":
            orders[p["order_id"]] = p
        elif event.contract == "payment_processed":
            order = orders[p["order_id"]]
            assert (p["amount"], p["currency"]) == (order["total"], order["currency"])
            assert _time(p["occurred_at"]) >= _time(order["occurred_at"])
            assert (p["decline_reason"] is not None) == (p["status"] == "DECLINED")
            statuses[p["status"]] += 1
            if p["status"] == "AUTHORISED":
                assert p["order_id"] not in authorised, "an order is authorised once"
                authorised[p["order_id"]] = p
            elif p["status"] == "REFUNDED":
                paid = authorised[p["order_id"]]
                assert (p["payment_id"], p["method"]) == (paid["payment_id"], paid["method"])
                assert _time(p["occurred_at"]) >= _time(paid["occurred_at"]) + dt.timedelta(minutes=10)
    assert statuses["AUTHORISED"] > 5 * statuses["DECLINED"] > 0
    assert statuses["REFUNDED"] > 0


def test_sessions_look_like_shoppers(unique: list[SimEvent]) -> None:
    sessions: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    order_session: dict[str, str] = {}
    for event in unique:
        p = event.payload
        assert p is not None
        if event.contract in ("page_view", "cart_updated", "order_placed"):
            sessions[p["session_id"]].append((event.contract, p))
            if event.contract == "order_placed":
                order_session[p["order_id"]] = p["session_id"]
    assert len(sessions) > 300
    outcomes: Counter[str] = Counter()
    for events in sessions.values():
        assert events[0][0] == "page_view", "every session starts with a page view"
        currencies = {p["currency"] for c, p in events if c != "page_view"}
        assert len(currencies) <= 1, "one currency per session"
        kinds = [c for c, _ in events]
        if "order_placed" in kinds:
            outcomes["ordered"] += 1
            before = [p for c, p in events[: kinds.index("order_placed")] if c == "page_view"]
            assert [p["page_type"] for p in before[-2:]] == ["CART", "CHECKOUT"]
            if before[0]["customer_id"] is None:
                outcomes["signed_in_at_checkout"] += 1
        elif "cart_updated" in kinds:
            outcomes["abandoned_cart"] += 1
        elif len(events) == 1:
            outcomes["bounced"] += 1
        else:
            outcomes["browsed"] += 1
    assert all(outcomes[k] > 10 for k in ("ordered", "signed_in_at_checkout", "abandoned_cart", "bounced", "browsed"))
    assert outcomes["ordered"] < outcomes["abandoned_cart"] + outcomes["bounced"] + outcomes["browsed"]
    page_types = {p["page_type"] for p in _payloads(unique, "page_view")}
    assert page_types == {"HOME", "CATEGORY", "PRODUCT", "SEARCH", "CART", "CHECKOUT", "OTHER"}
    assert {p["action"] for p in _payloads(unique, "cart_updated")} == {"ADD", "REMOVE"}
    # sessions run at the same time: their events interleave
    live = [e.payload["session_id"] for e in unique if e.kind == "valid" and e.contract == "page_view" and e.payload]
    switches = sum(a != b for a, b in itertools.pairwise(live))
    assert switches > 0.8 * len(live)


def test_a_tiny_shop_still_works() -> None:
    config = SimulationConfig(seed=8, count=3000, start=START, customers=1, products=1, late=0.1, malformed=0.1)
    events = list(simulate(config))
    assert len(events) == 3000
    product = events[0].payload
    assert product is not None and product["active"] is True
    orders = [e.payload for e in events if e.contract == "order_placed" and e.kind != "malformed" and e.payload]
    assert orders and all(o["customer_id"] == "C000001" for o in orders)


# -------------------------------------------------------------------------------------------------------- manifest


def test_the_manifest_reconciles_exactly(run: list[SimEvent], tmp_path: Path) -> None:
    builder = ManifestBuilder(BIG)
    for event in run:
        builder.add(event)
    manifest = builder.to_dict()
    assert manifest["seed"] == BIG.seed and manifest["start"] == "2026-11-25T10:00:00Z"
    assert manifest["config"]["count"] == 6000 and manifest["config"]["malformed"] == 0.07
    assert manifest["total_sent"] == BIG.count == sum(c["sent"] for c in manifest["contracts"].values())
    assert manifest["kinds"] == BIG.planned_counts()
    assert set(manifest["contracts"]) == set(CONTRACTS)
    malformed_by_seq = {e.seq: e for e in run if e.kind == "malformed"}
    for name, entry in manifest["contracts"].items():
        events = [e for e in run if e.contract == name]
        assert entry["sent"] == len(events) == entry["valid_unique"] + entry["duplicates"] + entry["malformed"]
        assert entry["valid_ids"] == sorted({str(e.event_id) for e in events if e.kind in SENT_KINDS})
        assert len(entry["valid_ids"]) == entry["valid_unique"] == len(set(entry["valid_ids"]))
        assert entry["late"] == len(entry["late_ids"]) and set(entry["late_ids"]) <= set(entry["valid_ids"])
        assert entry["duplicates"] == len(entry["duplicate_ids"])
        assert set(entry["duplicate_ids"]) <= set(entry["valid_ids"])
        assert entry["malformed"] == len(entry["malformed_events"])
        for item in entry["malformed_events"]:
            event = malformed_by_seq[item["seq"]]
            assert (event.contract, event.expected_error, event.event_id) == (name, item["reason"], item["event_id"])
    assert manifest["contracts"]["product"]["valid_ids"][:2] == ["SKU-00001", "SKU-00002"]

    path = tmp_path / "out" / "manifest.json"
    write_manifest(path, builder)
    text = path.read_text(encoding="utf-8")
    assert json.loads(text) == manifest
    assert text == json.dumps(manifest, indent=2) + "\n"


def test_equal_runs_give_equal_manifests() -> None:
    config = SimulationConfig(seed=77, count=2000, start=START, late=0.1, duplicates=0.1, malformed=0.1)
    manifests = []
    for _ in range(2):
        builder = ManifestBuilder(config)
        for event in simulate(config):
            builder.add(event)
        manifests.append(json.dumps(builder.to_dict()))
    assert manifests[0] == manifests[1]


def test_the_manifest_counts_only_what_was_sent() -> None:
    config = SimulationConfig(seed=4, start=START, duplicates=0.2)
    builder = ManifestBuilder(config)
    for event in itertools.islice(simulate(config), 1234):
        builder.add(event)
    manifest = builder.to_dict()
    assert manifest["total_sent"] == 1234 and manifest["config"]["count"] is None


def test_a_valid_id_sent_twice_is_refused() -> None:
    event = next(iter(simulate(SimulationConfig(seed=1, count=1, start=START))))
    builder = ManifestBuilder(SimulationConfig(seed=1, count=1, start=START))
    builder.add(event)
    with pytest.raises(ValueError, match="already sent as valid"):
        builder.add(event)


# ----------------------------------------------------------------------------------------------------- performance


def test_generation_rate() -> None:
    """100k events, anomalies included; prints the rate (benchmarks print, they do not assert on time)."""
    config = SimulationConfig(seed=1, count=100_000, start=START, late=0.02, duplicates=0.02, malformed=0.02)
    began = time.perf_counter()
    produced = sum(1 for _ in simulate(config))
    elapsed = time.perf_counter() - began
    print(f"\nsimulator: {produced:,} events in {elapsed:.2f} s = {produced / elapsed:,.0f} events/s")
    assert produced == 100_000


def test_recategorised_products_move_half_way_and_the_manifest_counts_the_new_versions() -> None:
    config = SimulationConfig(seed=7, count=4000, start=START, late=0.03, duplicates=0.03, recategorised=2)
    run = list(simulate(config))
    assert len(run) == 4000 and Counter(e.kind for e in run) == Counter(config.planned_counts())
    first = {e.event_id: e.payload for e in run[: config.products] if e.payload is not None}
    moves = [e for e in run[config.reference_size :] if e.contract == "product"]
    assert len(moves) == 2 and all(e.kind == "valid" for e in moves)
    half = config.reference_size + (config.count - config.reference_size) // 2  # type: ignore[operator]
    for move in moves:
        assert move.payload is not None and move.seq > half
        assert move.payload["category"] != first[move.event_id]["category"]
        assert move.payload["updated_at"] == move.emitted_at.isoformat(timespec="microseconds").replace("+00:00", "Z")
        assert {k: v for k, v in move.payload.items() if k not in ("category", "updated_at")} == {
            k: v for k, v in first[move.event_id].items() if k not in ("category", "updated_at")
        }
    builder = ManifestBuilder(config)
    for event in run:
        builder.add(event)
    product = builder.to_dict()["contracts"]["product"]
    assert product["updates"] == 2 and product["valid_unique"] == config.products
    # each moved product had an order before its move: the move splits its orders between two categories
    before = {
        str(line["product_id"])
        for e in run[: moves[0].seq - 1]
        if e.kind == "valid" and e.contract == "order_placed" and e.payload is not None
        for line in e.payload["lines"]
    }
    assert {m.event_id for m in moves} <= before
    # up to the first move, the stream is the one without moves
    plain = list(simulate(SimulationConfig(seed=7, count=4000, start=START, late=0.03, duplicates=0.03)))
    assert [e.payload for e in run[: moves[0].seq - 1]] == [e.payload for e in plain[: moves[0].seq - 1]]
    assert "recategorised" not in SimulationConfig(seed=7, count=4000, start=START).as_dict()  # old workload ids hold


def test_a_product_sent_again_beyond_the_moves_asked_is_refused() -> None:
    config = SimulationConfig(seed=1, count=400, start=START, recategorised=1)
    builder = ManifestBuilder(config)
    product = next(e for e in simulate(config) if e.contract == "product")
    builder.add(product)
    builder.add(product)  # the one move the config asks
    with pytest.raises(ValueError, match="already sent as valid, and the 1 move"):
        builder.add(product)
    customer = next(e for e in simulate(config) if e.contract == "customer")
    builder.add(customer)
    with pytest.raises(ValueError, match="already sent as valid"):  # customers never move
        builder.add(customer)


@pytest.mark.parametrize(
    ("changes", "count", "problem"),
    [(-1, 1000, "need 0 to products"), (101, 1000, "need 0 to products"), (1, None, "needs a count")],
)
def test_recategorised_out_of_range_or_without_a_count_is_refused(
    changes: int, count: int | None, problem: str
) -> None:
    with pytest.raises(SimulationConfigError, match=problem):
        SimulationConfig(seed=1, count=count, start=START, recategorised=changes)
