"""DTHEINFRA Gold in dbt: dbt's ``profiles.yml`` generated from the platform settings, and dbt run on them."""
