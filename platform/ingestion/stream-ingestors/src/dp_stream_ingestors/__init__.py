"""DTHEINFRA stream ingestors: the front door through which every source reaches Kafka."""
