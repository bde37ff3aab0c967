{#-
  Whether the speed layer's tables the reconciliation reads exist yet (the aggregator creates them when it first
  starts): true when every relation in `relations` is in the catalog. A Gold build before the speed layer ever
  ran builds an empty reconciliation instead of failing. Unit tests override it.
-#}
{% macro speed_ready(relations) -%}
  {%- if not execute -%}{{ return(false) }}{%- endif -%}
  {%- for relation in relations -%}
    {%- if load_relation(relation) is none -%}{{ return(false) }}{%- endif -%}
  {%- endfor -%}
  {{ return(true) }}
{%- endmacro %}
