"""Reports for data owners and analysts: a static site (``ngss report``), quarantine CSVs safe to
open in a spreadsheet, owner alerts by e-mail and the terminal review (``ngss review BODY``).

Everything here reads the warehouse read-only; numbers come from ``ops`` tables and the marts
and are formatted, never recomputed, by the templates.
"""
