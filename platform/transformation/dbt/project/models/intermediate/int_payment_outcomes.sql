-- Per order: the status of its latest payment event, when it was first authorised, whether it was refunded.
-- Latest by occurred_at; on a tie the later step of a payment's life wins (DECLINED < AUTHORISED < REFUNDED),
-- then the greater event_id.
with ranked as (
    select
        order_id,
        status,
        occurred_at,
        row_number() over (
            partition by order_id
            order by
                occurred_at desc,
                case status when 'REFUNDED' then 3 when 'AUTHORISED' then 2 when 'DECLINED' then 1 else 0 end desc,
                event_id desc
        ) as recency
    from {{ ref('stg_payments') }}
)

select
    order_id,
    max(case when recency = 1 then status end) as payment_status,
    min(case when status = 'AUTHORISED' then occurred_at end) as paid_at,
    max(status = 'REFUNDED') as refunded
from ranked
group by order_id
