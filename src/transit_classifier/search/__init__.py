"""Search: from a whole light curve to candidates with a period, an epoch and a false-alarm
probability.

Kepler's pipeline in miniature: single-event statistics (:mod:`.ses`) are folded over a grid
of trial periods, epochs and durations (:mod:`.grid`, :mod:`.fold`) into a multiple-event
statistic; the best peak becomes a candidate with its consistency checks (:mod:`.stats`), its
transits are masked and the search runs again (:mod:`.candidates`). :mod:`.learned` turns
the network's per-cadence evidence into a series folded the same way, alone or added to the
flux (``search.statistic``, :mod:`.settings`). :mod:`.null` turns a
candidate's score into a false-alarm probability measured on real light curves in which
transits were made impossible (inverted, scrambled), as Kepler DR25 did.

May import: the core, :mod:`transit_classifier.sources`, :mod:`transit_classifier.signal`,
:mod:`transit_classifier.simulate` and :mod:`transit_classifier.learn`.
"""
