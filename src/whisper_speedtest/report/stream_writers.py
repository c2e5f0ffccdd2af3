"""The files a streaming run can be written as, by extension."""

from __future__ import annotations

from collections.abc import Callable

from ..bench.streaming.records import StreamRun
from .stream_html import render_stream_page
from .stream_rows import render_stream_csv, render_stream_json, render_stream_markdown

STREAM_WRITERS: dict[str, Callable[[StreamRun], str]] = {
    ".json": render_stream_json,
    ".csv": render_stream_csv,
    ".md": render_stream_markdown,
    ".html": render_stream_page,
}
