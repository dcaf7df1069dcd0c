"""Signal: pure array functions from observed flux to what the network reads.

:mod:`.windowing` puts observations on the cadence grid and cuts windows, :mod:`.preprocess`
detrends and normalises them, :mod:`.prewhiten` removes coherent pulsations. Training and
prediction call the same functions, so a window is made one way only.

May import: the core and :mod:`transit_classifier.sources`.
"""
