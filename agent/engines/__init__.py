"""Engines: where harmony tokens come from."""

from harmony_agent.engines._base import Engine, FinishReason, SamplingParams, TokenChunk

__all__ = ["Engine", "FinishReason", "SamplingParams", "TokenChunk"]
