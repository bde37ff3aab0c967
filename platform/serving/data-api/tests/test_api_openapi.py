"""The committed OpenAPI description is what the code serves, and the check catches a stale one."""

from __future__ import annotations

from pathlib import Path

import pytest

from dp_core.config.models import PlatformSettings
from dp_data_api.openapi import OPENAPI_FILE, OpenApiDriftError, check, render


def test_the_committed_description_is_current(repo_root: Path) -> None:
    check(repo_root / OPENAPI_FILE, render(PlatformSettings()), str(OPENAPI_FILE))


def test_a_stale_description_fails_with_a_diff(tmp_path: Path) -> None:
    text = render(PlatformSettings())
    stale = tmp_path / "openapi.json"
    stale.write_text(text.replace('"/v1/orders"', '"/v1/orderz"'), encoding="utf-8")
    with pytest.raises(OpenApiDriftError, match="dp serve openapi") as caught:
        check(stale, text, "openapi.json")
    assert any(line.startswith('-  "/v1/orderz"') or '"/v1/orderz"' in line for line in caught.value.diff)
    with pytest.raises(OpenApiDriftError):
        check(tmp_path / "missing.json", text, "missing.json")
