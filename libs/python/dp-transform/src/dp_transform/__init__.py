"""DTHEINFRA Gold in dbt, from the main environment: dbt's profile from config, the sources from the contracts, and
``dp transform``, which runs dbt in its own environment (``.runtime/venvs/dbt``) as a process."""
