"""whisper-speedtest: which Whisper implementation is fastest on this machine, and how accurate."""

__version__ = "0.1.0"
