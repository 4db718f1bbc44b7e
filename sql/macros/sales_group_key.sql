{#- A (period, product, customer) group as one value, for a plain IN: a sale may name no customer or
    product, which a tuple IN would never match, and HASH (the same function on DuckDB and Snowflake)
    takes NULLs. One 64-bit integer is also the cheapest key to probe for millions of rows. Two groups
    with the same hash only make a run rebuild a group more: the same key decides what is deleted and
    what is rebuilt. -#}
{% macro sales_group_key(period_expression) -%}
    hash({{ period_expression }}, product_id, customer_id)
{%- endmacro %}
