-- Every order's total is its subtotal + shipping + tax, and its lines sum to its subtotal (the contract's docs say
-- so; Silver does not check it). A warning, not an error: a producer's arithmetic must not stop Gold.
{{ config(severity='warn') }}
select
    order_id,
    subtotal,
    shipping,
    tax,
    total,
    lines_total
from {{ ref('fct_orders') }}
where total <> subtotal + shipping + tax or (line_count > 0 and lines_total <> subtotal)
