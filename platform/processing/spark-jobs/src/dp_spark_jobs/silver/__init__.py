"""etl_silver, Bronze -> Silver: the job (:mod:`.job`) and the Silver and rejected tables it creates and evolves from
the contracts (:mod:`.tables`)."""
