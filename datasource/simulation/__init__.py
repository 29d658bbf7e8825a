"""Simulation of the field: inspectors, case stories, history backfill and live traffic.

``inspectors`` who patrols which grids · ``places`` where problems are found · ``texts``
the words people use · ``story`` the model of a case's life · ``clock`` fast working-time
arithmetic · ``backfill`` months of history through the stream · ``live`` a steady trickle
through the checked append.  Entry points are re-exported by :mod:`datasource.simulator`.
"""
