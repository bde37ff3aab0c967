-- One row per order_placed event Silver holds (valid, deduplicated by event id): the columns Gold uses.
select
    cast(event_id as string) as event_id,
    cast(order_id as string) as order_id,
    cast(customer_id as string) as customer_id,
    cast(session_id as string) as session_id,
    occurred_at,
    currency,
    shipping_country,
    lines,
    subtotal,
    shipping,
    tax,
    total,
    _batch_id
from {{ silver_source('order_placed') }}
