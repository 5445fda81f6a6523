"""Enrichment sources: one interface (:class:`~.base.Source`) over offline databases and online services.

Import the modules you need (``cascade``, ``cymru``...): this package stays light so that importing the
configuration does not load every client library.
"""
