#!/usr/bin/env python3
"""Validates a document vouch wrote against the peer's own schema or validator.

    validate.py syft-json FILE   JSON Schema of syft v1.57.2 (syft/schema-16.1.13.json)
    validate.py sarif FILE       SARIF 2.1.0 JSON Schema (OASIS, sarif/sarif-schema-2.1.0.json)
    validate.py cdx-json FILE    cyclonedx-python-lib: strict JSON schema, CycloneDX 1.6
    validate.py cdx-xml FILE     cyclonedx-python-lib: XML schema (bom-1.6.xsd), needs lxml
    validate.py spdx FILE        spdx-tools: parse (JSON or tag-value, by extension) and validate

Prints what failed and exits 1 on any failure, 0 when the file passes.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def json_schema(schema_path, path):
    import jsonschema

    with open(schema_path) as f:
        schema = json.load(f)
    with open(path) as f:
        doc = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    errors = sorted(cls(schema).iter_errors(doc), key=lambda e: list(e.path))
    for e in errors[:20]:
        print(f"{'/'.join(map(str, e.path))}: {e.message[:300]}")
    return not errors


def syft_json(path):
    return json_schema(os.path.join(HERE, "syft", "schema-16.1.13.json"), path)


def sarif(path):
    return json_schema(os.path.join(HERE, "sarif", "sarif-schema-2.1.0.json"), path)


def cdx_json(path):
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    with open(path) as f:
        err = JsonStrictValidator(SchemaVersion.V1_6).validate_str(f.read())
    if err is not None:
        print(f"cyclonedx: {err}")
    return err is None


def cdx_xml(path):
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.xml import XmlValidator

    with open(path) as f:
        err = XmlValidator(SchemaVersion.V1_6).validate_str(f.read())
    if err is not None:
        print(f"cyclonedx: {err}")
    return err is None


def spdx(path):
    from spdx_tools.spdx.parser.parse_anything import parse_file
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    doc = parse_file(path)
    errors = validate_full_spdx_document(doc)
    for e in errors[:50]:
        print(f"spdx: {e.validation_message} ({e.context})")
    print(f"packages={len(doc.packages)} relationships={len(doc.relationships)}")
    return not errors


def main():
    kind, path = sys.argv[1], sys.argv[2]
    check = {
        "syft-json": syft_json,
        "sarif": sarif,
        "cdx-json": cdx_json,
        "cdx-xml": cdx_xml,
        "spdx": spdx,
    }[kind]
    sys.exit(0 if check(path) else 1)


if __name__ == "__main__":
    main()
