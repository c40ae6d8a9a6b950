"""Ariane: respond to a leak of health data.

Stages of the data's journey, one sub-package each:
read -> classify -> resolve -> attribute -> assess -> report.
Importing this package stays light: heavy parts are imported where they are used.
"""

__version__ = "0.1.0"
