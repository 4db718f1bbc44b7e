{#- The Bronze lineage every classified row carries on: which file and row it came from, and when.
    `prefix` qualifies the columns ('bronze.') where a join makes them ambiguous. -#}
{% macro lineage_columns(prefix='') -%}
    {{ prefix }}_source_file, {{ prefix }}_row_number, {{ prefix }}_load_id, {{ prefix }}_landing_date, {{ prefix }}_file_last_modified,
    {{ prefix }}_ingested_at
{%- endmacro %}
