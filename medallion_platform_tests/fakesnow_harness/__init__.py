"""Snowflake played by fakesnow (a dev dependency), for the tests only; the product imports nothing here.

- fake_dbt.py: `fake_snowflake()`, fakesnow's patch with the rewrites of what it cannot run, and the
  dbt command line run under it (the `dbt` the Snowflake pipeline tests give Dagster).
- warehouse.py: `FakesnowWarehouse`, the production SnowflakeWarehouse on fakesnow's database files,
  with the COPY forms fakesnow runs (`FakesnowCopy`), and `fakesnow_definitions`, the production
  definitions with those stand-ins injected.

What fakesnow cannot show is listed in the README ("What is not exercised here").
"""
