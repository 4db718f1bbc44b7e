{#- The (period, product, customer) groups an incremental run rebuilds in a Gold sales fact, each as
    sales_period, product_id, customer_id: every group a version of a transaction it revisits
    (transactions_revisited) falls in. A correction can move a sale to another day, product or customer,
    so the group it leaves changes too; a customer or product with a version in the window brings all
    its transactions. -#}
{% macro sales_groups_to_rebuild(period) -%}
    select {{ sales_period('transaction_date', period) }} as sales_period, product_id, customer_id
    from {{ ref('transactions_revisited') }}
    where transaction_id is not null and transaction_date is not null
{%- endmacro %}

{#- Whether a sales row, or a Gold fact row, is in a group sales_groups_to_rebuild lists. `period_column`
    is the row's period, `period` 'day' or 'month'; the row's ids are its unqualified product_id and
    customer_id. The facts apply it to the rows they delete and to the sales they rebuild from, so every
    group deleted is rebuilt from the sales it has now. Plain columns are tested first, each against the
    groups' values, so that the group key is computed only for the rows that pass them: the customer (a
    month holds nearly every customer's sales, so the period alone let through all of a month at scale
    1.0, README "Scale and speed"), then the period, which on DuckDB also skips the row groups of other
    days. A sale naming no customer has a group too (the key takes NULLs). -#}
{% macro in_sales_groups_to_rebuild(period_column, period) -%}
    ((customer_id in (select customer_id from ({{ sales_groups_to_rebuild(period) }}) as groups) or customer_id is null)
     and {{ period_column }} in (select sales_period from ({{ sales_groups_to_rebuild(period) }}) as groups)
     and {{ sales_group_key(period_column) }} in (
         select {{ sales_group_key('sales_period') }} from ({{ sales_groups_to_rebuild(period) }}) as groups))
{%- endmacro %}

{#- The Silver transactions a Gold fact aggregates, for enrich_sales: on an incremental run only the
    sales of the groups it rebuilds, filtered before the attribute joins. -#}
{% macro sales_to_aggregate(period) -%}
    {%- if is_incremental() -%}
    (select * from {{ ref('transactions') }}
     where {{ in_sales_groups_to_rebuild(sales_period('transaction_date', period), period) }})
    {%- else -%}
    {{ ref('transactions') }}
    {%- endif -%}
{%- endmacro %}
