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
    {{ money_ratio('sum(total_amount)', 'sum(quantity)') }} as avg_price_per_unit,
    {{ money_ratio('sum(total_amount)', 'count(distinct transaction_id)') }} as avg_transaction_value
from {{ ref('sales_enriched') }}
group by transaction_date, product_id, product_name, product_category, customer_id, customer_type
