"""The Swift bridges' ``--stream`` output: the library's own streaming of a file, as timed updates.

With ``--stream --chunk S --clock simulated|real`` a bridge feeds its file to the library's
streaming API (WhisperKit's ``AudioStreamTranscriber`` loop, FluidAudio's ``SlidingWindowAsrManager``) S
seconds at a time (``real``: at the speed of speech) and prints the usual schema-1 object with one
more field::

    "stream": {"api": "SlidingWindowAsrManager (...)", "clock": "simulated", "chunk_s": 1.0,
               "events": [{"audio_end_s": 1.0, "clock_s": 1.0, "compute_s": 0.08,
                           "confirmed": [{"text": " And", "start": 0.3, "end": 0.5}, ...],
                           "unconfirmed": [{"text": " so", "start": 0.5, "end": 0.7}]}, ...]}

- ``confirmed``: every word (or token; a leading space starts a word) the library has confirmed
  since the stream began; ``unconfirmed``: what it shows after them. One event per update.
- ``clock_s``: simulated clock, the audio fed so far; real clock, seconds since the stream began
  when the update arrived. The last event is the end of the audio (the library's final text).
- The parsing is strict, as for the rest of the output: anything malformed is one ``BridgeError`` line.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..base import DecodeOptions, TimedWord
from ..library_stream import LibraryEvent, LibraryUpdate
from .bridge import BridgeError, BridgeOutput, SwiftBridgeBackend, _decode_single_object, _number, one_line, parse_bridge_output

CLOCKS = ("simulated", "real")


def stream_arguments(chunk_s: float, clock: str) -> list[str]:
    return ["--stream", "--chunk", f"{chunk_s:g}", "--clock", clock]


def _pieces(items: Any, what: str, bridge: str) -> tuple[TimedWord, ...]:
    if not isinstance(items, list):
        raise BridgeError(f"{bridge} stream event {what} must be a list of words")
    pieces = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            raise BridgeError(f"{bridge} stream event has a word without text: {one_line(repr(item), 80)}")
        pieces.append(TimedWord(item["text"], _number(item.get("start"), "word start", bridge), _number(item.get("end"), "word end", bridge)))
    return tuple(pieces)


def _event(item: Any, bridge: str) -> LibraryEvent:
    if not isinstance(item, dict):
        raise BridgeError(f"{bridge} stream event is not an object: {one_line(repr(item), 80)}")
    return LibraryEvent(
        audio_end_s=_number(item.get("audio_end_s"), "stream event audio_end_s", bridge),
        clock_s=_number(item.get("clock_s"), "stream event clock_s", bridge),
        compute_s=_number(item.get("compute_s"), "stream event compute_s", bridge),
        update=LibraryUpdate(_pieces(item.get("confirmed"), "confirmed", bridge), _pieces(item.get("unconfirmed"), "unconfirmed", bridge)),
    )


def parse_stream_output(stdout: str, bridge: str = "bridge") -> tuple[BridgeOutput, str, tuple[LibraryEvent, ...]]:
    """The bridge's output, the streaming API it used, and its events (in order, clocks never going back)."""
    output = parse_bridge_output(stdout, bridge)
    stream = _decode_single_object(stdout, bridge).get("stream")
    if not isinstance(stream, dict):
        raise BridgeError(f"{bridge} output has no stream object (was the bridge built with --stream support?)")
    api = stream.get("api")
    if not isinstance(api, str) or not api.strip():
        raise BridgeError(f"{bridge} stream object lacks the api it used")
    if stream.get("clock") not in CLOCKS:
        raise BridgeError(f"{bridge} stream clock is {stream.get('clock')!r}, expected one of {', '.join(CLOCKS)}")
    items = stream.get("events")
    if not isinstance(items, list) or not items:
        raise BridgeError(f"{bridge} stream events must be a non-empty list")
    events = tuple(_event(item, bridge) for item in items)
    for before, after in zip(events, events[1:]):
        if after.clock_s < before.clock_s or after.audio_end_s < before.audio_end_s:
            raise BridgeError(f"{bridge} stream events go back in time (clock {before.clock_s:g} → {after.clock_s:g} s)")
    return output, api.strip(), events


class StreamingBridgeBackend(SwiftBridgeBackend):
    """A bridge backend whose library streams too (``library_streaming`` says which API)."""

    def stream_with_library(self, audio: np.ndarray, options: DecodeOptions, chunk_s: float, clock: str) -> tuple[str, tuple[LibraryEvent, ...]]:
        """The library's own streaming of ``audio`` inside the bridge: (the API it used, its events)."""
        if self._binary is None:
            raise BridgeError(f"{self.bridge.name}: stream_with_library() called before load()")
        output, api, events = self._call(audio, [*self.decode_arguments(options), *stream_arguments(chunk_s, clock)], parse_stream_output)
        self.record_params(**dict(output.settings), bridge_stream_api=api)
        return api, events
