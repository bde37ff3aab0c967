"""Data contracts: the Avro schemas producers and every layer agree on, and what is derived from them."""
