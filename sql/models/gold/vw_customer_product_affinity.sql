{#- What each customer buys of each product, month by month, as the seed systems' view of the same name. -#}
select
    customer_id,
    customer_type,
    product_id,
    product_name,
    product_category,
    cast({{ dbt.date_trunc('month', 'transaction_date') }} as date) as purchase_month,
    count(distinct transaction_id) as purchase_count,
    sum(quantity) as total_quantity,
    sum(total_amount) as total_spent,
    {{ money_ratio('sum(total_amount)', 'count(total_amount)') }} as avg_purchase_amount,
    {{ dbt.datediff('min(transaction_date)', 'max(transaction_date)', 'day') }} as days_between_first_last_purchase
from {{ ref('sales_enriched') }}
group by
    customer_id,
    customer_type,
    product_id,
    product_name,
    product_category,
    cast({{ dbt.date_trunc('month', 'transaction_date') }} as date)
