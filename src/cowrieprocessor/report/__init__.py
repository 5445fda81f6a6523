"""The analyst's picture: one self-contained HTML report of a period, and a short digest of what is new.

``build_report`` gathers every figure (SQLAlchemy Core, both backends), ``render_html`` turns it into one page
with no external request (Jinja2 with autoescaping, inline SVG charts, a strict Content-Security-Policy);
``digest`` reports what first appeared since the last digest of a name, with a watermark in the database.
"""

from cowrieprocessor.report.build import Report, build_report
from cowrieprocessor.report.period import Period, resolve
from cowrieprocessor.report.render import render_html

__all__ = ["Period", "Report", "build_report", "render_html", "resolve"]
