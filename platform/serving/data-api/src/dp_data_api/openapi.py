"""The API's OpenAPI description as committed (``platform/serving/data-api/openapi.json``) and its drift check.

The document is rendered from the application itself (FastAPI's ``openapi()``, over a service with an empty
in-memory engine: rendering reads no table), as sorted, indented JSON, so that a route or parameter changed in the
code without the file shows in ``make lint`` (``dp serve openapi --check``) and in review as a diff.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path

from dp_core.config import PlatformSettings
from dp_data_api.api import Guard, create_app
from dp_data_api.config import api_config
from dp_data_api.engine import DuckDBEngine
from dp_data_api.errors import DataApiError
from dp_data_api.keys import Authenticator, MemoryKeyStore, RateLimiter
from dp_data_api.lake import CachedMetadata
from dp_data_api.service import DataService

#: the committed description, relative to the repository's root
OPENAPI_FILE = Path("platform") / "serving" / "data-api" / "openapi.json"


class OpenApiDriftError(DataApiError):
    """The committed OpenAPI description is not what the code serves."""

    def __init__(self, path: str, diff: list[str]) -> None:
        self.diff = diff
        super().__init__(f"{path} is not what the API serves: run `dp serve openapi` and commit the file")


def render(settings: PlatformSettings) -> str:
    """The OpenAPI document of the API as it is built from ``settings`` (sorted keys, two-space indent)."""
    engine = DuckDBEngine.in_memory()
    try:
        metadata = CachedMetadata(lambda _: None, lambda _: [], 0.0)
        config = api_config(settings, order_topic="-")
        guard = Guard(Authenticator(MemoryKeyStore(), 0.0), RateLimiter(1.0, 1))  # (the security schemes shown)
        app = create_app(DataService(config, engine, metadata), guard)
        return json.dumps(app.openapi(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    finally:
        engine.close()


def check(path: Path, text: str, shown: str) -> None:
    """:class:`OpenApiDriftError` with a unified diff when the file at ``path`` differs from ``text``."""
    current = path.read_text(encoding="utf-8") if path.exists() else ""
    if current != text:
        diff = list(difflib.unified_diff(current.splitlines(), text.splitlines(), shown, "the code", lineterm=""))
        raise OpenApiDriftError(shown, diff[:200])
