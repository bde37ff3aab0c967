{#-
  The newest Silver _batch_id a mart has folded in from one source: the maximum of its cursor column `column` over
  the mart's rows (-1 for an empty mart), as a scalar subquery on {{ this }}. Only inside is_incremental().
-#}
{% macro folded(column) -%}
    (select coalesce(max({{ column }}), -1) from {{ this }})
{%- endmacro %}
