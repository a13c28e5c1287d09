"""`cockpit bench`: the benchmark harness that measures the real window (harness) and the shared
deployment against the local one (shared). It drives the UI from outside, so it sits above
`cockpit.ui` and nothing in the package imports it."""
