{{ config(
    materialized='incremental',
    incremental_strategy='replace_where',
    incremental_predicates=["{{ in_sales_groups_to_rebuild('transaction_date', 'day') }}"],
    tags=['partitioned_by_landing_day'],
) }}
-- The groups to rebuild are those of the transactions this run revisits (macros/sales_groups_to_rebuild.sql):
-- depends_on: {{ ref('transactions_revisited') }}
{# Daily sales per product and customer, as the seed systems' view of the same name.
    Incremental: a run deletes and rebuilds only the (date, product, customer) rows its files can change. -#}
select
    transaction_date,
    product_id,
    product_name,
    product_category,
    customer_id,
    customer_type,
    {{ quantity_sum('quantity') }} as total_quantity,
    {{ money_sum('total_amount') }} as total_sales,
    count(*) as num_transactions,
    {{ money_ratio('sum(total_amount)', 'sum(quantity)') }} as avg_price_per_unit,
    {{ money_ratio('sum(total_amount)', 'count(*)') }} as avg_transaction_value
from ({{ enrich_sales(sales_to_aggregate('day')) }}) as sales
group by transaction_date, product_id, product_name, product_category, customer_id, customer_type
