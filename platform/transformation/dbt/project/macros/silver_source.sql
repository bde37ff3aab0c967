{#-
  The Silver table of one contract entity, in the contract domain of the run: `{{ silver_source('order_placed') }}`
  is `source('silver', 'order_placed')`; with `versions=true` (reference data), the table of every version,
  `source('silver', 'product__versions')`. The generated sources (models/staging/_sources.yml, written by
  `dp transform sources`) name each table by its entity and read Silver's `<domain>__<name>` with the domain of
  DTHEINFRA_DBT_DOMAIN, which `dp transform` sets (its --domain option, default demo.domain).
-#}
{% macro silver_source(entity, versions=false) -%}
  {{ return(source('silver', entity ~ ('__versions' if versions else ''))) }}
{%- endmacro %}
