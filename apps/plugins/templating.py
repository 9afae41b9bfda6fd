"""The one sandboxed template renderer for request specs, labels, identifiers and request params.

Two spellings are accepted: Jinja (`{{ fields.region }}`, `{{ me.profile.email }}`) and the
seeds' `${context.authData.code}` / `${context.authData.accesstokencode.<path>}`, which is
translated into Jinja before compiling. Templates only read plain data: no Python attributes,
no calls, and a missing (or null) value is a TemplateError naming its full path.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, UndefinedError, nodes
from jinja2.meta import find_undeclared_variables
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from apps.plugins.errors import TemplateError

__all__ = [
    "RESERVED_NAMES",
    "build_context",
    "render",
    "render_value",
    "validate",
    "validate_value",
]

# Top-level names every template may use; they win over a user field with the same key.
RESERVED_NAMES = frozenset(
    {
        "fields",
        "client",
        "redirect_uri",
        "scopes",
        "state",
        "code",
        "code_verifier",
        "access_token",
        "refresh_token",
        "token",
        "me",
        "accesstokencode",
        "refreshtokencode",
        "revoketokencode",
    }
)
# `${context.authData.<key>}` keys that mean a top-level value rather than a user field.
_AUTHDATA_TOP_LEVEL = frozenset(
    {"code", "state", "redirect_uri", "scopes", "code_verifier", "access_token", "refresh_token"}
)
_AUTHDATA_NAMESPACES = frozenset({"accesstokencode", "refreshtokencode", "revoketokencode"})
_AUTHDATA_PREFIX = "context.authData."
_DOLLAR_RE = re.compile(r"\$\{([^{}]*)\}")
_IDENTIFIER_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_SEGMENT_RE = re.compile(r"[^.\s]+\Z")


class _MissingValueError(Exception):
    """A template printed a null value; turned into a TemplateError naming the path."""


def _b64encode(value: Any) -> str:
    return base64.b64encode(str(value).encode()).decode("ascii")


def _finalize(value: Any) -> Any:
    """How a printed value becomes text: JSON for containers and booleans, str otherwise."""
    if value is None:
        raise _MissingValueError
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return value


class _DataOnlyEnvironment(SandboxedEnvironment):
    """A sandbox that sees dict keys and list items only: never Python attributes or calls."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        return self._lookup(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        return self._lookup(obj, argument)

    def _lookup(self, obj: Any, key: Any) -> Any:
        if isinstance(obj, Mapping):
            if key in obj:
                return obj[key]
        elif isinstance(obj, list | tuple):
            index = _as_index(key)
            if index is not None and -len(obj) <= index < len(obj):
                return obj[index]
        return self.undefined(obj=obj, name=key)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        raise SecurityError("calling functions or methods is not allowed in templates")


def _as_index(key: Any) -> int | None:
    if isinstance(key, bool):
        return None
    if isinstance(key, int):
        return key
    if isinstance(key, str) and key.isdigit():
        return int(key)
    return None


_ALLOWED_FILTERS = (
    "default",
    "d",
    "lower",
    "upper",
    "trim",
    "replace",
    "urlencode",
    "join",
    "string",
    "int",
    "float",
    "first",
    "last",
    "length",
    "tojson",
)


def _make_environment() -> _DataOnlyEnvironment:
    env = _DataOnlyEnvironment(
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        finalize=_finalize,
        cache_size=0,
    )
    env.filters = {name: env.filters[name] for name in _ALLOWED_FILTERS}
    env.filters["b64encode"] = _b64encode
    env.tests = {
        name: env.tests[name] for name in ("defined", "undefined", "none", "number", "string")
    }
    env.globals = {}
    return env


_ENV = _make_environment()


@dataclass(frozen=True)
class _Compiled:
    template: Template
    ast: nodes.Template
    # Jinja path -> the `${...}` spelling it came from, for error messages.
    original_paths: Mapping[tuple[str, ...], str]


def _translate_dollar(source: str) -> tuple[str, dict[tuple[str, ...], str]]:
    """Rewrite `${context.authData...}` placeholders as Jinja expressions."""
    originals: dict[tuple[str, ...], str] = {}

    def replace(match: re.Match[str]) -> str:
        spelled = match.group(1).strip()
        if not spelled.startswith(_AUTHDATA_PREFIX):
            raise TemplateError(
                f"Unknown placeholder ${{{spelled}}}: use ${{context.authData.<key>}}",
                path=spelled,
            )
        segments = spelled[len(_AUTHDATA_PREFIX) :].split(".")
        if not all(_SEGMENT_RE.match(segment) for segment in segments):
            raise TemplateError(f"Malformed placeholder ${{{spelled}}}", path=spelled)
        head, rest = segments[0], segments[1:]
        if head in _AUTHDATA_NAMESPACES or head in _AUTHDATA_TOP_LEVEL:
            path = (head, *rest)
        else:
            path = ("fields", head, *rest)
        originals[path] = spelled
        return "{{ " + _jinja_expression(path) + " }}"

    return _DOLLAR_RE.sub(replace, source), originals


def _jinja_expression(path: tuple[str, ...]) -> str:
    expression = path[0]
    for segment in path[1:]:
        if segment.isdigit():
            expression += f"[{int(segment)}]"
        elif _IDENTIFIER_RE.match(segment):
            expression += f".{segment}"
        else:
            expression += f"[{json.dumps(segment)}]"
    return expression


@lru_cache(maxsize=4096)
def _compile(source: str) -> _Compiled:
    jinja_source, originals = _translate_dollar(source)
    try:
        ast = _ENV.parse(jinja_source)
        template = _ENV.from_string(ast)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"Template syntax error: {exc.message} (line {exc.lineno})") from exc
    return _Compiled(template=template, ast=ast, original_paths=originals)


def _needs_rendering(source: str) -> bool:
    return "{" in source


def render(template: str, context: Mapping[str, Any]) -> str:
    """Render one template string against a context from build_context()."""
    if not _needs_rendering(template):
        return template
    compiled = _compile(template)
    try:
        return compiled.template.render(context)
    except SecurityError as exc:
        raise TemplateError(f"Template not allowed: {exc}") from exc
    except (UndefinedError, _MissingValueError) as exc:
        raise _missing_value_error(compiled, context, exc) from exc
    except TemplateError:
        raise
    except Exception as exc:
        # Filters on data of the wrong type (`{{ me.name|int }}` is fine, `|join` on a number is not).
        raise TemplateError(f"Template failed: {exc.__class__.__name__}: {exc}") from exc


def render_value(value: Any, context: Mapping[str, Any]) -> Any:
    """Render every str leaf of nested dicts/lists; other leaves are returned unchanged."""
    if isinstance(value, str):
        return render(value, context)
    if isinstance(value, Mapping):
        return {key: render_value(item, context) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [render_value(item, context) for item in value]
    return value


def validate(template: str, *, field_keys: Iterable[str] = ()) -> None:
    """Raise TemplateError for a syntax error, an unknown top-level name or a call."""
    if not _needs_rendering(template):
        return
    compiled = _compile(template)
    known = RESERVED_NAMES | set(field_keys)
    unknown = sorted(find_undeclared_variables(compiled.ast) - known)
    if unknown:
        raise TemplateError(
            f"Unknown name {unknown[0]!r}: use fields.<key>, client.id, token.<path>, me.<path>, "
            "access_token, refresh_token, code, state, redirect_uri or scopes",
            path=unknown[0],
        )
    if next(compiled.ast.find_all(nodes.Call), None) is not None:
        raise TemplateError("Calling functions or methods is not allowed in templates")


def validate_value(value: Any, *, field_keys: Iterable[str] = ()) -> None:
    """validate() every str leaf of nested dicts/lists."""
    keys = tuple(field_keys)
    if isinstance(value, str):
        validate(value, field_keys=keys)
    elif isinstance(value, Mapping):
        for item in value.values():
            validate_value(item, field_keys=keys)
    elif isinstance(value, list | tuple):
        for item in value:
            validate_value(item, field_keys=keys)


def build_context(
    *,
    fields: Mapping[str, Any] | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    redirect_uri: str | None = None,
    scopes: Iterable[str] | str | None = None,
    scope_separator: str = " ",
    state: str | None = None,
    code: str | None = None,
    code_verifier: str | None = None,
    access_token: str | None = None,
    refresh_token: str | None = None,
    token: Mapping[str, Any] | None = None,
    me: Any = None,
    accesstokencode: Mapping[str, Any] | None = None,
    refreshtokencode: Mapping[str, Any] | None = None,
    revoketokencode: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The template context; None values are left out so that using them is a clear error."""
    field_values = {key: value for key, value in (fields or {}).items() if value is not None}
    context: dict[str, Any] = {
        key: value for key, value in field_values.items() if key not in RESERVED_NAMES
    }
    client = {"id": client_id, "secret": client_secret}
    if isinstance(scopes, str):
        scopes_text: str | None = scopes
    else:
        scopes_text = scope_separator.join(scopes) if scopes is not None else None
    context.update(
        {
            key: value
            for key, value in {
                "fields": field_values,
                "client": {key: value for key, value in client.items() if value},
                "redirect_uri": redirect_uri,
                "scopes": scopes_text,
                "state": state,
                "code": code,
                "code_verifier": code_verifier,
                "access_token": access_token,
                "refresh_token": refresh_token,
                "token": token,
                "me": me,
                "accesstokencode": accesstokencode,
                "refreshtokencode": refreshtokencode,
                "revoketokencode": revoketokencode,
            }.items()
            if value is not None
        }
    )
    return context


def _missing_value_error(
    compiled: _Compiled, context: Mapping[str, Any], exc: Exception
) -> TemplateError:
    """Find which data path in the template is missing and name it."""
    assigned = {
        node.name for node in compiled.ast.find_all(nodes.Name) if node.ctx in ("store", "param")
    }
    for path in _paths(compiled.ast):
        if path[0] in assigned or _resolves(context, path):
            continue
        name = compiled.original_paths.get(path) or ".".join(path)
        return TemplateError(f"Missing value: {name}", path=name)
    return TemplateError(f"Missing value in template: {exc}")


def _paths(node: nodes.Node) -> Iterator[tuple[str, ...]]:
    """The longest data paths (`me.profile.email`) read by a template, in source order."""
    path = _path_of(node)
    if path is not None:
        yield path
        return
    for child in node.iter_child_nodes():
        yield from _paths(child)


def _path_of(node: nodes.Node) -> tuple[str, ...] | None:
    if isinstance(node, nodes.Name) and node.ctx == "load":
        return (node.name,)
    if isinstance(node, nodes.Getattr):
        parent = _path_of(node.node)
        return None if parent is None else (*parent, node.attr)
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        parent = _path_of(node.node)
        return None if parent is None else (*parent, str(node.arg.value))
    return None


def _resolves(context: Mapping[str, Any], path: tuple[str, ...]) -> bool:
    value: Any = context
    for segment in path:
        if isinstance(value, Mapping) and segment in value:
            value = value[segment]
        elif isinstance(value, list | tuple) and (index := _as_index(segment)) is not None:
            if not -len(value) <= index < len(value):
                return False
            value = value[index]
        else:
            return False
    return value is not None
