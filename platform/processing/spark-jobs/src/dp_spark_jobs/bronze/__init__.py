"""etl_bronze, Kafka -> Bronze: the job (:mod:`.job`), the offsets it commits (:mod:`.offsets`, pure) and its Kafka
source (:mod:`.source`: the watermarks, the options of Spark's Kafka reader, the wire header)."""
