-- One row per order: the newest Silver copy of each order_placed event (duplicates share the order id).
with ranked as (
    select
        cast(order_id as string) as order_id,
        cast(event_id as string) as event_id,
        customer_id,
        currency,
        subtotal,
        shipping,
        tax,
        total,
        size(lines) as line_count,
        occurred_at,
        _ingested_at,
        _batch_id,
        row_number() over (partition by order_id order by _ingested_at desc, event_id) as copy_rank
    from {{ silver_source('order_placed') }}
)

select order_id, event_id, customer_id, currency, subtotal, shipping, tax, total, line_count, occurred_at,
    _ingested_at, _batch_id
from ranked
where copy_rank = 1
