"""The registry's operations, with Confluent's semantics, written once against the :class:`Store` interface.

The HTTP layer (:mod:`dp_schema_registry.api`) parses requests and renders answers; everything a Confluent
client relies on -- which id a registration gets, which versions are visible, which error code a miss gets,
what a compatibility check compares -- is decided here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import lru_cache

import avro.schema

from dp_contracts.compat import CompatibilityMode
from dp_schema_registry.canonical import CanonicalSchema, canonicalize
from dp_schema_registry.compatibility import compatibility_problems
from dp_schema_registry.errors import (
    IncompatibleSchemaError,
    InvalidSchemaError,
    SchemaNotFoundError,
    SubjectCompatibilityNotConfiguredError,
    SubjectNotFoundError,
    SubjectNotSoftDeletedError,
    SubjectSoftDeletedError,
    VersionNotFoundError,
    VersionNotSoftDeletedError,
    VersionSoftDeletedError,
)
from dp_schema_registry.model import (
    AVRO,
    LATEST,
    Registration,
    StoredSchema,
    SubjectVersion,
    effective_compatibility,
    next_version,
    parse_compatibility,
    parse_version,
    resolve_version,
)
from dp_schema_registry.store.base import Store, Transaction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SchemaSubmission:
    """A schema as a client sends it (``POST /subjects/{s}/versions``, lookups and compatibility checks)."""

    schema: str
    schema_type: str = AVRO
    references: list[object] = field(default_factory=list)
    extras: tuple[str, ...] = ()
    """Names of request properties this registry does not implement but which would change the meaning."""


@lru_cache(maxsize=2048)
def _parsed(text: str) -> avro.schema.Schema:
    """A stored canonical text, parsed (stored schemas never change, so their parse is cached)."""
    return canonicalize(text).parsed


class Registry:
    """The schema registry: subjects, versions, global ids, compatibility levels.

    Args:
        store: where the state lives.
        default_compatibility: the global level until one is set (``registry.default_compatibility``).
    """

    def __init__(self, store: Store, default_compatibility: CompatibilityMode | str) -> None:
        self.store = store
        self.default_compatibility = CompatibilityMode(default_compatibility)

    # ------------------------------------------------------------------------------------------------------------
    # schemas under subjects

    def register(self, subject: str, submission: SchemaSubmission) -> Registration:
        """Register a schema under a subject; an identical live schema in the subject returns its existing id.

        The schema keeps one global id across subjects. A new version is checked against the subject's live
        versions under its compatibility mode (the subject's, else the global one).

        Raises:
            InvalidSchemaError: not valid Avro (42201). IncompatibleSchemaError: breaks the mode (409).
        """
        candidate = self._canonical(submission)
        with self.store.transaction(f"registering a schema under subject '{subject}'") as tx:
            tx.lock_subject(subject)
            versions = tx.versions(subject)
            live = [v for v in versions if not v.deleted]
            known_id = tx.schema_id_for(candidate.fingerprint)
            if known_id is not None:
                for version in reversed(live):
                    if version.schema_id == known_id:
                        return Registration(known_id, version.version, created=False)
            mode = self._mode(tx, subject)
            problems = compatibility_problems(candidate.parsed, self._schemas_of(tx, live, mode), mode)
            if problems:
                raise IncompatibleSchemaError(subject, mode.value, tuple(problems))
            schema_id = tx.ensure_schema(candidate)
            number = next_version(versions)
            # as Confluent does: older soft-deleted versions of the same schema are dropped for good
            stale = [v.version for v in versions if v.deleted and v.schema_id == schema_id]
            if stale:
                tx.remove_versions(subject, stale)
            tx.add_version(subject, number, schema_id)
        log.info("registered a schema", extra={"subject": subject, "version": number, "schema_id": schema_id})
        return Registration(schema_id, number, created=True)

    def lookup(self, subject: str, submission: SchemaSubmission, include_deleted: bool) -> tuple[SubjectVersion, str]:
        """The version of ``subject`` that holds this schema (the latest if several), and its canonical text.

        Raises:
            SubjectNotFoundError: the subject has no (visible) version (40401).
            SchemaNotFoundError: the schema is not registered under the subject (40403).
        """
        candidate = self._canonical(submission)
        with self.store.transaction(f"looking up a schema under subject '{subject}'") as tx:
            visible = [v for v in tx.versions(subject) if include_deleted or not v.deleted]
            if not visible:
                raise SubjectNotFoundError(subject)
            schema_id = tx.schema_id_for(candidate.fingerprint)
            matches = [v for v in visible if v.schema_id == schema_id]
            if not matches:
                raise SchemaNotFoundError()
            stored = tx.schema(matches[-1].schema_id)
        if stored is None:  # pragma: no cover - a version always references an existing schema row
            raise SchemaNotFoundError(matches[-1].schema_id)
        return matches[-1], stored.text

    def subjects(self, include_deleted: bool = False, deleted_only: bool = False, prefix: str = "") -> list[str]:
        """Subject names, sorted: those with a live version, or also / only those entirely soft-deleted."""
        with self.store.transaction("listing subjects") as tx:
            every = tx.subject_names(include_deleted=True)
            live = set(tx.subject_names(include_deleted=False))
        if deleted_only:
            names = [s for s in every if s not in live]
        elif include_deleted:
            names = every
        else:
            names = [s for s in every if s in live]
        return [s for s in names if s.startswith(prefix)]

    def versions(self, subject: str, include_deleted: bool = False, deleted_only: bool = False) -> list[int]:
        """Version numbers of a subject, ascending (live ones; or also / only soft-deleted ones).

        Raises:
            SubjectNotFoundError: no version is visible with the flags given (40401).
        """
        with self.store.transaction(f"listing the versions of subject '{subject}'") as tx:
            versions = tx.versions(subject)
        if not any(include_deleted or deleted_only or not v.deleted for v in versions):
            raise SubjectNotFoundError(subject)
        if deleted_only:
            return [v.version for v in versions if v.deleted]
        return [v.version for v in versions if include_deleted or not v.deleted]

    def version(self, subject: str, version: str | int, include_deleted: bool = False) -> tuple[SubjectVersion, str]:
        """One version of a subject (``latest`` or a number) and its schema text.

        Raises:
            InvalidVersionError (42202), SubjectNotFoundError (40401), VersionNotFoundError (40402).
        """
        number = parse_version(version)
        with self.store.transaction(f"reading version {version} of subject '{subject}'") as tx:
            versions = tx.versions(subject)
            if not any(include_deleted or not v.deleted for v in versions):
                raise SubjectNotFoundError(subject)
            found = resolve_version(versions, number, include_deleted)
            if found is None:
                raise VersionNotFoundError(subject, number)
            stored = tx.schema(found.schema_id)
        if stored is None:  # pragma: no cover - a version always references an existing schema row
            raise SchemaNotFoundError(found.schema_id)
        return found, stored.text

    # ------------------------------------------------------------------------------------------------------------
    # schemas by global id

    def schema(self, schema_id: int) -> StoredSchema:
        """The schema with this global id, while some subject version (soft-deleted or not) holds it.

        Raises:
            SchemaNotFoundError: no such id, or every version holding it was permanently deleted (40403).
        """
        with self.store.transaction(f"reading schema {schema_id}") as tx:
            stored = tx.schema(schema_id)
            if stored is None or not tx.versions_of_schema(schema_id):
                raise SchemaNotFoundError(schema_id)
        return stored

    def schema_versions(
        self, schema_id: int, include_deleted: bool = False, subject: str | None = None
    ) -> list[SubjectVersion]:
        """The subject versions that hold a schema id (optionally only under one subject).

        Raises:
            SchemaNotFoundError: no version holds it (40403).
        """
        with self.store.transaction(f"listing the versions of schema {schema_id}") as tx:
            found = [
                v
                for v in tx.versions_of_schema(schema_id)
                if (include_deleted or not v.deleted) and (subject is None or v.subject == subject)
            ]
        if not found:
            raise SchemaNotFoundError(schema_id)
        return found

    # ------------------------------------------------------------------------------------------------------------
    # deletes

    def delete_subject(self, subject: str, permanent: bool = False) -> list[int]:
        """Soft-delete every live version of a subject, or (``permanent``, after a soft delete) remove them all.

        A permanent delete also drops the subject's compatibility level. Returns the versions deleted.

        Raises:
            SubjectNotFoundError (40401), SubjectSoftDeletedError (40404: soft delete of a soft-deleted subject),
            SubjectNotSoftDeletedError (40405: permanent delete of a subject with live versions).
        """
        with self.store.transaction(f"deleting subject '{subject}'") as tx:
            tx.lock_subject(subject)
            versions = tx.versions(subject)
            if not versions:
                raise SubjectNotFoundError(subject)
            live = [v.version for v in versions if not v.deleted]
            if not permanent:
                if not live:
                    raise SubjectSoftDeletedError(subject)
                tx.mark_deleted(subject, live)
                deleted = live
            else:
                if live:
                    raise SubjectNotSoftDeletedError(subject)
                deleted = [v.version for v in versions]
                tx.remove_versions(subject, deleted)
                tx.delete_compatibility(subject)
        log.info("deleted a subject", extra={"subject": subject, "versions": deleted, "permanent": permanent})
        return deleted

    def delete_version(self, subject: str, version: str | int, permanent: bool = False) -> int:
        """Soft-delete one version, or (``permanent``, after a soft delete) remove it. Returns its number.

        ``latest`` is the latest live version for a soft delete, the latest of all for a permanent one.

        Raises:
            InvalidVersionError (42202), SubjectNotFoundError (40401), VersionNotFoundError (40402),
            VersionSoftDeletedError (40406), VersionNotSoftDeletedError (40407).
        """
        number = parse_version(version)
        with self.store.transaction(f"deleting version {version} of subject '{subject}'") as tx:
            tx.lock_subject(subject)
            versions = tx.versions(subject)
            if not versions:
                raise SubjectNotFoundError(subject)
            target = resolve_version(versions, number, include_deleted=permanent or number != LATEST)
            if target is None:
                raise VersionNotFoundError(subject, number)
            if not permanent:
                if target.deleted:
                    raise VersionSoftDeletedError(subject, target.version)
                tx.mark_deleted(subject, [target.version])
            else:
                if not target.deleted:
                    raise VersionNotSoftDeletedError(subject, target.version)
                tx.remove_versions(subject, [target.version])
                if len(versions) == 1:
                    tx.delete_compatibility(subject)
        log.info(
            "deleted a version",
            extra={"subject": subject, "version": target.version, "permanent": permanent},
        )
        return target.version

    # ------------------------------------------------------------------------------------------------------------
    # compatibility levels and checks

    def global_compatibility(self) -> CompatibilityMode:
        """The global level: as set, else ``registry.default_compatibility``."""
        with self.store.transaction("reading the global compatibility level") as tx:
            return effective_compatibility(None, tx.compatibility(None), self.default_compatibility)

    def set_global_compatibility(self, level: object) -> CompatibilityMode:
        """Set the global level. Raises InvalidCompatibilityLevelError (42203) for an unknown level."""
        mode = parse_compatibility(level)
        with self.store.transaction("setting the global compatibility level") as tx:
            tx.set_compatibility(None, mode.value)
        log.info("set the global compatibility level", extra={"compatibility": mode.value})
        return mode

    def delete_global_compatibility(self) -> CompatibilityMode:
        """Go back to ``registry.default_compatibility``; returns the level in force before."""
        with self.store.transaction("resetting the global compatibility level") as tx:
            before = effective_compatibility(None, tx.compatibility(None), self.default_compatibility)
            tx.delete_compatibility(None)
        return before

    def subject_compatibility(self, subject: str, default_to_global: bool = False) -> CompatibilityMode:
        """The subject's own level; with ``default_to_global`` the global one when it has none.

        Raises:
            SubjectCompatibilityNotConfiguredError: no level of its own and no fallback asked for (40408).
        """
        with self.store.transaction(f"reading the compatibility level of subject '{subject}'") as tx:
            own = tx.compatibility(subject)
            if own is None and not default_to_global:
                raise SubjectCompatibilityNotConfiguredError(subject)
            return effective_compatibility(own, tx.compatibility(None), self.default_compatibility)

    def set_subject_compatibility(self, subject: str, level: object) -> CompatibilityMode:
        """Set a subject's level (the subject need not exist yet). Raises InvalidCompatibilityLevelError (42203)."""
        mode = parse_compatibility(level)
        with self.store.transaction(f"setting the compatibility level of subject '{subject}'") as tx:
            tx.set_compatibility(subject, mode.value)
        log.info("set a compatibility level", extra={"subject": subject, "compatibility": mode.value})
        return mode

    def delete_subject_compatibility(self, subject: str) -> CompatibilityMode:
        """Drop a subject's own level; returns it. Raises SubjectNotFoundError (40401) when it has none."""
        with self.store.transaction(f"deleting the compatibility level of subject '{subject}'") as tx:
            own = tx.compatibility(subject)
            if own is None:
                raise SubjectNotFoundError(subject)
            tx.delete_compatibility(subject)
        return CompatibilityMode(own)

    def test_compatibility(
        self, subject: str, version: str | int | None, submission: SchemaSubmission, verbose: bool = False
    ) -> tuple[bool, list[str]]:
        """Whether the schema could be registered next to a subject's versions, and why not.

        ``version`` None or ``latest`` runs the very check a registration would (the subject's mode; transitive
        modes compare with every live version); a version number compares with that version only, in the
        mode's direction(s). A subject without versions accepts anything.

        Raises:
            InvalidVersionError (42202); SubjectNotFoundError (40401) / VersionNotFoundError (40402) for a
            version number the subject does not have; InvalidSchemaError (42201) unless ``verbose``, when the
            reason is returned as the message instead.
        """
        number = LATEST if version is None else parse_version(version)
        try:
            candidate = self._canonical(submission)
        except InvalidSchemaError as exc:
            if verbose:
                return False, [str(exc)]
            raise
        with self.store.transaction(f"checking compatibility with subject '{subject}'") as tx:
            live = [v for v in tx.versions(subject) if not v.deleted]
            if number == LATEST:
                targets = live
            else:
                if not live:
                    raise SubjectNotFoundError(subject)
                found = resolve_version(live, number, include_deleted=False)
                if found is None:
                    raise VersionNotFoundError(subject, number)
                targets = [found]
            mode = self._mode(tx, subject)
            previous = self._schemas_of(tx, targets, mode)
        problems = compatibility_problems(candidate.parsed, previous, mode)
        return not problems, problems

    # ------------------------------------------------------------------------------------------------------------

    def ping(self) -> None:
        """Raise StoreError when the store does not answer."""
        self.store.ping()

    def _canonical(self, submission: SchemaSubmission) -> CanonicalSchema:
        if submission.schema_type.upper() != AVRO:
            raise InvalidSchemaError(
                f"schema type {submission.schema_type!r} is not supported; this registry serves AVRO"
            )
        if submission.references:
            raise InvalidSchemaError("schema references are not supported by this registry; inline the named types")
        if submission.extras:
            raise InvalidSchemaError(f"{', '.join(submission.extras)} not supported by this registry")
        return canonicalize(submission.schema)

    def _mode(self, tx: Transaction, subject: str) -> CompatibilityMode:
        return effective_compatibility(tx.compatibility(subject), tx.compatibility(None), self.default_compatibility)

    def _schemas_of(
        self, tx: Transaction, versions: list[SubjectVersion], mode: CompatibilityMode
    ) -> list[tuple[int, avro.schema.Schema]]:
        """The (version, parsed schema) pairs ``mode`` compares with: none, the latest, or all of them."""
        if mode is CompatibilityMode.NONE:
            return []
        schemas = []
        for version in versions if mode.transitive else versions[-1:]:
            stored = tx.schema(version.schema_id)
            if stored is None:  # pragma: no cover - a version always references an existing schema row
                raise SchemaNotFoundError(version.schema_id)
            schemas.append((version.version, _parsed(stored.text)))
        return schemas
