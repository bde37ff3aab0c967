"""What the platform's Airflow DAGs share: the platform settings (:mod:`.platform`), the defaults every DAG takes
from them and the failure alert (:mod:`.defaults`), the runner of the platform's own commands (:mod:`.commands`)
and Gold's dbt project as one Airflow task per model (:mod:`.gold`).

The DAG files in ``dags/`` only wire these together: no business logic lives in a DAG file. Heavy modules
(cosmos, subprocess work) are imported where they are used, so a DAG file parses fast.
"""
