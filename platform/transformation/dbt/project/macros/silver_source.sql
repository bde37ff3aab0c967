{#-
  The Silver table of one contract entity, in the contract domain of the run: `{{ silver_source('order_placed') }}`
  is `source('silver', '<domain>__order_placed')`; with `versions=true` (reference data), the table of every version,
  `source('silver', '<domain>__product__versions')`. The generated sources (models/staging/_sources.yml, written by
  `dp transform sources`) name each table as Silver does, `<domain>__<name>`, for every domain in schemas/avro;
  `dp transform` sets DP_DBT_DOMAIN (its --domain option, default demo.domain).
-#}
{% macro silver_source(entity, versions=false) -%}
  {%- set table = env_var('DP_DBT_DOMAIN', 'commerce') ~ '__' ~ entity ~ ('__versions' if versions else '') -%}
  {{ return(source('silver', table)) }}
{%- endmacro %}
