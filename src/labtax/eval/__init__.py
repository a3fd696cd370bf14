"""`labtax eval`: measure what the generated data and each checkpoint are worth.

sets.py (what is measured) -> student.py (the model) -> mcq.py, judge.py, reference.py (the
three scorers) -> run.py (models x sets, aggregation, regressions) -> report.py (eval.json,
Markdown, chart) ; checkpoint.py scores epoch checkpoints for the training selectors.
"""
