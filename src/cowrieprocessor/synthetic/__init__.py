"""Realistic, seeded Cowrie 3.1.4 JSON logs for tests, benchmarks and the bundled samples."""

from cowrieprocessor.synthetic.generator import GenerationResult, generate

__all__ = ["GenerationResult", "generate"]
