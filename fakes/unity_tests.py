"""The Unity stand-in's test runner: what `Unity -batchmode -runTests` does to a project.

It finds the test methods (`[Test]`, `[UnityTest]`) of the project's test assemblies (folders
under Assets/ whose .asmdef references UnityEngine.TestRunner; EditMode when the asmdef's
includePlatforms names Editor, PlayMode otherwise), runs them — a method whose body holds
`Assert.Fail("msg")` fails with msg and a stack trace at that line, one marked
`[Ignore("why")]` is skipped, any other passes — prints the line SPARK's test callback prints
for each finished test, writes NUnit 3 XML in Unity's shape at -testResults, and exits with
the Test Framework's codes (0 passed or nothing matched, 2 failures, 4 unknown platform).

`<projectPath>/.fake-unity-results` (else FAKE_UNITY_RESULTS) makes the results file hostile:
`entity` (an entity-expansion bomb), `huge` (50 MB), `missing` (none) or `truncated`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree as ET

PLATFORMS = ("editmode", "playmode")
HUGE_BYTES = 50 * 1024 * 1024
_METHOD = re.compile(r"(?:void|IEnumerator)\s+(?P<name>\w+)\s*\(")
_FAIL = re.compile(r'Assert\.Fail\(\s*"(?P<message>[^"]*)"')
_IGNORE = re.compile(r'\[Ignore\(\s*"(?P<why>[^"]*)"')
_CLASS = re.compile(r"\bclass\s+(?P<name>\w+)")
_NAMESPACE = re.compile(r"\bnamespace\s+(?P<name>[\w.]+)")


@dataclass(frozen=True)
class Case:
    """One test method found in the project, and what running it gives."""

    fullname: str
    classname: str
    name: str
    file: str
    result: str = "Passed"
    message: str = ""
    line: int = 0


def test_assemblies(project: Path, platform: str) -> list[Path]:
    """The folders of the project's test assemblies for the platform."""
    folders = []
    for asmdef in sorted((project / "Assets").rglob("*.asmdef")):
        spec = json.loads(asmdef.read_text(encoding="utf-8"))
        if "UnityEngine.TestRunner" not in spec.get("references", []):
            continue
        editor = "Editor" in spec.get("includePlatforms", [])
        if editor == (platform == "editmode"):
            folders.append(asmdef.parent)
    return folders


def find_cases(project: Path, platform: str) -> list[Case]:
    """Every test method of the platform's test assemblies, in file order."""
    cases: list[Case] = []
    for folder in test_assemblies(project, platform):
        for script in sorted(folder.rglob("*.cs")):
            cases += _cases_in(script.relative_to(project).as_posix(), script.read_text("utf-8"))
    return cases


def _cases_in(path: str, text: str) -> list[Case]:
    """The test methods of one script, each with its outcome."""
    namespace = _NAMESPACE.search(text)
    klass = _CLASS.search(text)
    classname = (f"{namespace['name']}." if namespace else "") + (klass["name"] if klass else "?")
    lines = text.splitlines()
    cases, attributes = [], ""
    for index, line in enumerate(lines):
        if line.strip().startswith("["):
            attributes += line
            continue
        method = _METHOD.search(line)
        if method and ("[Test" in attributes or "[UnityTest" in attributes):
            body = _body(lines, index)
            cases.append(_case(path, classname, method["name"], attributes, body, index))
        attributes = "" if line.strip() else attributes
    return cases


def _body(lines: list[str], start: int) -> list[str]:
    """The method's lines, up to the next attribute or the end of the script."""
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i].strip().startswith("[")), len(lines)
    )
    return lines[start:end]


def _case(path: str, classname: str, name: str, attrs: str, body: list[str], at: int) -> Case:
    """What running one method gives: skipped, failed at its Assert.Fail, or passed."""
    fullname = f"{classname}.{name}"
    if (ignore := _IGNORE.search(attrs)) is not None:
        return Case(fullname, classname, name, path, "Skipped", ignore["why"])
    for offset, line in enumerate(body):
        if (fail := _FAIL.search(line)) is not None:
            return Case(fullname, classname, name, path, "Failed", fail["message"], at + offset + 1)
    return Case(fullname, classname, name, path)


def selected(cases: list[Case], test_filter: str) -> list[Case]:
    """The cases -testFilter picks: full names in a `;`-list, or a regular expression."""
    if not test_filter:
        return cases
    names = set(test_filter.split(";"))
    return [c for c in cases if c.fullname in names or re.search(test_filter, c.fullname)]


def run(args: dict[str, str], log: Callable[..., None], hostile: str) -> int:
    """Run the tests as Unity's Test Framework does; its exit code."""
    project, platform = Path(args.get("projectpath", ".")), args.get("testplatform", "EditMode")
    if platform.lower() not in PLATFORMS:
        log(f"Test run completed. Exiting with code 4 (PlatformNotFound). {platform}")
        return 4
    cases = selected(find_cases(project, platform.lower()), args.get("testfilter", ""))
    log(f"[SparkTests] started {len(cases)}")
    for done, case in enumerate(cases, 1):
        log(f"[SparkTests] finished {case.fullname} {case.result} ({done}/{len(cases)})")
    results = Path(args.get("testresults") or project / "TestResults.xml")
    code = 2 if any(case.result == "Failed" for case in cases) else 0
    if hostile != "missing":
        results.parent.mkdir(parents=True, exist_ok=True)
        _write(results, nunit_xml(cases, platform), hostile)
    name = "Failed" if code else "Ok"
    log(f"Test run completed. Exiting with code {code} ({name}). Run completed.")
    return code


def _write(results: Path, xml: bytes, hostile: str) -> None:
    """The results file, or the hostile one asked for."""
    if hostile == "entity":
        lol = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 9))
        xml = (
            f'<?xml version="1.0"?><!DOCTYPE test-run [<!ENTITY l0 "lol">{lol}]>'
            '<test-run total="1" passed="1"><test-case fullname="&l8;"/></test-run>'
        ).encode()
    elif hostile == "truncated":
        xml = xml[: len(xml) // 2]
    with results.open("wb") as out:
        out.write(xml if hostile != "huge" else xml[: xml.rindex(b"</test-run>")])
        if hostile == "huge":
            block = b"<!-- padding -->" * 4096
            for _ in range(HUGE_BYTES // len(block) + 1):
                out.write(block)
            out.write(b"</test-run>")


def nunit_xml(cases: list[Case], platform: str) -> bytes:
    """NUnit 3 XML in Unity's shape: run > project > assembly > fixtures > cases."""
    counts = {r: sum(c.result == r for c in cases) for r in ("Passed", "Failed", "Skipped")}
    overall = "Failed(Child)" if counts["Failed"] else "Passed"
    run = ET.Element("test-run", id="2", testcasecount=str(len(cases)), result=overall)
    run.attrib |= {"total": str(len(cases)), "passed": str(counts["Passed"])}
    run.attrib |= {"failed": str(counts["Failed"]), "skipped": str(counts["Skipped"])}
    run.attrib |= {"inconclusive": "0", "asserts": "0", "duration": f"{0.01 * len(cases):.3f}"}
    project = ET.SubElement(run, "test-suite", type="TestSuite", name="Project", result=overall)
    assembly = ET.SubElement(project, "test-suite", type="Assembly", name="Tests.dll")
    props = ET.SubElement(assembly, "properties")
    ET.SubElement(props, "property", name="platform", value=platform)
    fixtures: dict[str, ET.Element] = {}
    for index, case in enumerate(cases, 1):
        if case.classname not in fixtures:
            fixtures[case.classname] = ET.SubElement(
                assembly, "test-suite", type="TestFixture", name=case.classname.rsplit(".")[-1]
            )
            fixtures[case.classname].attrib |= {"fullname": case.classname}
        _case_xml(fixtures[case.classname], case, index)
    xml: bytes = ET.tostring(run, encoding="utf-8", xml_declaration=True)
    return xml


def _case_xml(fixture: ET.Element, case: Case, index: int) -> None:
    """One `<test-case>` with its failure or skip reason."""
    element = ET.SubElement(fixture, "test-case", id=str(index), name=case.name)
    element.attrib |= {"fullname": case.fullname, "classname": case.classname}
    element.attrib |= {"result": case.result, "duration": "0.010", "asserts": "0"}
    if case.result == "Failed":
        failure = ET.SubElement(element, "failure")
        ET.SubElement(failure, "message").text = case.message
        frame = f"at {case.fullname} () [0x00010] in {case.file}:{case.line}"
        ET.SubElement(failure, "stack-trace").text = frame
    elif case.result == "Skipped":
        element.attrib |= {"runstate": "Ignored", "label": "Ignored"}
        ET.SubElement(ET.SubElement(element, "reason"), "message").text = case.message


def hostile_mode(project: str) -> str:
    """The results file the run writes: FAKE_UNITY_RESULTS, else .fake-unity-results."""
    if "FAKE_UNITY_RESULTS" in os.environ:
        return os.environ["FAKE_UNITY_RESULTS"]
    try:
        return (Path(project) / ".fake-unity-results").read_text(encoding="utf-8").strip()
    except OSError:
        return ""
