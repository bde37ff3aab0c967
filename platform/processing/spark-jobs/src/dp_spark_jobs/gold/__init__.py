"""etl_gold, Silver -> Gold: the job (:mod:`.job`), its progress and completeness rules (:mod:`.progress`, pure) and
the business rules as DataFrame transforms (:mod:`.transforms`)."""
