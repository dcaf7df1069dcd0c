"""transit-classifier: find exoplanet transits in Kepler-like light curves.

>>> import transit_classifier as tc
>>> sorted(tc.__all__)
['TransitClassifier', 'UserError', 'load_model']
"""

from transit_classifier.errors import UserError
from transit_classifier.serve.api import TransitClassifier, load_model

__all__ = ["TransitClassifier", "UserError", "load_model"]
__version__ = "0.1.0"
