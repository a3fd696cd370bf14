"""A knowledge document needs a license, a remote one a repo and a full 40-hex commit SHA; patterns
must not escape (no '..', no absolute path).

Passes::

    document:
      repo: https://github.com/example/docs
      commit: 0123456789abcdef0123456789abcdef01234567
      patterns: [physics/*.md]
      license: CC-BY-4.0

Fails::

    document:
      repo: https://github.com/example/docs
      commit: 0123abc
      patterns: [../secrets.md]
"""

ID = "LT403"
NAME = "document-source"
SEVERITY = "error"
PROFILES = ("labtax",)


def check(source):
    yield from (finding for finding in source.schema_findings if finding.rule == ID)
