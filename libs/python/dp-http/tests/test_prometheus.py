"""The Prometheus text exposition format as dp_http writes it."""

from __future__ import annotations

import pytest

from dp_http.prometheus import Exposition, Histogram, escape, format_labels, format_number


@pytest.mark.parametrize(
    ("value", "escaped"),
    [("plain", "plain"), ('say "hi"', 'say \\"hi\\"'), ("back\\slash", "back\\\\slash"), ("two\nlines", "two\\nlines")],
)
def test_label_values_are_escaped(value: str, escaped: str) -> None:
    assert escape(value) == escaped
    assert format_labels({"name": value, "le": "+Inf"}) == f'{{name="{escaped}",le="+Inf"}}'


def test_no_labels_is_no_braces() -> None:
    assert format_labels({}) == ""


@pytest.mark.parametrize(("value", "text"), [(3, "3"), (3.0, "3"), (10.0, "10"), (0.005, "0.005"), (2.5, "2.5")])
def test_integral_numbers_have_no_decimal_point(value: float, text: str) -> None:
    assert format_number(value) == text


def test_a_histogram_counts_each_observation_under_every_bound_it_fits() -> None:
    histogram = Histogram((0.1, 1.0))
    for seconds in (0.05, 0.5, 2.0):
        histogram.observe(seconds)
    assert (histogram.counts, histogram.count, histogram.total) == ([1, 2], 3, 2.55)


def test_families_are_written_with_help_and_type_then_their_samples() -> None:
    latency = Histogram((0.5, 1.0))
    latency.observe(0.25)
    text = Exposition()
    text.counter(
        "app_requests_total", "Requests.", [({"route": "a", "status": "200"}, 2), ({"route": 'b"', "status": "5"}, 1)]
    )
    text.counter("app_events_total", "Events.", 7)
    text.gauge("app_up", "Up.", 1.0)
    text.histogram("app_seconds", "Latency.", [({"route": "a"}, latency), ({"route": "b"}, Histogram((0.5, 1.0)))])
    assert text.text() == (
        "# HELP app_requests_total Requests.\n"
        "# TYPE app_requests_total counter\n"
        'app_requests_total{route="a",status="200"} 2\n'
        'app_requests_total{route="b\\"",status="5"} 1\n'
        "# HELP app_events_total Events.\n"
        "# TYPE app_events_total counter\n"
        "app_events_total 7\n"
        "# HELP app_up Up.\n"
        "# TYPE app_up gauge\n"
        "app_up 1\n"
        "# HELP app_seconds Latency.\n"
        "# TYPE app_seconds histogram\n"
        'app_seconds_bucket{route="a",le="0.5"} 1\n'
        'app_seconds_bucket{route="a",le="1"} 1\n'
        'app_seconds_bucket{route="a",le="+Inf"} 1\n'
        'app_seconds_sum{route="a"} 0.25\n'
        'app_seconds_count{route="a"} 1\n'
        'app_seconds_bucket{route="b",le="0.5"} 0\n'
        'app_seconds_bucket{route="b",le="1"} 0\n'
        'app_seconds_bucket{route="b",le="+Inf"} 0\n'
        'app_seconds_sum{route="b"} 0.0\n'
        'app_seconds_count{route="b"} 0\n'
    )
