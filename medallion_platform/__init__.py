"""medallion_platform: e-commerce feeds to Bronze, Silver and Gold as Dagster software-defined assets."""

import warnings

# dagster-dbt pins sqlglot[rs], whose import warns on every start; the warning is not ours to fix.
warnings.filterwarnings("ignore", message=r"sqlglot\[rs\] is deprecated")
