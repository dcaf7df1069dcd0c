"""transit-classifier: find exoplanet transits in Kepler-like light curves."""

__version__ = "0.1.0"
