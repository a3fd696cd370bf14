"""labtax: taxonomy-driven LLM alignment with the LAB method.

The package mirrors the pipeline: taxonomy -> lint -> diff -> generate -> mix -> train.
"""

__version__ = "0.1.0"
