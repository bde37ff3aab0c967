{#- The column is never below zero (null passes: not_null says whether it may be null). A warning: Silver accepts
    a negative quantity or amount (the contracts do not forbid one), and a record Silver accepted must not stop Gold. -#}
{% test non_negative(model, column_name) %}
{{ config(severity='warn') }}
select {{ column_name }} from {{ model }} where {{ column_name }} < 0
{% endtest %}
