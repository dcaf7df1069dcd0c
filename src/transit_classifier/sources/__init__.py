"""Sources: light curves as observed, and the tables that label them.

One front door per kind of input: :mod:`.lightcurve` defines the one observed light-curve type
(:class:`~transit_classifier.sources.lightcurve.Observations`) and reads CSV and lightkurve
objects; :mod:`.kepler` reads Kepler FITS into whole stars; :mod:`.tess` reads TESS; :mod:`.bundle`
reads the offline bundle; :mod:`.mast` downloads; :mod:`.koi` reads the KOI table;
:mod:`.inputs` turns whatever a user names (a file, a folder, a KIC id) into ``Observations``.

May import: the core (``errors``, ``io``, ``cadence``, ``robust``, ...). Nothing from another wing.
"""
