"""The DuckDB warehouse: schema, snapshot store, queries and the demo builder. Never imports Qt."""
