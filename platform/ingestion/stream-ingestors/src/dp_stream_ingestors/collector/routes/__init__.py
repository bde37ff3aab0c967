"""The collector's routes, one module per resource: ``events`` (the intake) and ``ops`` (health, metrics)."""
