"""transit-classifier: find exoplanet transits in Kepler-like light curves.

>>> import transit_classifier as tc
>>> sorted(tc.__all__)
['TransitClassifier', 'UserError', 'load_model']
"""

from .api import TransitClassifier, load_model
from .errors import UserError

__all__ = ["TransitClassifier", "UserError", "load_model"]
__version__ = "0.1.0"
