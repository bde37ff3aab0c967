-- Sessions per UTC day at each step of the funnel (definitions in _marts.yml). Incremental: each run recomputes in
-- full the days that new Silver page views or cart updates fall on, and the order days of the fct_orders rows
-- newer than this mart's cursors, and replaces exactly those days; a run with nothing new commits nothing.
{{
    config(
        materialized='incremental',
        incremental_strategy='insert_overwrite',
        on_schema_change='fail',
        partition_by=['event_date'],
    )
}}

{% if is_incremental() %}
with cursors as (
    select
        coalesce(max(silver_page_views_batch_id), -1) as page_views_folded,
        coalesce(max(silver_cart_updates_batch_id), -1) as cart_updates_folded,
        coalesce(max(silver_orders_batch_id), -1) as orders_folded,
        coalesce(max(silver_payments_batch_id), -1) as payments_folded
    from {{ this }}
),

days as (
    select to_date(occurred_at) as event_date
    from {{ ref('stg_page_views') }}
    where _batch_id > (select page_views_folded from cursors)
    union
    select to_date(occurred_at) as event_date
    from {{ ref('stg_cart_updates') }}
    where _batch_id > (select cart_updates_folded from cursors)
    union
    select order_date as event_date
    from {{ ref('fct_orders') }}
    where
        silver_orders_batch_id > (select orders_folded from cursors)
        or silver_payments_batch_id > (select payments_folded from cursors)
),
{% else %}
with
{% endif %}

views as (
    select
        to_date(occurred_at) as event_date,
        session_id,
        _batch_id
    from {{ ref('stg_page_views') }}
    {% if is_incremental() %}
    where to_date(occurred_at) in (select event_date from days) or {{ in_backfill('to_date(occurred_at)') }}
    {% endif %}
),

carts as (
    select
        to_date(occurred_at) as event_date,
        session_id,
        _batch_id
    from {{ ref('stg_cart_updates') }}
    where
        action = 'ADD'
        {% if is_incremental() %}
        and (to_date(occurred_at) in (select event_date from days) or {{ in_backfill('to_date(occurred_at)') }})
        {% endif %}
),

cart_batches as (  -- the cart cursor covers every cart update of the day, ADD or REMOVE
    select
        to_date(occurred_at) as event_date,
        max(_batch_id) as batch_id
    from {{ ref('stg_cart_updates') }}
    {% if is_incremental() %}
    where to_date(occurred_at) in (select event_date from days) or {{ in_backfill('to_date(occurred_at)') }}
    {% endif %}
    group by to_date(occurred_at)
),

orders as (
    select
        order_date as event_date,
        session_id,
        payment_status,
        silver_orders_batch_id,
        silver_payments_batch_id
    from {{ ref('fct_orders') }}
    {% if is_incremental() %}
    where order_date in (select event_date from days) or {{ in_backfill('order_date') }}
    {% endif %}
),

per_step as (
    select
        event_date,
        count(distinct session_id) as sessions,
        cast(0 as bigint) as carts,
        cast(0 as bigint) as orders,
        cast(0 as bigint) as paid,
        max(_batch_id) as page_views_batch_id,
        cast(-1 as bigint) as cart_updates_batch_id,
        cast(-1 as bigint) as orders_batch_id,
        cast(-1 as bigint) as payments_batch_id,
        true as is_step
    from views
    group by event_date
    union all
    select
        event_date,
        0,
        count(distinct session_id),
        0,
        0,
        -1,
        -1,
        -1,
        -1,
        true
    from carts
    group by event_date
    union all
    select
        event_date,
        0,
        0,
        0,
        0,
        -1,
        batch_id,
        -1,
        -1,
        false
    from cart_batches
    union all
    select
        event_date,
        0,
        0,
        count(distinct session_id),
        count(distinct case when payment_status = 'AUTHORISED' then session_id end),
        -1,
        -1,
        max(silver_orders_batch_id),
        max(silver_payments_batch_id),
        true
    from orders
    group by event_date
),

counts as (
    select
        event_date,
        cast(sum(sessions) as bigint) as sessions,
        cast(sum(carts) as bigint) as carts,
        cast(sum(orders) as bigint) as orders,
        cast(sum(paid) as bigint) as paid,
        cast(max(page_views_batch_id) as bigint) as silver_page_views_batch_id,
        cast(max(cart_updates_batch_id) as bigint) as silver_cart_updates_batch_id,
        cast(max(orders_batch_id) as bigint) as silver_orders_batch_id,
        cast(max(payments_batch_id) as bigint) as silver_payments_batch_id
    from per_step
    group by event_date
    having bool_or(is_step)  -- a day with cart removals only has no funnel row (its updates still move the cursor)
)

select
    event_date,
    sessions,
    carts,
    orders,
    paid,
    case when sessions > 0 then cast(carts as double) / cast(sessions as double) end as cart_rate,
    case when carts > 0 then cast(orders as double) / cast(carts as double) end as order_rate,
    case when orders > 0 then cast(paid as double) / cast(orders as double) end as payment_rate,
    case when sessions > 0 then cast(paid as double) / cast(sessions as double) end as conversion_rate,
    silver_page_views_batch_id,
    silver_cart_updates_batch_id,
    silver_orders_batch_id,
    silver_payments_batch_id
from counts
