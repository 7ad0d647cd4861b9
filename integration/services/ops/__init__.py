"""Running the service: the trends rollup, retention, readiness, the console's roles and API clients."""
