{#- The Bronze column that identifies an entity's versions. -#}
{% macro entity_key(entity) -%}
    {{ return({'customers': 'customer_id', 'products': 'product_id', 'transactions': 'transaction_id'}[entity]) }}
{%- endmacro %}

{#- The entity's keys with a version in the landing window's files, cleaned as Silver reads them. -#}
{% macro keys_in_landing_window(entity) -%}
    select {{ cleaned_id(entity_key(entity)) }} from {{ source('bronze', entity) }}
    where {{ in_landing_window() }} and {{ cleaned_id(entity_key(entity)) }} is not null
{%- endmacro %}
