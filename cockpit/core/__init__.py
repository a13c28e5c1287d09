"""Pure-Python core: selection model, indicator catalogue, formatting. Never imports Qt."""
