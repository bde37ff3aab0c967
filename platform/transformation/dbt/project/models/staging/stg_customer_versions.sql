-- Every version of every customer Silver has seen (one row per customer_id and updated_at), without the personal
-- data (email, full name), which stays in Silver.
select
    cast(customer_id as string) as customer_id,
    country,
    segment,
    signup_date,
    marketing_opt_in,
    updated_at,
    _batch_id
from {{ silver_source('customer', versions=true) }}
