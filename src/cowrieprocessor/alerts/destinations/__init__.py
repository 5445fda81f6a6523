"""Where alerts go: each destination turns an alert into its own wire format, escaping attacker text for it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cowrieprocessor.alerts.destinations.base import DeliveryFailed, Destination

if TYPE_CHECKING:
    from cowrieprocessor.alerts.settings import DestinationSettings

__all__ = ["DeliveryFailed", "Destination", "build"]


def build(name: str, settings: DestinationSettings) -> Destination:
    """The destination ``name`` as configured (its secret is read now, from the environment or its file)."""
    if settings.type == "smtp":
        from cowrieprocessor.alerts.destinations.smtp import MailDestination

        return MailDestination(name, settings)
    if settings.type == "chat":
        from cowrieprocessor.alerts.destinations.chat import ChatDestination

        return ChatDestination(name, settings)
    from cowrieprocessor.alerts.destinations.webhook import WebhookDestination

    return WebhookDestination(name, settings)
