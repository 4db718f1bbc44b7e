{#- One row per transaction: the latest version, when it is usable. Orphans (unknown customer or
    product) stay and are flagged, so revenue never vanishes in a join. -#}
with valid as (
    select * from {{ ref('transactions_classified') }}
    where _status = 'valid'
)

select
    valid.transaction_id,
    valid.customer_id,
    valid.product_id,
    valid.quantity,
    valid.total_amount,
    valid.transaction_at,
    valid.transaction_date,
    valid.payment_method,
    valid.store_type,
    customers.customer_id is not null as has_known_customer,
    products.product_id is not null as has_known_product,
    valid._source_file,
    valid._load_id,
    valid._ingested_at
from valid
left join {{ ref('customers') }} as customers on valid.customer_id = customers.customer_id
left join {{ ref('products') }} as products on valid.product_id = products.product_id
