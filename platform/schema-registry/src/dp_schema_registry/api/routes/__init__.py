"""One router per resource of Confluent's API: subjects, schemas, config, compatibility, mode, and the root."""
