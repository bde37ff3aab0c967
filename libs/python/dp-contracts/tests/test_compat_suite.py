"""Schema-evolution compatibility suite: every case under every mode, against the verdict of the Avro specification.

The expected verdicts are derived from the "Schema Resolution" section of the Avro 1.12 specification, never from
the implementation. Each case states two facts per previous version, worked out by hand from the spec:

* ``new_reads``: can the new schema (as reader) read data written with that previous version?
* ``old_reads``: can that previous version (as reader) read data written with the new schema?

A reader "can read" a writer when resolution succeeds for *every* datum the writer may produce (so a writer union
is readable only if each of its branches is). The verdict of each mode is then derived from those facts with the
Confluent definitions, restated in ``MODE_RULES`` below independently of the code under test:

* BACKWARD: the new schema reads the latest version; FORWARD: the latest version reads the new schema;
  FULL: both; ``*_TRANSITIVE``: the same against every previous version; NONE: always compatible.

Where Apache Avro's own ``ReaderWriterCompatibilityChecker`` is known to answer one of those facts differently from
the spec, the case lists the (version, direction) pairs it gets wrong in ``checker_flips``; only the modes that
check such a pair are marked ``xfail(strict=True)``, so the suite notices if the checker is ever fixed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import avro.schema
import pytest

from dp_contracts.compat import CompatibilityMode, check_compatibility, parse_schema, reader_writer_problems
from dp_contracts.errors import InvalidSchemaError

Json = Any
Direction = Literal["backward", "forward"]

NS = "dp.test"

# (checks new-reads-old, checks old-reads-new, against every previous version rather than the latest)
MODE_RULES: dict[CompatibilityMode, tuple[bool, bool, bool]] = {
    CompatibilityMode.BACKWARD: (True, False, False),
    CompatibilityMode.BACKWARD_TRANSITIVE: (True, False, True),
    CompatibilityMode.FORWARD: (False, True, False),
    CompatibilityMode.FORWARD_TRANSITIVE: (False, True, True),
    CompatibilityMode.FULL: (True, True, False),
    CompatibilityMode.FULL_TRANSITIVE: (True, True, True),
    CompatibilityMode.NONE: (False, False, False),
}

# ---------------------------------------------------------------------------------------------------------------
# schema builders


class _NoDefault:
    """Marker: the field has no default (``None`` would mean a JSON ``null`` default)."""


NO_DEFAULT = _NoDefault()


def fld(name: str, type_: Json, default: Json = NO_DEFAULT, **extra: Json) -> dict[str, Json]:
    out: dict[str, Json] = {"name": name, "type": type_, **extra}
    if not isinstance(default, _NoDefault):
        out["default"] = default
    return out


def rec(*fields: dict[str, Json], name: str = "Order", namespace: str | None = NS, **extra: Json) -> dict[str, Json]:
    out: dict[str, Json] = {"type": "record", "name": name, "fields": list(fields), **extra}
    if namespace is not None:
        out["namespace"] = namespace
    return out


def enum(symbols: list[str], name: str = "Status", **extra: Json) -> dict[str, Json]:
    return {"type": "enum", "name": name, "symbols": symbols, **extra}


def fixed(size: int, name: str = "Hash", **extra: Json) -> dict[str, Json]:
    return {"type": "fixed", "name": name, "size": size, **extra}


def with_v(type_: Json, default: Json = NO_DEFAULT, **extra: Json) -> dict[str, Json]:
    """The record ``dp.test.Order {id: long, v: <type_>}`` — the changed field is ``v``, at index 1."""
    return rec(fld("id", "long"), fld("v", type_, default, **extra))


ID = fld("id", "long")


def address(*extra_fields: dict[str, Json], name: str = "Address", **extra: Json) -> dict[str, Json]:
    return rec(fld("street", "string"), *extra_fields, name=name, namespace=None, **extra)


def item(*extra_fields: dict[str, Json]) -> dict[str, Json]:
    return rec(fld("sku", "string"), *extra_fields, name="Item", namespace=None)


def decimal(precision: int, scale: int) -> dict[str, Json]:
    return {"type": "bytes", "logicalType": "decimal", "precision": precision, "scale": scale}


def array_of(items: Json) -> dict[str, Json]:
    return {"type": "array", "items": items}


def map_of(values: Json) -> dict[str, Json]:
    return {"type": "map", "values": values}


# ---------------------------------------------------------------------------------------------------------------
# the case table


@dataclass(frozen=True)
class Case:
    id: str
    history: tuple[Json, ...]  # previous versions, oldest first
    new: Json
    new_reads: tuple[bool, ...]  # per previous version: the new schema reads data written with it
    old_reads: tuple[bool, ...]  # per previous version: it reads data written with the new schema
    why: str  # the spec reasoning behind the booleans
    checker_flips: frozenset[tuple[int, Direction]] = frozenset()
    gap: str = ""

    def __post_init__(self) -> None:
        assert len(self.history) == len(self.new_reads) == len(self.old_reads) >= 1, self.id
        assert bool(self.checker_flips) == bool(self.gap), self.id

    def fact(self, version: int, direction: Direction) -> bool:
        return (self.new_reads if direction == "backward" else self.old_reads)[version]


#: (the new schema reads data written with a previous version, that version reads data written with the new schema)
Reads = tuple[bool, bool]
BOTH_WAYS: Reads = (True, True)
NEW_READS_OLD: Reads = (True, False)
OLD_READS_NEW: Reads = (False, True)
NEITHER_WAY: Reads = (False, False)


def case(
    id: str, reads: Reads, old: Json, new: Json, why: str, flips: tuple[Direction, ...] = (), gap: str = ""
) -> Case:
    """A case with a single previous version."""
    return Case(id, (old,), new, (reads[0],), (reads[1],), why, frozenset((0, d) for d in flips), gap)


#: the field ``v`` changes from one primitive type to another: old type -> new type -> what reads what. The spec
#: promotes int to long, float or double; long to float or double; float to double; string to bytes and back.
PRIMITIVE_CHANGES: dict[str, dict[str, Reads]] = {
    "int": {"long": NEW_READS_OLD, "float": NEW_READS_OLD, "double": NEW_READS_OLD},
    "long": {"float": NEW_READS_OLD, "double": NEW_READS_OLD, "int": OLD_READS_NEW},
    "float": {"double": NEW_READS_OLD, "long": OLD_READS_NEW},
    "double": {"float": OLD_READS_NEW, "int": OLD_READS_NEW},
    "string": {"bytes": BOTH_WAYS, "int": NEITHER_WAY},
    "bytes": {"string": BOTH_WAYS},
    "boolean": {"int": NEITHER_WAY},
}
#: the spec's reason for each outcome of a primitive change
PROMOTION = {
    NEW_READS_OLD: "{old} is promotable to {new}, {new} is not promotable to {old}",
    OLD_READS_NEW: "narrowing: {old} is not promotable to {new}; {new} is promotable to {old}",
    BOTH_WAYS: "{old} is promotable to {new} and {new} to {old}",
    NEITHER_WAY: "no promotion between {old} and {new} either way",
}
#: arrays and maps whose items or values change type: they resolve recursively, as the primitive itself does
CONTAINER_CHANGES = [
    ("array_items", array_of, "int", "long"),
    ("array_items", array_of, "string", "int"),
    ("map_values", map_of, "int", "double"),
    ("map_values", map_of, "long", "int"),
]


def promotion(id: str, old: str, new: str, inside: Callable[[str], Json] = str, what: str = "") -> Case:
    """The field ``v`` changes from the primitive ``old`` to ``new`` (or from ``inside`` the one to the other)."""
    reads = PRIMITIVE_CHANGES[old][new]
    return case(id, reads, with_v(inside(old)), with_v(inside(new)), what + PROMOTION[reads].format(old=old, new=new))


def history(id: str, reads: tuple[Reads, ...], versions: tuple[Json, ...], new: Json, why: str) -> Case:
    """A case with several previous versions, oldest first, and what reads what for each of them."""
    return Case(id, versions, new, tuple(r[0] for r in reads), tuple(r[1] for r in reads), why)


DECIMAL_GAP = (
    "Avro's Python checker ignores logical types and compares only the underlying bytes, but the spec says two "
    "decimal schemas match only if their scales and precisions match. The platform keeps the checker's answer on "
    "purpose: widening a decimal's precision is a legal Iceberg evolution that the evolution gate allows "
    "(a scale change is refused by the gate's Iceberg check instead)"
)

# fmt: off
CASES: list[Case] = [
    # --- record fields -------------------------------------------------------------------------------------------
    case("identical", BOTH_WAYS, with_v("string"), with_v("string"), "same schema resolves to itself"),
    case("doc_only_change", BOTH_WAYS,
         rec(ID, fld("v", "string")), rec(ID, fld("v", "string", doc="the value"), doc="an order"),
         "doc fields are ignored for the purposes of schema resolution"),
    case("reorder_fields", BOTH_WAYS,
         rec(ID, fld("a", "string"), fld("b", "int")), rec(fld("b", "int"), ID, fld("a", "string")),
         "fields are matched by name, ordering may differ"),
    case("add_field_with_default", BOTH_WAYS, rec(ID), rec(ID, fld("note", "string", "")),
         "new reader uses the default for the missing field; old reader ignores the extra writer field"),
    case("add_field_without_default", OLD_READS_NEW, rec(ID), rec(ID, fld("note", "string")),
         "reader field with no default missing in the writer is an error; old reader ignores the extra field"),
    case("add_nullable_field_default_null", BOTH_WAYS, rec(ID), rec(ID, fld("note", ["null", "string"], None)),
         "a null default is a default: the new reader fills it in; the old reader ignores the field"),
    case("remove_field_that_had_default", BOTH_WAYS, rec(ID, fld("note", "string", "")), rec(ID),
         "new reader ignores the writer's extra field; old reader fills the removed field from its default"),
    case("remove_field_without_default", NEW_READS_OLD, rec(ID, fld("note", "string")), rec(ID),
         "old reader's field has no default and is absent from the new writer"),
    case("add_default_to_existing_field", BOTH_WAYS, rec(ID, fld("note", "string")), rec(ID, fld("note", "string", "")),
         "the field is present on both sides; defaults only matter when a field is missing"),
    case("rename_field_with_alias", NEW_READS_OLD,
         rec(ID, fld("name", "string")),
         rec(ID, fld("full_name", "string", aliases=["name"])),
         "the new reader maps writer field `name` through its alias; the old reader has no alias and `name` "
         "has no default (aliases are only used on the reader side)"),
    case("rename_field_with_alias_and_defaults", BOTH_WAYS,
         rec(ID, fld("name", "string", "")), rec(ID, fld("full_name", "string", "", aliases=["name"])),
         "alias on the new reader; the old reader falls back to the default of `name`"),
    case("rename_field_without_alias", NEITHER_WAY, rec(ID, fld("name", "string")), rec(ID, fld("full_name", "string")),
         "each reader misses its own field name, with no default and no alias"),
    # --- primitive promotions and their reverses ---------------------------------------------------------------
    *(promotion(f"{old}_to_{new}", old, new) for old, changes in PRIMITIVE_CHANGES.items() for new in changes),
    case("top_level_int_to_long", NEW_READS_OLD, "int", "long", "promotion applies to a bare primitive schema too"),
    # --- enums -------------------------------------------------------------------------------------------------
    case("enum_add_symbol_no_default", NEW_READS_OLD, with_v(enum(["A", "B"])), with_v(enum(["A", "B", "C"])),
         "the old reader meets writer symbol C, absent from it, and it has no enum default"),
    case("enum_add_symbol_reader_has_default", BOTH_WAYS,
         with_v(enum(["UNKNOWN", "A", "B"], default="UNKNOWN")),
         with_v(enum(["UNKNOWN", "A", "B", "C"], default="UNKNOWN")),
         "the old reader maps the unknown symbol C to its enum default"),
    case("enum_remove_symbol_no_default", OLD_READS_NEW, with_v(enum(["A", "B", "C"])), with_v(enum(["A", "B"])),
         "the new reader meets old symbol C and has no enum default"),
    case("enum_remove_symbol_reader_has_default", BOTH_WAYS,
         with_v(enum(["UNKNOWN", "A", "B", "C"], default="UNKNOWN")),
         with_v(enum(["UNKNOWN", "A", "B"], default="UNKNOWN")),
         "the new reader maps removed symbol C to its enum default"),
    case("enum_remove_symbol_and_drop_enum_default", OLD_READS_NEW,
         with_v(enum(["UNKNOWN", "A", "B", "C"], default="UNKNOWN")), with_v(enum(["UNKNOWN", "A", "B"])),
         "only the *reader's* enum default counts; the new reader has none"),
    case("enum_remove_symbol_field_default_only", OLD_READS_NEW,
         with_v(enum(["A", "B", "C"])), with_v(enum(["A", "B"]), "A"),
         "a *field* default is only used when the writer lacks the field, not for an unknown symbol"),
    case("enum_reorder_symbols", BOTH_WAYS, with_v(enum(["A", "B", "C"])), with_v(enum(["C", "B", "A"])),
         "enum values resolve by symbol, and every symbol exists on both sides"),
    case("enum_rename_with_alias", NEW_READS_OLD,
         with_v(enum(["A", "B"])), with_v(enum(["A", "B"], name="State", aliases=["dp.test.Status"])),
         "the new reader's alias maps the writer's name; the old reader has no alias for `State`"),
    case("enum_rename_without_alias", NEITHER_WAY, with_v(enum(["A", "B"])), with_v(enum(["A", "B"], name="State")),
         "enums match only if their (unqualified) names match"),
    case("string_to_enum", NEITHER_WAY, with_v("string"), with_v(enum(["A", "B"])),
         "no promotion between string and enum"),
    # --- unions ------------------------------------------------------------------------------------------------
    case("union_add_branch", NEW_READS_OLD, with_v(["null", "string"]), with_v(["null", "string", "long"]),
         "every old branch has a match in the new union; the old union has no match for a written long"),
    case("union_remove_branch", OLD_READS_NEW, with_v(["null", "string", "long"]), with_v(["null", "string"]),
         "the new union has no match for old long data"),
    case("union_reorder_branches", BOTH_WAYS, with_v(["null", "string"]), with_v(["string", "null"]),
         "union branches are matched by schema, not position"),
    case("union_branch_promotion", NEW_READS_OLD, with_v(["null", "int"]), with_v(["null", "long"]),
         "written int matches the reader's long branch by promotion; long matches nothing in [null, int]"),
    case("make_nullable_default_null", NEW_READS_OLD, with_v("string"), with_v(["null", "string"], None),
         "a non-union writer matches the reader's string branch; the old non-union reader cannot take null"),
    case("make_non_nullable", OLD_READS_NEW, with_v(["null", "string"], None), with_v("string"),
         "old data may hold the null branch, which a string reader does not match"),
    case("type_to_union_containing_it", NEW_READS_OLD, with_v("int"), with_v(["int", "string"]),
         "int data matches the int branch; the old int reader cannot read the string branch"),
    case("union_to_type", OLD_READS_NEW, with_v(["int", "string"]), with_v("int"),
         "the string branch of old data does not match an int reader"),
    case("int_to_nullable_long", NEW_READS_OLD, with_v("int"), with_v(["null", "long"], None),
         "int data matches the long branch by promotion; the old int reader cannot read null or long"),
    case("union_record_branch_field_added_without_default", OLD_READS_NEW,
         with_v(["null", item()], None), with_v(["null", item(fld("qty", "int"))], None),
         "the matching `Item` branch is resolved recursively and its new `qty` field has no default"),
    # --- nested records ----------------------------------------------------------------------------------------
    case("nested_add_field_with_default", BOTH_WAYS,
         rec(ID, fld("address", address())), rec(ID, fld("address", address(fld("zip", "string", "")))),
         "record resolution recurses into the nested record: default on one side, ignored on the other"),
    case("nested_add_field_without_default", OLD_READS_NEW,
         rec(ID, fld("address", address())), rec(ID, fld("address", address(fld("zip", "string")))),
         "the nested reader field `zip` has no default"),
    case("nested_remove_field_without_default", NEW_READS_OLD,
         rec(ID, fld("address", address(fld("zip", "string")))), rec(ID, fld("address", address())),
         "the old nested reader requires `zip`, which new data lacks"),
    case("nested_field_type_narrowed", OLD_READS_NEW,
         rec(ID, fld("address", address(fld("number", "long")))),
         rec(ID, fld("address", address(fld("number", "int")))),
         "long->int inside a nested record is not a promotion"),
    case("nested_record_rename_with_alias", NEW_READS_OLD,
         rec(ID, fld("address", address())),
         rec(ID, fld("address", address(name="Location", aliases=["dp.test.Address"]))),
         "the new reader's alias maps the old name; the old reader has no alias for `Location`"),
    case("nested_record_rename_without_alias", NEITHER_WAY,
         rec(ID, fld("address", address())), rec(ID, fld("address", address(name="Location"))),
         "records match only if their names match"),
    # --- named types: names and aliases ------------------------------------------------------------------------
    case("record_rename_with_qualified_alias", NEW_READS_OLD,
         rec(ID), rec(ID, name="Purchase", aliases=["dp.test.Order"]),
         "the new reader's alias names the old record; the old reader has no alias for `Purchase`"),
    case("record_rename_with_relative_alias", NEW_READS_OLD, rec(ID), rec(ID, name="Purchase", aliases=["Order"]),
         "an alias relative to the namespace: `Order` in dp.test means dp.test.Order"),
    case("record_rename_without_alias", NEITHER_WAY, rec(ID), rec(ID, name="Purchase"),
         "records match only if their names match"),
    case("record_name_case_change", NEITHER_WAY, rec(ID), rec(ID, name="order"), "name equality is case-sensitive"),
    case("record_namespace_change", BOTH_WAYS, rec(ID), rec(ID, namespace="dp.other"),
         "the 1.12 spec matches records on their *unqualified* names"),
    case("enum_rename_with_relative_alias", NEW_READS_OLD,
         with_v(enum(["A", "B"])), with_v(enum(["A", "B"], name="State", aliases=["Status"])),
         "an alias relative to the namespace: `Status` in dp.test means dp.test.Status"),
    # --- arrays and maps ---------------------------------------------------------------------------------------
    *(promotion(f"{kind}_{old}_to_{new}", old, new, container, f"{kind.replace('_', ' ')} resolve recursively: ")
      for kind, container, old, new in CONTAINER_CHANGES),
    case("array_items_record_field_added_without_default", OLD_READS_NEW,
         with_v(array_of(item())), with_v(array_of(item(fld("qty", "int")))),
         "the new item record requires `qty`, absent from old items"),
    case("array_to_map", NEITHER_WAY, with_v(array_of("string")), with_v(map_of("string")),
         "an array never matches a map"),
    # --- fixed -------------------------------------------------------------------------------------------------
    case("fixed_size_change", NEITHER_WAY, with_v(fixed(16)), with_v(fixed(32)),
         "fixed schemas match only if their sizes match"),
    case("fixed_rename_with_alias", NEW_READS_OLD,
         with_v(fixed(16)), with_v(fixed(16, name="Digest", aliases=["dp.test.Hash"])),
         "the new reader's alias maps the old name; the old reader has no alias for `Digest`"),
    case("fixed_rename_without_alias", NEITHER_WAY, with_v(fixed(16)), with_v(fixed(16, name="Digest")),
         "fixed schemas match only if their names match"),
    case("fixed_to_bytes", NEITHER_WAY, with_v(fixed(16)), with_v("bytes"),
         "fixed and bytes do not match; there is no promotion between them"),
    # --- logical types -----------------------------------------------------------------------------------------
    # The spec resolves on the underlying Avro type, with one explicit exception: "two schemas that are decimal
    # logical types match if their scales and precisions match". No other logical type has a resolution rule.
    case("decimal_precision_change", NEITHER_WAY,
         with_v(decimal(10, 2)), with_v(decimal(12, 2)),
         "decimals with different precisions do not match (spec, Decimal section)",
         flips=("backward", "forward"), gap=DECIMAL_GAP),
    case("decimal_scale_change", NEITHER_WAY,
         with_v(decimal(10, 2)), with_v(decimal(10, 4)),
         "decimals with different scales do not match (spec, Decimal section)",
         flips=("backward", "forward"), gap=DECIMAL_GAP),
    case("timestamp_millis_to_micros", BOTH_WAYS,
         with_v({"type": "long", "logicalType": "timestamp-millis"}),
         with_v({"type": "long", "logicalType": "timestamp-micros"}),
         "both annotate long and the spec gives timestamps no resolution rule, so long resolves to long; "
         "the values are silently reinterpreted (x1000), which is a semantic break the spec does not catch"),
    case("date_to_timestamp_millis", NEW_READS_OLD,
         with_v({"type": "int", "logicalType": "date"}), with_v({"type": "long", "logicalType": "timestamp-millis"}),
         "underlying int->long is a promotion, long->int is not"),
    # --- transitive histories (oldest first) -------------------------------------------------------------------
    history("history_readd_field_with_other_type", (NEITHER_WAY, BOTH_WAYS),
            (rec(ID, fld("x", "string")), rec(ID)),
            rec(ID, fld("x", "int", 0)),
            "v1 has x:string (no default), v2 dropped it, the new schema re-adds x:int with a default: fine "
            "against v2 both ways, but x string/int do not match against v1 either way"),
    history("history_readd_field_three_versions", (NEITHER_WAY, BOTH_WAYS, BOTH_WAYS),
            (rec(ID, fld("x", "string")), rec(ID), rec(ID, fld("y", "long", 0))),
            rec(ID, fld("y", "long", 0), fld("x", "int", 0)),
            "only the oldest of three versions conflicts on x (string vs int)"),
    history("history_remove_field_default_added_late", (NEW_READS_OLD, BOTH_WAYS),
            (rec(ID, fld("x", "int")), rec(ID, fld("x", "int", 0))), rec(ID),
            "removing x: v2 reads new data through its default, v1 has no default for x"),
    history("history_enum_default_added_late", (NEW_READS_OLD, BOTH_WAYS),
            (with_v(enum(["A", "B"])), with_v(enum(["A", "B", "C"], default="A"))),
            with_v(enum(["A", "B", "C", "D"], default="A")),
            "v2 maps the new symbol D to its default; v1 has no enum default and misses C and D"),
    history("history_type_flip_flop", (OLD_READS_NEW, NEW_READS_OLD), (with_v("double"), with_v("int")), with_v("long"),
            "new long reads v2 int (promotion) but not v1 double; v1 double reads long, v2 int does not"),
    history("history_all_compatible", (BOTH_WAYS, BOTH_WAYS),
            (rec(ID), rec(ID, fld("a", "string", ""))), rec(ID, fld("a", "string", ""), fld("b", "int", 0)),
            "each step only adds fields with defaults"),
]
# fmt: on


# ---------------------------------------------------------------------------------------------------------------
# expected verdicts, from the facts


def checked_pairs(case: Case, mode: CompatibilityMode) -> list[tuple[int, Direction]]:
    backward, forward, transitive = MODE_RULES[mode]
    versions = range(len(case.history)) if transitive else [len(case.history) - 1]
    directions: list[Direction] = []
    if backward:
        directions.append("backward")
    if forward:
        directions.append("forward")
    return [(v, d) for v in versions for d in directions]


def expected_failures(case: Case, mode: CompatibilityMode) -> set[tuple[int, Direction]]:
    return {(v, d) for v, d in checked_pairs(case, mode) if not case.fact(v, d)}


def parse(schema: Json) -> avro.schema.Schema:
    return parse_schema(json.dumps(schema))


def _mode_params() -> list[Any]:
    params = []
    for c in CASES:
        for mode in CompatibilityMode:
            marks = []
            if c.checker_flips & set(checked_pairs(c, mode)):
                marks.append(pytest.mark.xfail(strict=True, reason=c.gap))
            params.append(pytest.param(c, mode, id=f"{c.id}-{mode.value}", marks=marks))
    return params


def _direction_params() -> list[Any]:
    params = []
    for c in CASES:
        for version in range(len(c.history)):
            for direction in ("backward", "forward"):
                marks = []
                if (version, direction) in c.checker_flips:
                    marks.append(pytest.mark.xfail(strict=True, reason=c.gap))
                params.append(pytest.param(c, version, direction, id=f"{c.id}-v{version + 1}-{direction}", marks=marks))
    return params


def test_case_table_is_big_enough_and_ids_unique() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    assert len(CASES) >= 40
    assert any(len(c.history) >= 2 for c in CASES)


@pytest.mark.parametrize(("case", "mode"), _mode_params())
def test_verdict_matches_spec(case: Case, mode: CompatibilityMode) -> None:
    new = parse(case.new)
    history = [parse(s) for s in case.history]
    failures = expected_failures(case, mode)

    verdict = check_compatibility(new, history, mode)

    assert verdict.compatible is (not failures), f"{case.id} under {mode.value}: {case.why}; got {verdict}"
    if not failures:
        assert verdict.messages == ()
        return
    assert verdict.messages, "an incompatible verdict must say why"
    # each message names its direction and the (1-based) version it concerns: exactly the failing pairs
    named: set[tuple[int, Direction]] = set()
    for message in verdict.messages:
        for v in range(len(case.history)):
            if message.startswith(f"new schema cannot read data written with version {v + 1}:"):
                named.add((v, "backward"))
            if message.startswith(f"version {v + 1} cannot read data written with the new schema:"):
                named.add((v, "forward"))
    assert named == failures, verdict.messages


@pytest.mark.parametrize(("case", "version", "direction"), _direction_params())
def test_reader_writer_fact_matches_spec(case: Case, version: int, direction: Direction) -> None:
    new, old = parse(case.new), parse(case.history[version])
    reader, writer = (new, old) if direction == "backward" else (old, new)

    problems = reader_writer_problems(reader, writer)

    assert (not problems) is case.fact(version, direction), f"{case.id}: {case.why}; got {problems}"


def test_none_accepts_anything() -> None:
    verdict = check_compatibility(parse(rec(ID)), [parse(with_v("string"))], CompatibilityMode.NONE)
    assert verdict.compatible and verdict.messages == ()


def test_schemas_given_as_text_are_parsed() -> None:
    old, new = json.dumps(rec(ID)), json.dumps(rec(ID, fld("note", "string")))
    assert not check_compatibility(new, [old], "BACKWARD").compatible
    assert check_compatibility(new, [old], "FORWARD").compatible


# ---------------------------------------------------------------------------------------------------------------
# messages: they must point at what broke


@pytest.mark.parametrize(
    ("old", "new", "mode", "fragments"),
    [
        pytest.param(
            rec(ID),
            rec(ID, fld("note", "string")),
            CompatibilityMode.BACKWARD,
            ["note", "reader_field_missing_default_value", "fields/1"],
            id="missing-default-names-field",
        ),
        pytest.param(
            rec(ID, fld("note", "string")),
            rec(ID),
            CompatibilityMode.FORWARD,
            ["note", "reader_field_missing_default_value", "version 1"],
            id="forward-missing-default-names-field",
        ),
        pytest.param(
            rec(ID, fld("address", address())),
            rec(ID, fld("address", address(fld("zip", "string")))),
            CompatibilityMode.BACKWARD,
            ["zip", "fields/1/type/fields/1"],
            id="nested-missing-default-names-path",
        ),
        pytest.param(
            with_v("string"),
            with_v("int"),
            CompatibilityMode.BACKWARD,
            ["type_mismatch", "fields/1/type", "int", "string"],
            id="type-mismatch-names-path-and-types",
        ),
        pytest.param(
            with_v(enum(["A", "B", "C"])),
            with_v(enum(["A", "B"])),
            CompatibilityMode.BACKWARD,
            ["missing_enum_symbols", "C", "fields/1/type/symbols"],
            id="enum-names-missing-symbol",
        ),
        pytest.param(
            with_v(fixed(16)),
            with_v(fixed(32)),
            CompatibilityMode.BACKWARD,
            ["fixed_size_mismatch", "16", "32", "size"],
            id="fixed-names-sizes",
        ),
        pytest.param(
            rec(ID),
            rec(ID, name="Purchase"),
            CompatibilityMode.BACKWARD,
            ["name_mismatch", "dp.test.Order"],
            id="name-mismatch-names-expected-name",
        ),
        pytest.param(
            with_v(["null", "string"]),
            with_v(["null", "string", "long"]),
            CompatibilityMode.FORWARD,
            ["missing_union_branch", "LONG"],
            id="union-names-missing-branch",
        ),
    ],
)
def test_incompatible_messages_point_at_the_problem(
    old: Json, new: Json, mode: CompatibilityMode, fragments: list[str]
) -> None:
    verdict = check_compatibility(parse(new), [parse(old)], mode)
    assert not verdict.compatible
    text = "\n".join(verdict.messages)
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in {text!r}"


def test_transitive_message_names_only_the_offending_version() -> None:
    history = [parse(rec(ID, fld("x", "string"))), parse(rec(ID))]
    new = parse(rec(ID, fld("x", "int", 0)))
    verdict = check_compatibility(new, history, CompatibilityMode.FULL_TRANSITIVE)
    assert not verdict.compatible
    assert any("written with version 1:" in m for m in verdict.messages)
    assert any(m.startswith("version 1 cannot read") for m in verdict.messages)
    assert not any("version 2" in m for m in verdict.messages)


# ---------------------------------------------------------------------------------------------------------------
# parse_schema


@pytest.mark.parametrize(
    "text",
    [
        pytest.param('{"type": "record", "name": "X", "fields": [', id="bad-json"),
        pytest.param('{"type": "strnig"}', id="unknown-type"),
        pytest.param('{"type": "record", "name": "X"}', id="record-without-fields"),
        pytest.param(
            '{"type": "record", "name": "X", "fields": [{"name": "a", "type": "nope"}]}', id="unknown-field-type"
        ),
        pytest.param(
            '{"type": "record", "name": "X", "fields": [{"name": "a", "type": "int"}, {"name": "a", "type": "int"}]}',
            id="duplicate-field",
        ),
        pytest.param('{"type": "enum", "name": "E", "symbols": ["A"], "default": "B"}', id="enum-default-not-a-symbol"),
        pytest.param('{"type": "fixed", "name": "F"}', id="fixed-without-size"),
    ],
)
def test_parse_schema_rejects_invalid(text: str) -> None:
    with pytest.raises(InvalidSchemaError, match="invalid Avro schema"):
        parse_schema(text)


def test_parse_schema_rejects_invalid_parsed_json() -> None:
    with pytest.raises(InvalidSchemaError):
        parse_schema({"type": "record", "name": "X"})


def test_parse_schema_accepts_text_and_parsed_json() -> None:
    assert parse_schema('"int"').type == "int"
    record = parse_schema(rec(ID))
    assert isinstance(record, avro.schema.RecordSchema) and record.fullname == "dp.test.Order"
    assert parse_schema(["null", "string"]).type == "union"
