{#- Incremental strategy `replace_where` (as dbt-databricks names the same idea): delete the target rows
    that match every condition in `incremental_predicates`, then insert the model's rows, as one
    transaction on DuckDB and on Snowflake. The conditions may use Jinja, rendered when the run executes
    (as hooks are), so a model names the rows it replaces with the macro that chooses what it rebuilds.
    dbt's delete+insert deletes by the new rows' keys, so it cannot remove a key the new rows no longer
    carry, such as a transaction whose latest version is now quarantined; this can. -#}
{% macro get_incremental_replace_where_sql(arg_dict) -%}
    {%- set predicates = arg_dict['incremental_predicates'] or [] -%}
    {%- if not predicates -%}
        {{ exceptions.raise_compiler_error(
            "incremental_strategy 'replace_where' needs incremental_predicates: which rows the run replaces") }}
    {%- endif -%}
    {%- set conditions = [] -%}
    {%- for predicate in predicates -%}
        {%- do conditions.append('(' ~ render(predicate) ~ ')') -%}
    {%- endfor -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    {%- set dml -%}
delete from {{ arg_dict['target_relation'] }} where {{ conditions | join(' and ') }};
insert into {{ arg_dict['target_relation'] }} ({{ columns }})
select {{ columns }} from {{ arg_dict['temp_relation'] }}
    {%- endset -%}
    {{ return(adapter.dispatch('replace_where_in_one_transaction')(dml)) }}
{%- endmacro %}

{#- dbt-duckdb runs a model's statements in a transaction it opens itself. -#}
{% macro default__replace_where_in_one_transaction(dml) -%}
    {{ return(dml) }}
{%- endmacro %}

{#- dbt-snowflake autocommits each statement unless the DML names its own transaction. -#}
{% macro snowflake__replace_where_in_one_transaction(dml) -%}
    {{ return(snowflake_dml_explicit_transaction(dml)) }}
{%- endmacro %}
