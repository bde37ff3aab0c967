-- Every version of every product Silver has seen (one row per product_id and updated_at), the columns Gold uses.
select
    cast(product_id as string) as product_id,
    name,
    category,
    brand,
    price,
    currency,
    active,
    updated_at,
    _batch_id
from {{ silver_source('product', versions=true) }}
