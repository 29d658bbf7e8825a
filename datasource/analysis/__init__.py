"""Statistics of the daily briefing on plain arrays (numpy, scipy; esda/libpysal for the
spatial part): the surge test of unusual places and its false-alarm control
(:mod:`.hotspots`), and the next-day count forecast with its back-test (:mod:`.forecast`).

Nothing here reads the database: :mod:`datasource.services.briefing` queries the counts
and hands them over, so the statistics are tested on generated arrays by themselves.
"""
