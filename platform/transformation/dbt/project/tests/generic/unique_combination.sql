{#- No two rows share the values of ``columns`` (a compound key). Grouped, not concatenated: a separator could
    appear in free text and make two keys one. An error: the marts' keys are the models' own invariants. -#}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as rows_with_this_key
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
