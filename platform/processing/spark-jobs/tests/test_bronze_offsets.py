"""The pure parts of etl_bronze: committed offsets, the ranges a run reads, the wire header's schema id."""

from __future__ import annotations

import json

import pytest

from dp_spark_jobs.bronze.job import offsets_in_history
from dp_spark_jobs.bronze.offsets import (
    OffsetsFormatError,
    PartitionRange,
    dump_offsets,
    merge_offsets,
    parse_offsets,
    plan_topic,
)
from dp_spark_jobs.bronze.source import spark_kafka_options, wire_schema_id
from dp_spark_jobs.tables import OFFSETS_KEY

T = "commerce.page_view.v1"


# ------------------------------------------------------------------------------------------------ offsets JSON


def test_offsets_round_trip_with_partitions_in_numeric_order() -> None:
    offsets = {T: {10: 7, 2: 3, 0: 0}, "a.b.v1.dlq": {0: 12}}
    text = dump_offsets(offsets)
    assert text == '{"a.b.v1.dlq":{"0":12},"commerce.page_view.v1":{"0":0,"2":3,"10":7}}'
    assert parse_offsets(text) == offsets


@pytest.mark.parametrize("text", [None, ""])
def test_no_offsets_recorded_means_nothing_read(text: str | None) -> None:
    assert parse_offsets(text) == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1]", "JSON object of topics"),
        ("{", "not JSON"),
        ('{"t": [1]}', "object of partitions"),
        ('{"t": {"x": 1}}', "not an integer"),
        ('{"t": {"0": -1}}', "is not >= 0"),
        ('{"t": {"0": true}}', "is not >= 0"),
        ('{"t": {"0": "5"}}', "is not >= 0"),
    ],
)
def test_malformed_offsets_are_refused(text: str, message: str) -> None:
    with pytest.raises(OffsetsFormatError, match=message):
        parse_offsets(text)


def test_merge_replaces_the_updated_partitions_and_keeps_the_rest() -> None:
    committed = {T: {0: 5, 1: 9}, "other": {0: 1}}
    merged = merge_offsets(committed, {T: {1: 12, 2: 4}})
    assert merged == {T: {0: 5, 1: 12, 2: 4}, "other": {0: 1}}
    assert committed == {T: {0: 5, 1: 9}, "other": {0: 1}}  # not modified


def test_offsets_come_from_the_newest_snapshot_that_carries_them() -> None:
    newest_first = [
        {"operation": "replace"},  # compaction: no offsets
        {OFFSETS_KEY: json.dumps({T: {"0": 8}})},
        {OFFSETS_KEY: json.dumps({T: {"0": 3}})},
    ]
    assert offsets_in_history(newest_first) == {T: {0: 8}}
    assert offsets_in_history([{"operation": "append"}]) is None
    assert offsets_in_history([]) is None


# ------------------------------------------------------------------------------------------------ ranges


def test_first_run_reads_every_partition_from_its_earliest_record() -> None:
    plan = plan_topic(T, {}, {0: (0, 5), 1: (0, 0), 2: (0, 3)})
    assert plan.ranges == (PartitionRange(0, 0, 5), PartitionRange(2, 0, 3))
    assert plan.start == {0: 0, 1: 0, 2: 0}
    assert plan.next_offsets == {0: 5, 1: 0, 2: 3}
    assert plan.offsets_in_ranges == 8
    assert not plan.lost and not plan.problems and not plan.notes
    assert json.loads(plan.assign_json()) == {T: [0, 2]}
    assert json.loads(plan.starting_json()) == {T: {"0": 0, "2": 0}}
    assert json.loads(plan.ending_json()) == {T: {"0": 5, "2": 3}}


def test_first_run_of_a_topic_with_expired_records_starts_at_the_oldest_kept_without_loss() -> None:
    plan = plan_topic(T, {}, {0: (40, 50)})
    assert plan.ranges == (PartitionRange(0, 40, 50),)
    assert not plan.lost
    assert plan.notes and "earliest" in plan.notes[0]


def test_resume_reads_from_the_committed_offsets_to_the_high_watermark() -> None:
    plan = plan_topic(T, {T: {0: 5, 1: 3}, "other": {0: 9}}, {0: (0, 8), 1: (0, 3)})
    assert plan.ranges == (PartitionRange(0, 5, 8),)
    assert plan.start == {0: 5, 1: 3}
    assert plan.next_offsets == {0: 8, 1: 3}
    assert merge_offsets({T: {0: 5, 1: 3}, "other": {0: 9}}, {T: plan.next_offsets}) == {
        T: {0: 8, 1: 3},
        "other": {0: 9},
    }


def test_a_new_partition_is_read_from_offset_zero() -> None:
    plan = plan_topic(T, {T: {0: 5}}, {0: (0, 5), 1: (0, 4)})
    assert plan.ranges == (PartitionRange(1, 0, 4),)
    assert plan.next_offsets == {0: 5, 1: 4}
    assert any("new partitions [1]" in note for note in plan.notes)
    assert not plan.lost


def test_records_expired_before_they_were_read_are_reported_lost() -> None:
    plan = plan_topic(T, {T: {0: 5}}, {0: (7, 10), 1: (2, 6)})
    assert plan.lost == (PartitionRange(0, 5, 7), PartitionRange(1, 0, 2))
    assert plan.ranges == (PartitionRange(0, 7, 10), PartitionRange(1, 2, 6))
    assert plan.next_offsets == {0: 10, 1: 6}


def test_a_missing_topic_is_skipped_and_keeps_its_offsets() -> None:
    plan = plan_topic(T, {T: {0: 5}}, None)
    assert plan.empty and not plan.exists
    assert plan.next_offsets == {0: 5}
    assert plan.notes == (f"topic {T} does not exist: skipped",)
    assert plan_topic(T, {}, None).next_offsets == {}


def test_nothing_new_plans_no_range() -> None:
    plan = plan_topic(T, {T: {0: 5, 1: 0}}, {0: (0, 5), 1: (0, 0)})
    assert plan.empty
    assert plan.next_offsets == {0: 5, 1: 0}
    assert not plan.notes and not plan.problems


def test_an_offset_beyond_the_end_of_its_partition_is_a_problem() -> None:
    plan = plan_topic(T, {T: {0: 50, 1: 2}}, {0: (0, 10), 1: (0, 4)})
    assert plan.problems and "beyond the end of the partition (10)" in plan.problems[0]
    assert plan.ranges == (PartitionRange(1, 2, 4),)
    assert plan.next_offsets[0] == 50  # never moved backwards


def test_partitions_that_vanished_keep_their_offsets_and_are_noted() -> None:
    plan = plan_topic(T, {T: {0: 3, 1: 4}}, {0: (0, 3)})
    assert plan.next_offsets == {0: 3, 1: 4}
    assert any("[1]" in note and "no longer exist" in note for note in plan.notes)


# ------------------------------------------------------------------------------------------------ wire header


@pytest.mark.parametrize(
    ("value", "schema_id"),
    [
        (None, None),
        (b"", None),
        (b"\x00", None),
        (b"\x00\x00\x00\x07", None),  # 4 bytes: no room for the id
        (b"\x00\x00\x00\x00\x07", 7),  # header only, empty body
        (b"\x00\x00\x00\x01\x00avro", 256),
        (b"\x00\x7f\xff\xff\xff", 2**31 - 1),
        (b"\x00\x80\x00\x00\x00", -(2**31)),  # as Java reads it: a signed int
        (b"\x00\xff\xff\xff\xff", -1),
        (b"\x01\x00\x00\x00\x07body", None),  # another magic byte
        (b'{"format":"dp.dead-letter.v1"}', None),  # dead letters are JSON
    ],
)
def test_schema_id_of_the_wire_header(value: bytes | None, schema_id: int | None) -> None:
    assert wire_schema_id(value) == schema_id


# ------------------------------------------------------------------------------------------------ Spark options


def test_spark_kafka_options_of_a_plaintext_cluster() -> None:
    conf = {"bootstrap.servers": "a:9092,b:9092", "client.id": "x", "security.protocol": "PLAINTEXT"}
    assert spark_kafka_options(conf) == {
        "kafka.bootstrap.servers": "a:9092,b:9092",
        "kafka.security.protocol": "PLAINTEXT",
    }


def test_spark_kafka_options_carry_sasl_credentials_as_jaas() -> None:
    conf = {
        "bootstrap.servers": "b:9096",
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "etl",
        "sasl.password": 'p"w\\d',
    }
    options = spark_kafka_options(conf)
    assert options["kafka.sasl.mechanism"] == "SCRAM-SHA-512"
    assert options["kafka.sasl.jaas.config"] == (
        'org.apache.kafka.common.security.scram.ScramLoginModule required username="etl" password="p\\"w\\\\d";'
    )
    oauth = spark_kafka_options({**conf, "sasl.mechanism": "OAUTHBEARER"})
    assert "kafka.sasl.jaas.config" not in oauth
