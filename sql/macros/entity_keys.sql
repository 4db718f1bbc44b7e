{#- The Bronze column that identifies an entity's versions. -#}
{% macro entity_key(entity) -%}
    {{ return({'customers': 'customer_id', 'products': 'product_id', 'transactions': 'transaction_id'}[entity]) }}
{%- endmacro %}

{#- The entity's keys with a version in the landing window's files, cleaned as Silver reads them. -#}
{% macro keys_in_landing_window(entity) -%}
    select {{ cleaned_id(entity_key(entity)) }} from {{ source('bronze', entity) }}
    where {{ in_landing_window() }} and {{ cleaned_id(entity_key(entity)) }} is not null
{%- endmacro %}

{#- The rows of `relation` whose `column`, cleaned as Silver reads it (cleaned_id), is one of `ids` (a query
    of cleaned ids). Most ids arrive clean, so they are matched as they are: a plain column against the
    list, which DuckDB checks while it scans and, for ids outside the list's lowest and highest, skips
    whole row groups. Only ids with a space at either end are trimmed first; no clean id has one, so the
    two parts never hold the same row. Trimming every id instead cost a pass over all of Bronze's
    transactions (3.1 s of a landed file's dbt step at scale 1.0, now 0.5 s: README, "Scale and speed"). -#}
{% macro rows_with_cleaned_id(relation, column, ids) -%}
    select * from {{ relation }} where {{ column }} in ({{ ids }})
    union all
    select * from {{ relation }}
    where ({{ column }} like ' %' or {{ column }} like '% ') and {{ cleaned_id(column) }} in ({{ ids }})
{%- endmacro %}
