"""Where the registry keeps its state: the :class:`Store` interface, PostgreSQL and in-memory implementations."""

from dp_schema_registry.store.base import Store, Transaction
from dp_schema_registry.store.memory import MemoryStore

__all__ = ["MemoryStore", "Store", "Transaction"]
