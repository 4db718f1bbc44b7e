{{ config(
    materialized='incremental',
    incremental_strategy='replace_where',
    incremental_predicates=["{{ in_sales_groups_to_rebuild('purchase_month', 'month') }}"],
    tags=['partitioned_by_landing_day'],
) }}
-- The groups to rebuild are those of the transactions this run revisits (macros/sales_groups_to_rebuild.sql):
-- depends_on: {{ ref('transactions_revisited') }}
{# What each customer buys of each product, month by month, as the seed systems' view of the same name.
    Incremental: a run deletes and rebuilds only the (month, product, customer) rows its files can change. -#}
select
    customer_id,
    customer_type,
    product_id,
    product_name,
    product_category,
    {{ sales_period('transaction_date', 'month') }} as purchase_month,
    count(*) as purchase_count,
    {{ quantity_sum('quantity') }} as total_quantity,
    {{ money_sum('total_amount') }} as total_spent,
    {{ money_ratio('sum(total_amount)', 'count(total_amount)') }} as avg_purchase_amount,
    {{ dbt.datediff('min(transaction_date)', 'max(transaction_date)', 'day') }} as days_between_first_last_purchase
from ({{ enrich_sales(sales_to_aggregate('month')) }}) as sales
group by
    customer_id,
    customer_type,
    product_id,
    product_name,
    product_category,
    {{ sales_period('transaction_date', 'month') }}
