"""Request parsing: JSON only, with a size limit so that a huge body is refused before parsing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_JSON_BYTES = 256 * 1024


class LimitedJSONParser(JSONParser):
    """JSONParser that refuses bodies over MAX_JSON_BYTES (400, nothing changed)."""

    def parse(
        self,
        stream: IO[bytes],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH", "") if request is not None else ""
        if str(declared).isdigit() and int(declared) > MAX_JSON_BYTES:
            raise ParseError(f"The request body is over {MAX_JSON_BYTES // 1024} KiB.")
        return super().parse(stream, media_type, parser_context)
