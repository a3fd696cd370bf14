"""Phased tuning with DeepSpeed ZeRO: config, launcher, worker recipe, packing, selection, plots.

Importing this package is light; torch, transformers and deepspeed load only where they are used.
"""
