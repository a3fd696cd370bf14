"""Every key the leaf schema requires must be present (e.g. created_by, seed_examples).

Passes::

    version: 3
    created_by: ada
    task_description: Explain a concept step by step.
    seed_examples: [...]

Fails::

    version: 3
    task_description: Explain a concept step by step.
    seed_examples: [...]      # created_by is missing
"""

ID = "LT101"
NAME = "required-key"
SEVERITY = "error"
PROFILES = ("labtax", "instructlab")


def check(source):
    yield from (finding for finding in source.schema_findings if finding.rule == ID)
