{#- Silver transactions with their product and customer attributes: the one join every sales model
    shares (models/gold/sales_enriched.sql over all of Silver). Left joins, so orphan sales keep their
    revenue (customer_type 'Unknown'). `transactions` is the Silver transactions relation, or a subquery
    of it: an incremental Gold fact passes only the sales it rebuilds, so the join reads those rows
    instead of all of history. One row per sale: silver.transactions holds one per transaction_id (its
    unique test) and the joins are on the dimensions' unique ids, so the sales models count rows with
    count(*), not a DISTINCT over the ids. -#}
{% macro enrich_sales(transactions) -%}
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
from {{ transactions }} as transactions
left join {{ ref('products') }} as products on transactions.product_id = products.product_id
left join {{ ref('customers') }} as customers on transactions.customer_id = customers.customer_id
{%- endmacro %}
