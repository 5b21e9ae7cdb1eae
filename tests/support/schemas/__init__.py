"""Validate rendered JUnit and SARIF against copies of their public schemas (sources cited in each file).

lxml is not installed, so JUnit is checked by a small interpreter of the XSD constructs that junit-10.xsd uses
(global elements, element refs in sequence/choice, attributes with use="required", mixed content, the
SUREFIRE_TIME pattern and xs:nonNegativeInteger). SARIF is checked with jsonschema.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

HERE = Path(__file__).parent
JUNIT_XSD = HERE / "junit-10.xsd"
SARIF_SCHEMA = HERE / "sarif-2.1.0-subset.json"
_XS = "{http://www.w3.org/2001/XMLSchema}"


@dataclass
class _Element:
    name: str
    text_only: bool = False  # type="xs:string": no children, no attributes
    mixed: bool = False
    children: set[str] = field(default_factory=set)
    attributes: dict[str, tuple[bool, str]] = field(default_factory=dict)  # name -> (required, type)


def _load_xsd(path: Path) -> tuple[dict[str, _Element], dict[str, str]]:
    root = ET.parse(path).getroot()
    patterns = {
        simple.get("name", ""): simple.find(f"{_XS}restriction/{_XS}pattern").get("value", "")  # type: ignore[union-attr]
        for simple in root.findall(f"{_XS}simpleType")
    }
    elements: dict[str, _Element] = {}
    for decl in root.findall(f"{_XS}element"):
        element = _Element(decl.get("name", ""))
        complex_type = decl.find(f"{_XS}complexType")
        if complex_type is None:
            element.text_only = decl.get("type") == "xs:string"
        else:
            element.mixed = complex_type.get("mixed") == "true"
            element.children = {ref.get("ref", "") for ref in complex_type.iter(f"{_XS}element")}
            for attribute in complex_type.findall(f"{_XS}attribute"):
                element.attributes[attribute.get("name", "")] = (
                    attribute.get("use") == "required",
                    attribute.get("type", "xs:string"),
                )
        elements[element.name] = element
    return elements, patterns


def junit_errors(xml_text: str, xsd: Path = JUNIT_XSD) -> list[str]:
    """Every way the document breaks the schema; empty when it conforms."""
    elements, patterns = _load_xsd(xsd)
    errors: list[str] = []
    root = ET.fromstring(xml_text.encode("utf-8"))

    def check(node: ET.Element, where: str) -> None:
        decl = elements.get(node.tag)
        if decl is None:
            errors.append(f"{where}: element <{node.tag}> is not declared")
            return
        if decl.text_only:
            if len(node) or node.attrib:
                errors.append(f"{where}: <{node.tag}> holds text only")
            return
        for name, (required, _) in decl.attributes.items():
            if required and name not in node.attrib:
                errors.append(f"{where}: <{node.tag}> lacks required attribute {name!r}")
        for name, value in node.attrib.items():
            if name not in decl.attributes:
                errors.append(f"{where}: <{node.tag}> has undeclared attribute {name!r}")
                continue
            kind = decl.attributes[name][1]
            if kind in patterns and not re.fullmatch(patterns[kind], value):
                errors.append(f"{where}: {name}={value!r} does not match {kind}")
            if kind == "xs:nonNegativeInteger" and not value.isdigit():
                errors.append(f"{where}: {name}={value!r} is not a non-negative integer")
        if not decl.mixed and (node.text or "").strip():
            errors.append(f"{where}: <{node.tag}> may not hold text")
        for index, child in enumerate(node):
            if child.tag not in decl.children:
                errors.append(f"{where}: <{child.tag}> may not appear inside <{node.tag}>")
            check(child, f"{where}/{child.tag}[{index}]")

    if root.tag not in ("testsuites", "testsuite"):
        errors.append(f"root element <{root.tag}> is neither testsuites nor testsuite")
    check(root, root.tag)
    return errors


def sarif_errors(sarif: str | dict[str, Any], schema: Path = SARIF_SCHEMA) -> list[str]:
    import jsonschema

    document = json.loads(sarif) if isinstance(sarif, str) else sarif
    validator = jsonschema.Draft7Validator(json.loads(schema.read_text(encoding="utf-8")))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


__all__ = ["JUNIT_XSD", "SARIF_SCHEMA", "junit_errors", "sarif_errors"]
