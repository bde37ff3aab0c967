-- One row per payment_processed event Silver holds (valid, deduplicated by event id).
select
    cast(event_id as string) as event_id,
    cast(payment_id as string) as payment_id,
    cast(order_id as string) as order_id,
    status,
    occurred_at,
    _batch_id
from {{ silver_source('payment_processed') }}
