"""A knowledge document's license must be in the lint.licenses allowlist.

Passes::

    document:
      license: CC-BY-4.0

Fails::

    document:
      license: LicenseRef-proprietary
"""

from labtax.lint.problem import Finding, short

ID = "LT402"
NAME = "license-allowlist"
SEVERITY = "error"
PROFILES = ("labtax",)


def check(source):
    document = source.data.get("document") if source.is_mapping else None
    license_id = document.get("license") if isinstance(document, dict) else None
    if not isinstance(license_id, str) or source.has_schema_finding(("document", "license")):
        return
    allowed = source.settings["licenses"]
    if license_id not in allowed:
        yield Finding(
            ID,
            f"license {short(license_id)} is not in the allowlist (lint.licenses: {', '.join(allowed)}); "
            "use one of them or ask the maintainers to add it",
            at=("document", "license"),
        )
