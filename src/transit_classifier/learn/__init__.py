"""Learn: the labelled data sets and the network trained on them.

:mod:`.kepler_windows` labels real Kepler windows by KOI ephemerides, :mod:`.samples` holds the
light-curve table every split carries, :mod:`.splitting` and :mod:`.dataset` split and build the
sets, :mod:`.augmentation` augments and balances training only, :mod:`.epochs` draws each
epoch's injections, :mod:`.model` builds, saves and loads the Conv1D + LSTM, :mod:`.training`
fits it with the frozen :mod:`.train_settings` the stage builds once, :mod:`.cadence_head` gives
the trained network a per-cadence output (the learned single-event statistic the search can
fold), and :mod:`.figures` draws the data examples.

May import: the core, :mod:`transit_classifier.sources`, :mod:`transit_classifier.signal` and
:mod:`transit_classifier.simulate`.
"""
