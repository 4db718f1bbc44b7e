{#- Nothing lost, nothing counted twice: every bronze.<entity> row is in silver.<entity>, in its
    quarantine, or superseded by a later version of its key. Counted from the Silver table itself (the
    one an incremental run can get wrong). Returns one row, with the counts, when they do not add up.
    With a landing window (an incremental run) it checks the keys the window's files carry, every
    version of them: the only Silver rows such a run changes. Without one (the nightly full refresh)
    it checks all of Bronze.
    `versions`, when given, is the model holding the versions an incremental run revisits, classified
    (transactions_revisited): every Bronze row of those keys, one row each. The check then covers its
    keys and reads versions and statuses from it rather than Bronze's history again, so it comes down
    to Silver holding exactly their valid versions (not in a full refresh, which leaves it empty).
    Severity error: `dbt build` skips what is built on the table (dbt holds back the models that depend
    on everything a test reads: the table and the Bronze beneath it). -#}
{% test reconciles_with_bronze(model, entity, versions=none) %}
{%- set key = entity_key(entity) %}
{%- set versions = versions if not flags.FULL_REFRESH else none %}
{%- if not landing_window_is_set() %}{% set keys = none %}
{%- elif versions is not none %}{% set keys = 'select ' ~ key ~ ' from ' ~ versions %}
{%- else %}{% set keys = keys_in_landing_window(entity) %}
{%- endif %}
with versions as (
    {% if versions is not none -%}
    select * from {{ versions }}
    {%- else -%}
    {{ classified(entity, keys=keys) }}
    {%- endif %}
),

counts as (
    select
        (select count(*) from {% if versions is not none %}versions{% else %}({{ bronze_versions(entity, keys=keys) }}) as bronze{% endif %}) as bronze_rows,
        (select count(*) from {{ model }}
         {%- if keys is not none %}
         where {{ key }} in ({{ keys }})
         {%- endif %}) as silver_rows,
        (select count(*) from versions where _status = 'quarantined') as quarantined_rows,
        (select count(*) from versions where _status = 'superseded') as superseded_rows
)

select
    bronze_rows - (silver_rows + quarantined_rows + superseded_rows) as unaccounted_rows,
    *
from counts
where bronze_rows <> silver_rows + quarantined_rows + superseded_rows
{% endtest %}
