"""Alert rules and the alert lifecycle store. Never imports Qt."""
