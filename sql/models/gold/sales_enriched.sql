{{ config(materialized='ephemeral') }}
{#- Silver transactions with their product and customer attributes: the one join every sales view
    shares. Left joins, so orphan sales keep their revenue (customer_type 'Unknown').
    Ephemeral (inlined where it is used): a join is not data, so no run has to rebuild it before the
    Gold models that read it, and the incremental sales facts can run straight after Silver. -#}
select
    transactions.transaction_id,
    transactions.transaction_date,
    transactions.quantity,
    transactions.total_amount,
    transactions.product_id,
    products.product_name,
    products.category as product_category,
    transactions.customer_id,
    coalesce(customers.customer_type, 'Unknown') as customer_type
from {{ ref('transactions') }} as transactions
left join {{ ref('products') }} as products on transactions.product_id = products.product_id
left join {{ ref('customers') }} as customers on transactions.customer_id = customers.customer_id
