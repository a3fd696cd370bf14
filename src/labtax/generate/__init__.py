"""Synthetic data generation (LAB): skills-SDG and knowledge-SDG with a teacher model.

`run.generate` is the entry point; the stages live in `skills` and `knowledge`, the prompt
text in prompts/*.j2, the teachers behind the small protocol in `teacher`.
"""

from labtax.generate.run import GenerateOptions, GenerateResult, generate

__all__ = ["GenerateOptions", "GenerateResult", "generate"]
