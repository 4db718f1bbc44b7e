"""The Snowflake production path: DDL for Snowflake-native objects and the COPY INTO Bronze loader.

Imported only when Snowflake is chosen (or a Snowflake command runs): the connector costs seconds.
"""
