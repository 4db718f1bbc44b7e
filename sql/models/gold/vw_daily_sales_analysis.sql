{#- Daily sales per product and customer, as the seed systems' view of the same name. -#}
select
    transaction_date,
    product_id,
    product_name,
    product_category,
    customer_id,
    customer_type,
    sum(quantity) as total_quantity,
    sum(total_amount) as total_sales,
    count(distinct transaction_id) as num_transactions,
    round(sum(total_amount) / nullif(sum(quantity), 0), 2) as avg_price_per_unit,
    round(sum(total_amount) / nullif(count(distinct transaction_id), 0), 2) as avg_transaction_value
from {{ ref('sales_enriched') }}
group by transaction_date, product_id, product_name, product_category, customer_id, customer_type
