#!/usr/bin/env python3
"""Validates an SBOM file with the reference tools, for vouch-sbom's tests.

    validate.py spdx FILE   spdx-tools: parse and validate SPDX 2.3 JSON
    validate.py ntia FILE   ntia-conformance-checker: NTIA minimum elements (SPDX 2)
    validate.py cdx FILE    cyclonedx-python-lib: strict JSON schema validation, 1.6

Prints what failed and exits 1 on any failure, 0 when the file passes.
"""
import json
import sys


def spdx(path):
    from spdx_tools.spdx.parser.parse_anything import parse_file
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    doc = parse_file(path)
    errors = validate_full_spdx_document(doc)
    for e in errors[:50]:
        print(f"spdx: {e.validation_message} ({e.context})")
    return not errors


def ntia(path):
    from ntia_conformance_checker.sbom_checker import SbomChecker

    checker = SbomChecker(path, validate=True, compliance="ntia")
    ok = checker.compliant
    if not ok:
        report = checker.output_json()
        print(json.dumps(report, indent=1, default=str)[:4000])
    return ok


def cdx(path):
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    with open(path) as f:
        data = f.read()
    err = JsonStrictValidator(SchemaVersion.V1_6).validate_str(data)
    if err is not None:
        print(f"cyclonedx: {err}")
        return False
    return True


def main():
    kind, path = sys.argv[1], sys.argv[2]
    ok = {"spdx": spdx, "ntia": ntia, "cdx": cdx}[kind](path)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
