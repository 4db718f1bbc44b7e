"""medallion_platform: e-commerce feeds to Bronze, Silver and Gold as Dagster software-defined assets."""

import warnings

# dagster-dbt pins sqlglot[rs], whose import warns on every start; the warning is not ours to fix.
warnings.filterwarnings("ignore", message=r"sqlglot\[rs\] is deprecated")
# Single-run backfills and column schema checks are beta in Dagster 1.13; we use them knowingly.
warnings.filterwarnings("ignore", message=r"Parameter `backfill_policy`")
warnings.filterwarnings("ignore", message=r"Function `build_column_schema_change_checks`")
