"""Errors of the contracts lib."""

from __future__ import annotations

from dp_core.errors import PlatformError, TerminalError, TransientError


class ContractError(PlatformError):
    """Root of the contract errors."""


class InvalidSchemaError(ContractError, TerminalError):
    """A schema is not valid Avro, or breaks the platform's contract rules."""


class UnknownNodeError(ContractError, TypeError):
    """A visitor of the type tree met a kind of node it has no method for (see :class:`dp_contracts.ir.TypeVisitor`)."""


class UnknownContractError(ContractError, TerminalError):
    """No contract has the given name."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        super().__init__(f"unknown contract {name!r}; known: {', '.join(known) or 'none'}")


class RegistryError(ContractError):
    """The schema registry refused a request."""


class RegistryUnavailableError(RegistryError, TransientError):
    """The schema registry cannot be reached."""
