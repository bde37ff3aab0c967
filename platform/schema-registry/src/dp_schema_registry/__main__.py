"""``python -m dp_schema_registry``: serve the registry (see :func:`dp_schema_registry.cli.main`)."""

from dp_schema_registry.cli import main

raise SystemExit(main())
