"""What a C# file declares: its top-level classes, their namespace and base types."""

from __future__ import annotations

from dataclasses import dataclass

from tree_sitter import Node, Tree

from spark.engines.unity.csharp import Diagnostic, parse


@dataclass(frozen=True)
class ClassDecl:
    """A class declared at namespace or file level (nested classes are not listed)."""

    name: str
    namespace: str | None
    bases: tuple[str, ...]
    line: int
    column: int


def _text(node: Node | None) -> str:
    return node.text.decode() if node is not None and node.text is not None else ""


def _bases(node: Node) -> tuple[str, ...]:
    base_list = next((c for c in node.children if c.type == "base_list"), None)
    if base_list is None:
        return ()
    return tuple(_text(c) for c in base_list.named_children)


def _collect(node: Node, namespace: str | None, out: list[ClassDecl]) -> None:
    scoped = namespace
    for child in node.named_children:
        if child.type == "file_scoped_namespace_declaration":
            # Everything after `namespace X;` belongs to X, though it is not nested in the tree.
            scoped = _text(child.child_by_field_name("name"))
        elif child.type == "namespace_declaration":
            inner = _text(child.child_by_field_name("name"))
            full = f"{scoped}.{inner}" if scoped else inner
            body = child.child_by_field_name("body")
            if body is not None:
                _collect(body, full, out)
        elif child.type == "class_declaration":
            row, col = child.start_point
            name = _text(child.child_by_field_name("name"))
            out.append(ClassDecl(name, scoped, _bases(child), row + 1, col + 1))


def declared_classes(code: str, tree: Tree | None = None) -> list[ClassDecl]:
    """The file's top-level classes, in order (tree: code's tree, if already parsed)."""
    if tree is None:
        tree = parse(code)
    found: list[ClassDecl] = []
    _collect(tree.root_node, None, found)
    return found


def check_declaration(
    code: str, class_name: str, namespace: str | None, base_class: str, tree: Tree | None = None
) -> tuple[Diagnostic, ...]:
    """What is wrong if the file lacks class_name in namespace deriving from base_class."""
    classes = declared_classes(code, tree)
    match = next((c for c in classes if c.name == class_name), None)
    if match is None:
        names = ", ".join(c.name for c in classes) or "none"
        return (Diagnostic(1, 1, f"expected a class named {class_name}; found {names}"),)
    problems = []
    if (match.namespace or None) != (namespace or None):
        problems.append(
            Diagnostic(
                match.line,
                match.column,
                f"class {class_name} is in namespace {match.namespace or '(global)'}, "
                f"expected {namespace or '(global)'}",
            )
        )
    short = base_class.rsplit(".", 1)[-1]
    if not any(b == base_class or b.rsplit(".", 1)[-1] == short for b in match.bases):
        problems.append(
            Diagnostic(
                match.line, match.column, f"class {class_name} must derive from {base_class}"
            )
        )
    return tuple(problems)
