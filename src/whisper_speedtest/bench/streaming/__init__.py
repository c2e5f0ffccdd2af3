"""Streaming: how soon, and how steadily, each backend transcribes speech as it arrives.

``policy`` (LocalAgreement-n, pure) and ``metrics`` (figures from recorded steps, pure) are the
parts without a clock; ``driver`` plays audio on a simulated or real clock and is the only timing;
``job``/``child`` run one backend in a spawned child; ``session`` runs a whole request.
"""
