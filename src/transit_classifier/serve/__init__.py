"""Serve: what users call on their own light curves.

:mod:`.artifact` (the released model and its thresholds), :mod:`.predict` (scoring one light
curve), :mod:`.api` (the Python API), :mod:`.cli` (the command line), :mod:`.scan`,
:mod:`.scan_inputs` and :mod:`.scan_store` (many stars through Dask), :mod:`.vetting` and
:mod:`.figures` (one page per flagged light curve).

May import: the core and every other wing. No other wing imports from here.
"""
