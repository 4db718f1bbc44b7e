{#- A sales date as the period a Gold fact groups it by: 'day' or 'month'. -#}
{% macro sales_period(date_expression, period) -%}
    {%- if period == 'month' -%}
        cast({{ dbt.date_trunc('month', date_expression) }} as date)
    {%- else -%}
        {{ date_expression }}
    {%- endif -%}
{%- endmacro %}
