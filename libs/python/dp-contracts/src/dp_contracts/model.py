"""Contracts as the platform sees them: an Avro record plus its ``dp.*`` metadata and the names derived from it.

A contract lives in ``schemas/avro/<domain>/<name>.avsc``; ``<name>`` is the snake_case form of the record name
(``OrderPlaced`` -> ``order_placed``), which is how users type it (topics, URLs, CLI arguments).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dp_contracts.compat import CompatibilityMode
from dp_contracts.errors import InvalidSchemaError, UnknownContractError
from dp_contracts.ir import RecordT, from_avro

#: the platform's extra Avro attributes on a record; anything else starting with "dp." is a typo
RECORD_ATTRIBUTES = frozenset(
    {"dp.kind", "dp.key", "dp.event_time", "dp.event_id", "dp.partitioning", "dp.owner", "dp.compatibility", "dp.major"}
)
FIELD_ATTRIBUTES = frozenset({"dp.pii"})
PARTITION_TRANSFORM = re.compile(r"^(identity|year|month|day|hour|bucket\[(\d+)\]|truncate\[(\d+)\])\((\w+)\)$")


def snake_case(name: str) -> str:
    """``OrderPlaced`` -> ``order_placed``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def domain_table(domain: str, name: str) -> str:
    """A table's name in its namespace, ``<domain>__<name>``: every domain's tables share the namespaces."""
    return f"{domain}__{name}"


class ContractMeta(BaseModel):
    """The ``dp.*`` attributes of a contract record."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    kind: Literal["event", "reference"] = Field(alias="dp.kind")
    key: str = Field(alias="dp.key", description="Field whose value keys the Kafka record")
    event_time: str = Field(alias="dp.event_time", description="Field holding the event time")
    event_id: str | None = Field(None, alias="dp.event_id", description="Field that identifies duplicates")
    partitioning: tuple[str, ...] = Field(alias="dp.partitioning", description="Iceberg transforms, e.g. day(ts)")
    owner: str = Field(alias="dp.owner", min_length=1)
    compatibility: CompatibilityMode = Field(CompatibilityMode.BACKWARD, alias="dp.compatibility")
    major: int = Field(1, alias="dp.major", ge=1)


@dataclass(frozen=True)
class Contract:
    """One data contract."""

    name: str
    domain: str
    path: Path
    schema: dict[str, Any]

    @cached_property
    def meta(self) -> ContractMeta:
        raw = {k: v for k, v in self.schema.items() if k.startswith("dp.")}
        try:
            return ContractMeta.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False)
            )
            raise InvalidSchemaError(f"contract {self.name}: invalid dp.* metadata: {problems}") from None

    @cached_property
    def record(self) -> RecordT:
        return from_avro(self.schema)

    @property
    def record_name(self) -> str:
        return str(self.schema["name"])

    @property
    def text(self) -> str:
        """The schema as registered: compact JSON of the file's content."""
        return json.dumps(self.schema, separators=(",", ":"))

    @property
    def topic(self) -> str:
        return f"{self.domain}.{self.name}.v{self.meta.major}"

    @property
    def subject(self) -> str:
        return f"{self.topic}-value"

    @property
    def dlq_topic(self) -> str:
        return f"{self.topic}.dlq"

    @property
    def table_stem(self) -> str:
        return domain_table(self.domain, self.name)


def load_contract(path: Path, domain: str | None = None) -> Contract:
    """Read one ``.avsc`` file."""
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InvalidSchemaError(f"{path}: cannot read the contract: {exc}") from exc
    if not isinstance(schema, dict):
        raise InvalidSchemaError(f"{path}: a contract is an Avro record (a JSON object)")
    return Contract(name=path.stem, domain=domain or path.parent.name, path=path, schema=schema)


def contracts_dir(repo_root: Path) -> Path:
    """Where a checkout keeps its contracts, one folder per domain: ``<repo_root>/schemas/avro``."""
    return repo_root / "schemas" / "avro"


def load_contracts(root: Path) -> list[Contract]:
    """Every contract under ``root`` (:func:`contracts_dir`), by domain folder then name."""
    return [load_contract(p) for p in sorted(root.glob("*/*.avsc"))]


def find_contract(contracts: list[Contract], name: str) -> Contract:
    """A contract by its snake_case name (``order_placed``) or ``domain.name``."""
    for contract in contracts:
        if name in (contract.name, f"{contract.domain}.{contract.name}", contract.record_name):
            return contract
    raise UnknownContractError(name, [c.name for c in contracts])
