"""Judge: how well the model and its baseline find transits, measured honestly.

:mod:`.evaluation` (scores, thresholds on validation, AUCs with intervals), :mod:`.recovery`
(injection-recovery per MES bin), :mod:`.baseline` (the tuned wotan + BLS search),
:mod:`.assessment` (the evaluation sets and their scores), :mod:`.evaluate_run` (the evaluate
stage's assembly) and :mod:`.figures` (its plots).

May import: the core and every wing below it (``sources``, ``signal``, ``simulate``, ``learn``,
``search``). Nothing from :mod:`transit_classifier.serve`.
"""
