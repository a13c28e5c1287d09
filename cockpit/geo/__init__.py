"""Geographic base data (county outline, township areas) for the demo warehouse."""
