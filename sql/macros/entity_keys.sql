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

{#- The Bronze loads of a dimension (customers, products) that its classified table (`classified`, the
    incremental model's `this`) holds no row of yet: what a run classifies, like a Snowflake stream
    whose offset is the table itself. A run that stops before its dbt step leaves its loads to the
    next run, whatever day that run is for. -#}
{% macro unclassified_loads(entity, classified) -%}
    select distinct _load_id from {{ source('bronze', entity) }}
    where _load_id not in (select _load_id from {{ classified }} where _load_id is not null)
{%- endmacro %}

{#- Whether a row (of Bronze, or of the classified table) is one a run classifies again: a version of a
    key with a version in an unclassified load, or any row of such a load (one without a key too).
    Every version of those keys, so the version ranking sees each key's whole history, late and older
    versions included. `key` is the row's key as Silver reads it. -#}
{% macro is_reclassified_version(entity, key, classified) -%}
    ({{ key }} in (select {{ cleaned_id(entity_key(entity)) }} from {{ source('bronze', entity) }}
                   where _load_id in ({{ unclassified_loads(entity, classified) }}))
     or _load_id in ({{ unclassified_loads(entity, classified) }}))
{%- endmacro %}
