"""Producer core: events checked against their contract, encoded as Avro in the Confluent wire format."""
