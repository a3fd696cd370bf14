"""Lists must have as many items as the schema asks: at least 5 seed examples (InstructLab versions
2 and 3), exactly 3 questions per knowledge seed (labtax).

Passes::

    seed_examples:     # five items
      - ...
      - ...
      - ...
      - ...
      - ...

Fails::

    seed_examples:     # three items
      - ...
      - ...
      - ...
"""

ID = "LT105"
NAME = "seed-count"
SEVERITY = "error"
PROFILES = ("labtax", "instructlab")


def check(source):
    yield from (finding for finding in source.schema_findings if finding.rule == ID)
