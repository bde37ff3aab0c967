"""DTHEINFRA Flink helpers: pure parts (wire decoding, SQL, checkpoints) plus dp_flink.session (PyFlink)."""
