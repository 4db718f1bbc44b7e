{#- Models land in exactly the schema they name (silver, gold), not <target>_silver. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ (custom_schema_name or target.schema) | trim }}
{%- endmacro %}
