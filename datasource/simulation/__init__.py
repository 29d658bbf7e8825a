"""Simulation of the field: inspectors, case stories, history backfill and live traffic.

``inspectors`` who patrols which grids · ``places`` where problems are found · ``texts``
the words people use · ``story`` the model of a case's life · ``clock`` fast working-time
arithmetic · ``backfill`` months of history through the stream · ``traffic`` a steady
trickle of live events through the checked append.
"""
