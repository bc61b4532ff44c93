"""The contract in schemas/, checked on its own (no server needed).

* Every ``*.schema.json`` is a valid JSON Schema draft 2020-12 with ``$id``, ``title`` and a
  description on every property, and accepts / rejects the instances it should; the publication's
  BREAKING ticker lines are valid minimal events.
* ``openapi.yaml`` passes openapi-spec-validator, and its inline copies of the schema files are
  identical to the files.
* ``asyncapi.yaml`` is AsyncAPI 3.0.0 with every topic, its Kafka layout and existing schema files.
* The enums agree with the publication's page and with the Swift event model.
"""

from __future__ import annotations

import base64
import copy
import re
import uuid

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi

from conftest import JSON_SCHEMA_DIALECT, REPO_ROOT, SCHEMAS_DIR, load_schema

SCHEMA_FILES = sorted(path.name for path in SCHEMAS_DIR.glob("*.schema.json"))
CORE_SCHEMA_FILES = ["news-event.schema.json", "news-event-input.schema.json", "deadletter.schema.json", "error.schema.json"]
# The fields a client may not send: the server owns them.
SERVER_OWNED_FIELDS = {"id", "status", "supersedes"}
SWIFT_EVENTS_DIR = REPO_ROOT / "Sources" / "NewsAlertCore" / "Events"


def validator(name: str) -> Draft202012Validator:
    """A validator for schemas/NAME that also checks formats (date-time, uri)."""
    return Draft202012Validator(load_schema(name), format_checker=Draft202012Validator.FORMAT_CHECKER)


def errors(name: str, instance) -> list[str]:
    """Every validation error of ``instance`` against schemas/NAME, as readable lines."""
    return [f"{'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}"
            for error in validator(name).iter_errors(instance)]


def walk_properties(schema, path: str = "#"):
    """Yields (json pointer, property name, property schema) for every property, at any depth."""
    if isinstance(schema, dict):
        for name, subschema in (schema.get("properties") or {}).items():
            yield f"{path}/properties/{name}", name, subschema
        for key, value in schema.items():
            if key != "properties":
                yield from walk_properties(value, f"{path}/{key}")
        for name, subschema in (schema.get("properties") or {}).items():
            yield from walk_properties(subschema, f"{path}/properties/{name}")
    elif isinstance(schema, list):
        for index, item in enumerate(schema):
            yield from walk_properties(item, f"{path}/{index}")


def minimal_event(headline: str, **fields) -> dict:
    """The smallest valid news.events message: a breaking ticker line."""
    event = {"id": f"evt_{uuid.uuid4().hex[:26]}", "kind": "breaking", "headline": headline, "regions": [],
             "tags": [], "published_at": "2025-06-24T18:38:00Z", "status": "usable"}
    event.update(fields)
    return event


# The seed page's article, as a fully filled-in event.
FULL_ARTICLE = {
    "id": "evt_01jyh0000000000000000000",
    "kind": "article",
    "headline": "US and S. Korea dismiss report of troop reduction, reaffirm alliance",
    "summary": "The backdrop to the speculation includes ongoing discussions over the cost of maintaining US troops in Asia.",
    "body": "South Korea's defense ministry on Friday firmly denied reports that the United States is planning "
            "to scale back its military presence in the country.\n\n\"There have been no discussions whatsoever\" "
            "with Washington regarding any troop withdrawal, the ministry stated.",
    "section": "Politics",
    "regions": ["Asia", "Asia-Pacific", "US & Canada"],
    "tags": ["United States", "DPRK", "South Korea"],
    "byline": "By Al Mayadeen English",
    "source": "Agencies",
    "url": "https://english.almayadeen.example/news/politics/us-and-s-korea-dismiss-report",
    "urgency": 4,
    "published_at": "2025-05-23T18:38:00+03:00",
    "status": "usable",
    "supersedes": None,
    "language": "en",
    "reason": None,
}


# --- every schema file -------------------------------------------------------------------------


def test_the_core_schema_files_exist():
    missing = [name for name in CORE_SCHEMA_FILES if not (SCHEMAS_DIR / name).is_file()]
    assert not missing, f"missing schema files: {missing}"


@pytest.mark.parametrize("name", SCHEMA_FILES)
def test_schema_file_is_valid_draft_2020_12(name):
    schema = load_schema(name)
    assert schema.get("$schema") == JSON_SCHEMA_DIALECT, f"{name}: $schema must be {JSON_SCHEMA_DIALECT}"
    Draft202012Validator.check_schema(schema)
    assert re.match(r"^https?://[^/]+/.+", schema.get("$id", "")), f"{name}: $id must be an absolute URI"
    assert schema["$id"].endswith("/" + name), f"{name}: $id should end with the file name, got {schema['$id']}"
    assert schema.get("title", "").strip(), f"{name}: needs a title"
    assert schema.get("description", "").strip(), f"{name}: needs a description"


@pytest.mark.parametrize("name", SCHEMA_FILES)
def test_every_property_has_a_description(name):
    undocumented = [pointer for pointer, _, subschema in walk_properties(load_schema(name))
                    if not (isinstance(subschema, dict) and subschema.get("description", "").strip())]
    assert not undocumented, f"{name}: properties without a description: {undocumented}"


def test_format_assertions_are_active():
    """date-time and uri are checked (they need jsonschema's format extras); otherwise the
    'bad published_at' cases below would pass for the wrong reason."""
    checker = Draft202012Validator.FORMAT_CHECKER
    assert not checker.conforms("yesterday", "date-time")
    assert not checker.conforms("2025-05-23 18:38", "date-time")
    assert checker.conforms("2025-05-23T18:38:00.123+03:00", "date-time")
    assert not checker.conforms("not a uri", "uri")


# --- news-event.schema.json --------------------------------------------------------------------


def test_seed_breaking_lines_are_valid_minimal_events(seed_page):
    assert len(seed_page.breaking) >= 10, seed_page.breaking
    for line in seed_page.breaking:
        assert errors("news-event.schema.json", minimal_event(line)) == [], line


@pytest.mark.parametrize("event", [
    pytest.param(FULL_ARTICLE, id="full-article"),
    pytest.param({key: value for key, value in FULL_ARTICLE.items() if value is not None}, id="nulls-absent"),
    pytest.param({**FULL_ARTICLE, **{key: None for key in ("summary", "body", "section", "byline", "source", "url",
                                                          "urgency", "supersedes", "language", "reason")}},
                 id="every-optional-null"),
    pytest.param(minimal_event("Lebanese Ministry of Health: correction", supersedes="evt_x", reason="wrong town"),
                 id="correction"),
    pytest.param(minimal_event("Trump: Make the deal", status="canceled", supersedes="evt_x", reason="unverified"),
                 id="kill"),
    pytest.param(minimal_event("x" * 300, urgency=1, language="pt-BR", section="Arts&Culture"), id="limits"),
    pytest.param(minimal_event("Naeini: ...", language="ar", regions=["MENA", "Palestine"], tags=["x" * 64] * 32),
                 id="max-tags"),
    pytest.param(minimal_event("عاجل: غارة إسرائيلية على بلدة كونين", language="ar", published_at="2025-06-24T18:38:00.5Z"),
                 id="arabic"),
])
def test_valid_news_events(event):
    assert errors("news-event.schema.json", event) == []


def mutate(base: dict, **changes) -> dict:
    """A copy of ``base`` with fields changed; a value of ``...`` removes the field."""
    result = copy.deepcopy(base)
    for key, value in changes.items():
        if value is ...:
            result.pop(key, None)
        else:
            result[key] = value
    return result


INVALID_EVENTS = {
    "missing id": mutate(FULL_ARTICLE, id=...),
    "missing kind": mutate(FULL_ARTICLE, kind=...),
    "missing headline": mutate(FULL_ARTICLE, headline=...),
    "missing regions": mutate(FULL_ARTICLE, regions=...),
    "missing tags": mutate(FULL_ARTICLE, tags=...),
    "missing published_at": mutate(FULL_ARTICLE, published_at=...),
    "missing status": mutate(FULL_ARTICLE, status=...),
    "null regions": mutate(FULL_ARTICLE, regions=None),
    "null headline": mutate(FULL_ARTICLE, headline=None),
    "unknown kind": mutate(FULL_ARTICLE, kind="video"),
    "kind in capitals": mutate(FULL_ARTICLE, kind="Breaking"),
    "empty headline": mutate(FULL_ARTICLE, headline=""),
    "blank headline": mutate(FULL_ARTICLE, headline="   "),
    "headline of 301 characters": mutate(FULL_ARTICLE, headline="x" * 301),
    "summary over 1000": mutate(FULL_ARTICLE, summary="x" * 1001),
    "body over 100000": mutate(FULL_ARTICLE, body="x" * 100_001),
    "unknown section": mutate(FULL_ARTICLE, section="Videos"),
    "section in lower case": mutate(FULL_ARTICLE, section="politics"),
    "unknown region": mutate(FULL_ARTICLE, regions=["Middle East"]),
    "repeated region": mutate(FULL_ARTICLE, regions=["MENA", "MENA"]),
    "regions not an array": mutate(FULL_ARTICLE, regions="MENA"),
    "empty tag": mutate(FULL_ARTICLE, tags=[""]),
    "tag of 65 characters": mutate(FULL_ARTICLE, tags=["x" * 65]),
    "33 tags": mutate(FULL_ARTICLE, tags=[f"tag {index}" for index in range(33)]),
    "url not http": mutate(FULL_ARTICLE, url="ftp://example.org/story"),
    "url not absolute": mutate(FULL_ARTICLE, url="/news/politics/story"),
    "urgency 0": mutate(FULL_ARTICLE, urgency=0),
    "urgency 10": mutate(FULL_ARTICLE, urgency=10),
    "urgency 1.5": mutate(FULL_ARTICLE, urgency=1.5),
    "urgency as text": mutate(FULL_ARTICLE, urgency="1"),
    "published_at not a date": mutate(FULL_ARTICLE, published_at="yesterday"),
    "published_at without zone": mutate(FULL_ARTICLE, published_at="2025-05-23T18:38:00"),
    "published_at impossible date": mutate(FULL_ARTICLE, published_at="2025-13-01T00:00:00Z"),
    "unknown status": mutate(FULL_ARTICLE, status="killed"),
    "language not BCP 47": mutate(FULL_ARTICLE, language="English"),
    "reason over 500": mutate(FULL_ARTICLE, reason="x" * 501),
    "unknown property": mutate(FULL_ARTICLE, colour="red"),
    "not an object": ["breaking", "headline"],
}


@pytest.mark.parametrize("case", INVALID_EVENTS)
def test_invalid_news_events(case):
    assert errors("news-event.schema.json", INVALID_EVENTS[case]), f"{case} was accepted"


# --- news-event-input.schema.json --------------------------------------------------------------


def test_seed_breaking_lines_are_valid_minimal_inputs(seed_page):
    for line in seed_page.breaking:
        assert errors("news-event-input.schema.json", {"kind": "breaking", "headline": line}) == [], line


@pytest.mark.parametrize("body", [
    pytest.param({"kind": "breaking", "headline": "Trump: Make the deal, get the hostages back"}, id="minimal"),
    pytest.param({key: value for key, value in FULL_ARTICLE.items() if key not in SERVER_OWNED_FIELDS}, id="full"),
    pytest.param({"kind": "blog", "headline": "x", "regions": None, "tags": None, "published_at": None,
                  "urgency": None, "section": None}, id="nulls"),
    pytest.param({"kind": "opinion", "headline": "x", "regions": ["MENA", "MENA"]}, id="repeated-region-ignored"),
])
def test_valid_inputs(body):
    assert errors("news-event-input.schema.json", body) == []


INVALID_INPUTS = {
    "missing kind": {"headline": "x"},
    "missing headline": {"kind": "breaking"},
    "null kind": {"kind": None, "headline": "x"},
    "empty headline": {"kind": "breaking", "headline": ""},
    "headline of 301 characters": {"kind": "breaking", "headline": "x" * 301},
    "unknown kind": {"kind": "tweet", "headline": "x"},
    "unknown section": {"kind": "breaking", "headline": "x", "section": "Videos"},
    "unknown region": {"kind": "breaking", "headline": "x", "regions": ["Middle East"]},
    "urgency 0": {"kind": "breaking", "headline": "x", "urgency": 0},
    "urgency 1.5": {"kind": "breaking", "headline": "x", "urgency": 1.5},
    "urgency true": {"kind": "breaking", "headline": "x", "urgency": True},
    "bad published_at": {"kind": "breaking", "headline": "x", "published_at": "24 Jun 2025"},
    "id from the client": {"kind": "breaking", "headline": "x", "id": "evt_mine"},
    "status from the client": {"kind": "breaking", "headline": "x", "status": "usable"},
    "supersedes from the client": {"kind": "breaking", "headline": "x", "supersedes": "evt_other"},
    "unknown property": {"kind": "breaking", "headline": "x", "colour": "red"},
    "body over 100000": {"kind": "article", "headline": "x", "body": "x" * 100_001},
}


@pytest.mark.parametrize("case", INVALID_INPUTS)
def test_invalid_inputs(case):
    assert errors("news-event-input.schema.json", INVALID_INPUTS[case]), f"{case} was accepted"


def test_input_schema_is_the_event_schema_without_the_server_owned_fields():
    event, request = load_schema("news-event.schema.json"), load_schema("news-event-input.schema.json")
    assert set(request["properties"]) == set(event["properties"]) - SERVER_OWNED_FIELDS
    assert set(request["required"]) == {"kind", "headline"}
    assert request["additionalProperties"] is False and event["additionalProperties"] is False
    for name, subschema in request["properties"].items():
        assert enums(subschema) == enums(event["properties"][name]), f"enum of {name} differs"


# --- deadletter.schema.json --------------------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


DEAD_LETTER = {
    "reason": "value is not valid JSON",
    "stage": "enrich",
    "source_topic": "news.events",
    "source_partition": 7,
    "source_offset": 1234,
    "original_key_base64": b64(b"evt_01jyh0000000000000000000"),
    "original_value_base64": b64(b"\xff{not json"),
    "failed_at": "2025-06-24T18:38:00.120Z",
}


@pytest.mark.parametrize("record", [
    pytest.param(DEAD_LETTER, id="enrich"),
    pytest.param({**DEAD_LETTER, "stage": "deliver.webhook", "source_topic": "alerts.webhook",
                  "reason": "webhook answered 410", "details": {"http_status": 410, "attempts": 5}}, id="webhook-details"),
    pytest.param({**DEAD_LETTER, "stage": "fanout", "original_key_base64": None, "details": "no key"}, id="no-key"),
    pytest.param({**DEAD_LETTER, "original_value_base64": "", "details": None}, id="empty-value"),
])
def test_valid_dead_letters(record):
    assert errors("deadletter.schema.json", record) == []


@pytest.mark.parametrize("case, record", [
    ("missing reason", mutate(DEAD_LETTER, reason=...)),
    ("missing stage", mutate(DEAD_LETTER, stage=...)),
    ("missing original value", mutate(DEAD_LETTER, original_value_base64=...)),
    ("missing failed_at", mutate(DEAD_LETTER, failed_at=...)),
    ("stage with spaces", mutate(DEAD_LETTER, stage="Deliver Webhook")),
    ("negative offset", mutate(DEAD_LETTER, source_offset=-1)),
    ("partition as text", mutate(DEAD_LETTER, source_partition="7")),
    ("value not base64", mutate(DEAD_LETTER, original_value_base64="{not json")),
    ("key not base64", mutate(DEAD_LETTER, original_key_base64="evt_01 jyh")),
    ("failed_at not a date", mutate(DEAD_LETTER, failed_at="now")),
    ("unknown property", mutate(DEAD_LETTER, retries=3)),
])
def test_invalid_dead_letters(case, record):
    assert errors("deadletter.schema.json", record), f"{case} was accepted"


# --- error.schema.json -------------------------------------------------------------------------


@pytest.mark.parametrize("body", [
    {"error": {"status": 400, "code": "invalid_json", "message": "the body is not valid JSON"}},
    {"error": {"status": 422, "code": "invalid_fields", "message": "the request has invalid fields",
               "fields": [{"field": "headline", "problem": "must not be empty"},
                          {"field": "colour", "problem": "is not a known field"}]}},
    {"error": {"status": 503, "code": "kafka_unavailable", "message": "retry later"}},
])
def test_valid_errors(body):
    assert errors("error.schema.json", body) == []


@pytest.mark.parametrize("case, body", [
    ("no envelope", {"status": 400, "code": "invalid_json", "message": "x"}),
    ("missing code", {"error": {"status": 400, "message": "x"}}),
    ("status not an error", {"error": {"status": 200, "code": "ok", "message": "x"}}),
    ("status as text", {"error": {"status": "400", "code": "invalid_json", "message": "x"}}),
    ("code not snake_case", {"error": {"status": 400, "code": "Invalid JSON", "message": "x"}}),
    ("field without problem", {"error": {"status": 422, "code": "invalid_fields", "message": "x", "fields": [{"field": "kind"}]}}),
    ("extra property", {"error": {"status": 400, "code": "invalid_json", "message": "x", "trace": "..."}}),
])
def test_invalid_errors(case, body):
    assert errors("error.schema.json", body), f"{case} was accepted"


# --- the publication's vocabulary and the Swift model ------------------------------------------


def enums(schema: dict) -> list | None:
    """The enum of a property or of its items, without null (null only means 'not given')."""
    values = schema.get("enum") or (schema.get("items") or {}).get("enum")
    return None if values is None else [value for value in values if value is not None]


def test_enums_are_the_publication_vocabulary(seed_page):
    properties = load_schema("news-event.schema.json")["properties"]
    assert enums(properties["section"]) == seed_page.sections
    assert enums(properties["regions"]) == seed_page.regions
    # Kinds: the BREAKING ticker, plain news articles, and the "Articles" menu (Features -> feature).
    article_kinds = [{"Features": "feature"}.get(kind, kind.lower()) for kind in seed_page.article_kinds]
    assert enums(properties["kind"]) == ["breaking", "article", *article_kinds]


def swift_enum_values(source: str, enum_name: str) -> list[str]:
    """The raw values of a `String` enum in Swift source (`case a, b` and `case a = "A"`)."""
    match = re.search(rf"enum {enum_name}\b[^{{]*\{{(.*?)\n\}}", source, re.DOTALL)
    assert match, f"enum {enum_name} not found"
    values = []
    for line in match.group(1).splitlines():
        line = line.strip()
        if not line.startswith("case "):
            continue
        for item in line[len("case "):].split(","):
            name, _, raw = item.partition("=")
            values.append(raw.strip().strip('"') if raw else name.strip())
    return values


def test_enums_match_the_swift_event_model():
    taxonomy_path = SWIFT_EVENTS_DIR / "NewsTaxonomy.swift"
    if not taxonomy_path.is_file():
        pytest.skip(f"{taxonomy_path} not found")
    taxonomy = taxonomy_path.read_text(encoding="utf-8")
    properties = load_schema("news-event.schema.json")["properties"]
    assert swift_enum_values(taxonomy, "NewsKind") == enums(properties["kind"])
    assert swift_enum_values(taxonomy, "NewsSection") == enums(properties["section"])
    assert swift_enum_values(taxonomy, "NewsRegion") == enums(properties["regions"])
    assert swift_enum_values(taxonomy, "NewsStatus") == enums(properties["status"])
    low, high = map(int, re.search(r"static let range = (\d+)\.\.\.(\d+)", taxonomy).groups())
    assert (low, high) == (properties["urgency"]["minimum"], properties["urgency"]["maximum"])


def test_properties_match_the_swift_event_coding_keys():
    event_path = SWIFT_EVENTS_DIR / "NewsEvent.swift"
    if not event_path.is_file():
        pytest.skip(f"{event_path} not found")
    keys = swift_enum_values(event_path.read_text(encoding="utf-8"), "CodingKeys")
    assert set(keys) == set(load_schema("news-event.schema.json")["properties"])


# --- openapi.yaml ------------------------------------------------------------------------------


def without_ids(schema: dict) -> dict:
    return {key: value for key, value in schema.items() if key not in ("$schema", "$id")}


def test_openapi_is_valid():
    document = load_schema("openapi.yaml")
    assert document["openapi"] == "3.1.0"
    validate_openapi(document, base_uri=(SCHEMAS_DIR / "openapi.yaml").as_uri())


def test_openapi_has_every_operation_of_the_api():
    paths = load_schema("openapi.yaml")["paths"]
    operations = {(path, method) for path, item in paths.items() for method in item if method != "parameters"}
    assert operations == {
        ("/v1/events", "post"), ("/v1/events", "get"), ("/v1/events/{id}", "get"),
        ("/v1/events/{id}/corrections", "post"), ("/v1/events/{id}/kill", "post"),
        ("/healthz", "get"), ("/readyz", "get"), ("/newsroom", "get"), ("/", "get")}
    assert paths["/v1/events"]["post"]["responses"]["202"]
    for path in ("/healthz", "/readyz", "/newsroom", "/"):
        assert paths[path]["get"]["security"] == [], f"{path} must not need a key"


def test_openapi_security_is_a_bearer_api_key():
    document = load_schema("openapi.yaml")
    schemes = document["components"]["securitySchemes"]
    assert [{"type": scheme["type"], "scheme": scheme["scheme"]} for scheme in schemes.values()] == [
        {"type": "http", "scheme": "bearer"}]
    assert document["security"] == [{name: []} for name in schemes]


@pytest.mark.parametrize("component, file", [
    ("NewsEvent", "news-event.schema.json"),
    ("NewsEventInput", "news-event-input.schema.json"),
    ("Error", "error.schema.json"),
])
def test_openapi_inline_schemas_are_copies_of_the_files(component, file):
    inline = load_schema("openapi.yaml")["components"]["schemas"][component]
    schema = load_schema(file)
    # The parts that matter most, compared one by one for a readable failure.
    assert inline.get("required") == schema.get("required")
    assert set(inline.get("properties", {})) == set(schema.get("properties", {}))
    for name, subschema in schema.get("properties", {}).items():
        assert enums(inline["properties"][name]) == enums(subschema), f"{component}.{name}: enum differs"
    # And then everything else.
    assert inline == without_ids(schema), f"openapi.yaml's {component} differs from {file}"


def test_openapi_correction_input_is_the_input_with_optional_kind():
    schemas = load_schema("openapi.yaml")["components"]["schemas"]
    correction, request = schemas["NewsEventCorrectionInput"], schemas["NewsEventInput"]
    assert correction["required"] == ["headline"]
    assert set(correction["properties"]) == set(request["properties"])
    for name, subschema in request["properties"].items():
        assert enums(correction["properties"][name]) == enums(subschema), name
        if name not in ("kind", "reason"):
            assert correction["properties"][name] == subschema, name


def test_openapi_properties_have_descriptions():
    undocumented = [pointer for pointer, _, subschema in walk_properties(load_schema("openapi.yaml")["components"])
                    if not (isinstance(subschema, dict) and subschema.get("description", "").strip())]
    assert not undocumented, f"properties without a description: {undocumented}"


# --- asyncapi.yaml -----------------------------------------------------------------------------

DAY_MS = 86_400_000
# address: (partitions, retention.ms or None, cleanup.policy)
TOPICS = {
    "news.events": (12, 7 * DAY_MS, ["delete"]),
    "news.enriched": (12, 7 * DAY_MS, ["delete"]),
    "news.deadletter": (3, 30 * DAY_MS, ["delete"]),
    "subscriptions.changelog": (3, None, ["compact"]),
    "alerts.webhook": (12, 3 * DAY_MS, ["delete"]),
    "alerts.email": (12, 3 * DAY_MS, ["delete"]),
    "alerts.ticker": (6, 3 * DAY_MS, ["delete"]),
}


def resolve_pointer(document: dict, pointer: str):
    """The node a local reference (`#/a/b`) points to."""
    node = document
    for part in pointer.lstrip("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def all_refs(node):
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from all_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from all_refs(value)


def test_asyncapi_document():
    document = load_schema("asyncapi.yaml")
    assert str(document["asyncapi"]) == "3.0.0"
    assert document["info"]["title"] and document["info"]["version"]
    addresses = {channel["address"]: channel for channel in document["channels"].values()}
    assert set(addresses) == set(TOPICS)


@pytest.mark.parametrize("address", TOPICS)
def test_asyncapi_topic_layout(address):
    document = load_schema("asyncapi.yaml")
    channel = next(channel for channel in document["channels"].values() if channel["address"] == address)
    partitions, retention, cleanup = TOPICS[address]
    kafka = channel["bindings"]["kafka"]
    assert kafka["topic"] == address
    assert kafka["partitions"] == partitions
    assert kafka["topicConfiguration"]["cleanup.policy"] == cleanup
    assert kafka["topicConfiguration"].get("retention.ms") == retention
    assert channel["description"].strip() and channel["messages"]
    # Every message documents its key.
    for message in channel["messages"].values():
        message = resolve_pointer(document, message["$ref"]) if "$ref" in message else message
        assert message["bindings"]["kafka"]["key"]["description"], f"{address}: a message without a key description"
    # Someone produces to and someone consumes from every topic.
    actions = {operation["action"] for operation in document["operations"].values()
               if resolve_pointer(document, operation["channel"]["$ref"]) is channel}
    assert actions == {"send", "receive"}, f"{address}: operations {actions}"


def test_asyncapi_references_resolve_and_schema_files_exist():
    document = load_schema("asyncapi.yaml")
    files = set()
    for ref in all_refs(document):
        if ref.startswith("#"):
            resolve_pointer(document, ref)  # raises KeyError when dangling
        else:
            path = (SCHEMAS_DIR / ref.split("#")[0]).resolve()
            assert path.is_file(), f"asyncapi.yaml references {ref}, which does not exist"
            files.add(path.name)
    assert {"news-event.schema.json", "deadletter.schema.json"} <= files


def test_asyncapi_placeholders_name_their_future_schema_file():
    """Messages without a schema file yet say which file will describe them."""
    messages = load_schema("asyncapi.yaml")["components"]["messages"]
    for name, message in messages.items():
        payload = message["payload"]
        if "$ref" in payload or payload.get("type") == "null":
            continue
        mentioned = re.search(r"schemas/([\w.-]+\.schema\.json)", payload.get("description", ""))
        assert mentioned, f"{name}: a placeholder payload should name its future schema file"


def test_asyncapi_topics_match_the_swift_topic_table():
    topics_path = REPO_ROOT / "Sources" / "NewsAlertCore" / "NewsTopics.swift"
    if not topics_path.is_file():
        pytest.skip(f"{topics_path} not found")
    found = {}
    for match in re.finditer(r'NewsTopic\(name: "([^"]+)", partitions: (\d+), retentionMilliseconds: ([^,]+), '
                             r'cleanupPolicy: "([^"]+)"', topics_path.read_text(encoding="utf-8")):
        name, partitions, retention, cleanup = match.groups()
        days = re.fullmatch(r"(\d+) \* day", retention.strip())
        found[name] = (int(partitions), int(days.group(1)) * DAY_MS if days else None, [cleanup])
    assert found, f"could not read the topic table in {topics_path} (did its layout change?)"
    assert found == TOPICS
