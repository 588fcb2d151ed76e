"""The evaluator: trained models in, evaluation records out (``evaluate``: each model as a
``Representation``, the evaluations it lacks computed and written as records, across-seeds
metrics per configuration), encoders benchbench did not train and the baselines (``encoders``),
and scoring them with the same metrics, into a run or not (``scoring``)."""
