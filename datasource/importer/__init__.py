"""The importer of real service-request exports (issue 14, parts 2 and 4).

``citygrid import FILE --mapping MAPPING`` reads a city's old cases (a CSV export, or an
Open311 GeoReport v2 request list in JSON or XML) and appends them to the SAME stream,
through the SAME checked append, as every native case: reported → filed → dispatched at the
opening time (with the department and the deadline), handled → verified → closed at the
closing time.  So every page, figure and ``citygrid rebuild`` treat them like native cases.

Modules: :mod:`mapping` (the TOML mapping file and the shipped ones), :mod:`sources` (CSV and
Open311 records), :mod:`times` (timestamps in several formats), :mod:`rows` (one chunk of
records → valid rows and skipped ones with their reason), :mod:`reference` (departments and
categories created from the data), :mod:`keys` (source id → case id, kept beside the
stream), :mod:`run` (the whole import and its summary).  Nothing is lost silently: every
record read is imported or skipped with a reason, and the skipped ones are written to a file.
"""
