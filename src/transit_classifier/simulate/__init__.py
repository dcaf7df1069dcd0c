"""Simulate: synthetic stars, their noise, and the transits put into them.

:mod:`.orbits` (geometry and ephemerides), :mod:`.transits` (batman shapes), :mod:`.noise`
(stellar and instrumental noise), :mod:`.synthetic` (whole synthetic light curves) and
:mod:`.injection` (transits injected into real noise at a chosen MES); :mod:`.settings` holds
the frozen settings every one of them reads, built once per stage.

May import: the core, :mod:`transit_classifier.sources` and :mod:`transit_classifier.signal`.
"""
