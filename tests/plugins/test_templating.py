"""The sandboxed template renderer: both spellings, clear missing-value errors, no escapes."""

from __future__ import annotations

import pytest

from apps.plugins.errors import ConfigurationError, TemplateError
from apps.plugins.templating import build_context, render, render_value, validate, validate_value


@pytest.fixture
def context() -> dict:
    return build_context(
        fields={"region": "eu", "api_key": "k-123", "code": "field-code", "my-key": "dash"},
        client_id="cid",
        client_secret="csecret",
        redirect_uri="https://app.test/oauth/callback/",
        scopes=["read", "write"],
        state="st4te",
        code="auth-code",
        code_verifier="verifier",
        access_token="at-1",
        refresh_token="rt-1",
        token={"access_token": "at-1", "instance_url": "https://x.my.salesforce.com"},
        me={"profile": {"name": "Jane", "age": 41, "admin": True}, "orgs": [{"id": "o1"}]},
        accesstokencode={"access_token": "at-0", "team": {"id": "T1"}},
        refreshtokencode={"access_token": "at-2"},
        revoketokencode={"ok": True},
    )


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ fields.region }}", "eu"),
        ("{{ client.id }}:{{ client.secret }}", "cid:csecret"),
        ("{{ redirect_uri }}", "https://app.test/oauth/callback/"),
        ("{{ scopes }}", "read write"),
        ("{{ state }} {{ code }} {{ code_verifier }}", "st4te auth-code verifier"),
        ("Bearer {{ access_token }}/{{ refresh_token }}", "Bearer at-1/rt-1"),
        ("{{ token.instance_url }}/services/", "https://x.my.salesforce.com/services/"),
        ("{{ me.profile.name }}", "Jane"),
        ("{{ me.orgs.0.id }}", "o1"),
        ("{{ me['profile']['name'] }}", "Jane"),
    ],
)
def test_jinja_spelling_renders_every_namespace(context, template, expected):
    assert render(template, context) == expected


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("${context.authData.code}", "auth-code"),
        ("${context.authData.region}", "eu"),
        ("${context.authData.accesstokencode.access_token}", "at-0"),
        ("${context.authData.accesstokencode.team.id}", "T1"),
        ("${context.authData.refreshtokencode.access_token}", "at-2"),
        ("${context.authData.revoketokencode.ok}", "true"),
        ("${ context.authData.my-key }", "dash"),
        ("id=${context.authData.region}:{{ me.profile.name }}", "id=eu:Jane"),
    ],
)
def test_seed_dollar_spelling_renders(context, template, expected):
    assert render(template, context) == expected


def test_bare_field_key_renders_at_top_level(context):
    assert render("api_key: {{api_key}}", context) == "api_key: k-123"


def test_reserved_name_wins_over_field_with_the_same_key(context):
    assert render("{{ code }}|{{ fields.code }}", context) == "auth-code|field-code"


def test_numbers_render_as_their_str(context):
    assert render("{{ me.profile.age }}", context) == "41"


def test_booleans_and_containers_render_as_json(context):
    assert render("{{ me.profile.admin }} {{ me.orgs }}", context) == 'true [{"id":"o1"}]'


def test_text_without_placeholders_is_returned_unchanged(context):
    assert render("https://api.test/v1?x=1", context) == "https://api.test/v1?x=1"


def test_trailing_newline_is_kept(context):
    assert render("{{ state }}\n", context) == "st4te\n"


def test_missing_nested_value_names_full_path(context):
    with pytest.raises(TemplateError) as excinfo:
        render("Hi {{ me.profile.email }}", context)
    assert excinfo.value.path == "me.profile.email"
    assert "me.profile.email" in str(excinfo.value)


def test_missing_value_in_dollar_spelling_names_the_seed_path(context):
    with pytest.raises(TemplateError) as excinfo:
        render("${context.authData.accesstokencode.team.name}", context)
    assert excinfo.value.path == "context.authData.accesstokencode.team.name"


def test_missing_top_level_value_names_it():
    with pytest.raises(TemplateError) as excinfo:
        render("{{ refresh_token }}", build_context(access_token="a"))
    assert excinfo.value.path == "refresh_token"


def test_null_value_counts_as_missing():
    with pytest.raises(TemplateError) as excinfo:
        render("{{ me.email }}", build_context(me={"email": None}))
    assert excinfo.value.path == "me.email"


def test_missing_list_index_names_path(context):
    with pytest.raises(TemplateError) as excinfo:
        render("{{ me.orgs.3.id }}", context)
    assert excinfo.value.path == "me.orgs.3.id"


def test_default_filter_covers_a_missing_value(context):
    assert render("{{ me.profile.email | default('none') }}", context) == "none"


def test_template_error_is_a_configuration_error():
    assert issubclass(TemplateError, ConfigurationError)


@pytest.mark.parametrize(
    "template",
    [
        "{{ fields.__class__ }}",
        "{{ ''.__class__.__mro__ }}",
        "{{ fields.items() }}",
        "{{ fields.get('region') }}",
        "{{ me.profile.name.upper() }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler }}",
        "{{ range(10) }}",
        "{{ fields|attr('__class__') }}",
        "{{ '{0.__class__}'.format(fields) }}",
    ],
)
def test_sandbox_refuses_attributes_and_calls(context, template):
    with pytest.raises(TemplateError):
        render(template, context)


def test_syntax_error_is_a_template_error(context):
    with pytest.raises(TemplateError, match="syntax"):
        render("{{ fields.region ", context)


def test_unknown_dollar_placeholder_is_a_template_error(context):
    with pytest.raises(TemplateError, match="Unknown placeholder"):
        render("${env.SECRET_KEY}", context)


def test_render_value_renders_string_leaves_only(context):
    value = {"a": "{{ state }}", "b": [1, "{{ fields.region }}", None], "c": {"d": True}}
    assert render_value(value, context) == {"a": "st4te", "b": [1, "eu", None], "c": {"d": True}}


def test_build_context_leaves_out_none_values():
    context = build_context(fields={"region": None}, access_token=None, client_id="c")
    assert "access_token" not in context
    assert context["fields"] == {}
    assert context["client"] == {"id": "c"}


def test_build_context_joins_scopes_with_separator():
    assert build_context(scopes=["a", "b"], scope_separator=",")["scopes"] == "a,b"


def test_validate_accepts_known_names_and_field_keys():
    validate(
        "{{ me.id }} {{ fields.region }} {{ api_key }} ${context.authData.x}",
        field_keys=["api_key"],
    )


def test_validate_rejects_unknown_top_level_name():
    with pytest.raises(TemplateError) as excinfo:
        validate("{{ secrets.db }}", field_keys=["region"])
    assert excinfo.value.path == "secrets"


def test_validate_rejects_syntax_error():
    with pytest.raises(TemplateError, match="syntax"):
        validate("{% if me.id %}")


def test_validate_rejects_unknown_filter():
    with pytest.raises(TemplateError):
        validate("{{ me.id | attr('x') }}")


def test_validate_rejects_calls():
    with pytest.raises(TemplateError, match="not allowed"):
        validate("{{ me.keys() }}")


def test_validate_value_checks_nested_leaves():
    with pytest.raises(TemplateError):
        validate_value({"headers": {"X": ["ok", "{{ nope }}"]}}, field_keys=())


def test_loop_variables_are_not_reported_as_unknown():
    validate("{% for org in me.orgs %}{{ org.id }}{% endfor %}")
