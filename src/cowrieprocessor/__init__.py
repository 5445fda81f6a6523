"""cowrieprocessor: Cowrie honeypot logs to threat attribution (sessions -> IPs -> ASNs, then and now)."""

__version__ = "0.1.0"
