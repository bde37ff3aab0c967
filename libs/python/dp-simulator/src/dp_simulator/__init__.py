"""The shop simulator: believable, reproducible events for every contract of the shop, with known anomalies.

Pure code: no Kafka, no clock, no I/O (but :func:`write_manifest`). The CLI (``dp ingest simulate``) paces, shows
progress and produces what :func:`simulate` yields, and feeds each sent event to a :class:`ManifestBuilder`.

The stream
    1. Reference data: every product (``SKU-00001``...) then every customer (``C000001``...), once each, with
       ``updated_at`` = ``start``; all valid. A ``count`` no larger than ``products + customers`` yields just the
       first ``count`` of these (products first) and nothing else.
    2. Sessions, on a simulated clock that starts at ``start`` and advances by an exponential gap (mean
       ``mean_gap_ms``) before every event. A dozen sessions run at once and their events interleave. A session
       lands on a page (HOME, CATEGORY, PRODUCT, SEARCH) from a traffic source (direct, organic, campaigns with
       utm tags), browses, adds products to the cart at the product's price and sometimes removes them; many leave
       after one page, after browsing or with a full cart. The rest view CART and CHECKOUT, sign in if anonymous
       (``customer_id`` is null before), and place an order whose lines are the cart (``line_total`` = quantity x
       unit_price, ``subtotal`` = sum of lines, shipping by storefront (free above a threshold, express, or the
       ``FREESHIP`` coupon), ``tax`` = VAT of the shipping country on subtotal + shipping, rounded half up, ``total``
       = subtotal + shipping + tax; one currency per session); then a payment of ``total``: mostly AUTHORISED,
       sometimes DECLINED with a reason (and retried, maybe by another method), and some authorised payments are
       REFUNDED 10 minutes to 3 hours later. Keys: ``session_id`` (page views, cart), ``order_id`` (orders,
       payments).

Anomalies (only after the reference data, which is always sent clean)
    * Numbers: with ``count``, exactly ``round(count * fraction)`` (half up, in decimal) late, duplicate and
      malformed events, at random positions; the rest are valid (:meth:`SimulationConfig.planned_counts`). If they
      do not fit after the reference data the config is rejected. Without ``count`` every event after the reference
      data is late, duplicate or malformed with probability equal to the fraction.
    * Late: a valid, unique event of a session whose events all arrive late: its event time is the event time of
      the latest on-time event minus the session's lag, 5 to 120 minutes. Late sessions are whole sessions (orders
      and payments consistent) that just happened earlier; their event times may fall before ``start``.
    * Duplicate: an exact re-send (same payload, same id) of one of the last 4096 valid or late events, recent
      ones most often.
    * Malformed: a new event, built like a valid one with ids no valid event uses, then broken in one of the ways
      listed in :mod:`dp_simulator.corrupt`; ``expected_error`` names the way and the field.
"""

from dp_simulator.engine import simulate
from dp_simulator.manifest import ManifestBuilder, write_manifest
from dp_simulator.model import (
    CONTRACTS,
    ID_FIELDS,
    Kind,
    SimEvent,
    SimulationConfig,
    SimulationConfigError,
)

__all__ = [
    "CONTRACTS",
    "ID_FIELDS",
    "Kind",
    "ManifestBuilder",
    "SimEvent",
    "SimulationConfig",
    "SimulationConfigError",
    "simulate",
    "write_manifest",
]
