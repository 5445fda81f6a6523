"""The enrichment tests' local provider server, and fresh limiters, budgets and breakers for every test."""

from tests.enrichment.conftest import _fresh_registry, api  # noqa: F401 (fixtures)
