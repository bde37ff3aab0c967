{#-
  Whether a day falls in the backfill range of the run: `dp transform build|run --from D1 --to D2` passes the
  project variables from_date and to_date, and every incremental mart recomputes the days (or the orders of the
  days) in that range besides the ones new Silver batches touched. `false` when the run has no range.
-#}
{% macro in_backfill(day_expression) -%}
    {%- set from_date = var('from_date', none) -%}
    {%- set to_date = var('to_date', none) -%}
    {%- if from_date is none and to_date is none -%}
        false
    {%- else -%}
        {%- for day in [from_date, to_date] -%}
            {%- if day is none or not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', day | string) -%}
                {%- do exceptions.raise_compiler_error(
                    'from_date and to_date go together, each a day as YYYY-MM-DD; got ' ~ from_date ~ ' and ' ~ to_date
                ) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if (from_date | string) > (to_date | string) -%}
            {%- do exceptions.raise_compiler_error(
                'from_date ' ~ from_date ~ ' is after to_date ' ~ to_date ~ ': the range would recompute nothing'
            ) -%}
        {%- endif -%}
        ({{ day_expression }} between date'{{ from_date }}' and date'{{ to_date }}')
    {%- endif -%}
{%- endmacro %}
