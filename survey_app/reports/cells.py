"""The spreadsheet-safety rule of exports, defined in ``services/cells.py`` (used by the CSV
service and the XLSX builder alike); re-exported here for the report builders."""

from ..services.cells import ESCAPE, FORMULA_PREFIXES, neutralise, neutralised_sql

__all__ = ["ESCAPE", "FORMULA_PREFIXES", "neutralise", "neutralised_sql"]
