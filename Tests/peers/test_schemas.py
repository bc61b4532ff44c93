"""The contract in schemas/, checked on its own (no server needed).

* Every ``*.schema.json`` is a valid JSON Schema draft 2020-12 with ``$id``, ``title`` and a
  description on every property, and accepts / rejects the instances it should; the publication's
  BREAKING ticker lines are valid minimal events.
* ``openapi.yaml`` passes openapi-spec-validator, and its inline copies of the schema files are
  identical to the files.
* ``asyncapi.yaml`` is AsyncAPI 3.0.0 with every topic, its Kafka layout and existing schema files.
* The enums agree with the publication's page and with the Swift event model; the properties of
  ``news-enriched.schema.json`` are the coding keys of the Swift enriched-event model.

A schema file may reference another by its ``$id`` (``news-enriched.schema.json`` references
``news-event.schema.json``): the validators resolve such references from the files in schemas/,
never over the network.
"""

from __future__ import annotations

import base64
import copy
import re
import uuid

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable

from conftest import JSON_SCHEMA_DIALECT, SCHEMAS_DIR, SEED_ARTICLE, load_schema, topic_layout

SCHEMA_FILES = sorted(path.name for path in SCHEMAS_DIR.glob("*.schema.json"))
CORE_SCHEMA_FILES = ["news-event.schema.json", "news-event-input.schema.json", "news-enriched.schema.json",
                     "deadletter.schema.json", "error.schema.json", "subscription-rule.schema.json",
                     "subscription-change.schema.json", "subscriber-change.schema.json", "channel-change.schema.json",
                     "alert.schema.json", "ticker-item.schema.json"]
# The fields a client may not send: the server owns them.
SERVER_OWNED_FIELDS = {"id", "status", "supersedes"}
# Request fields that instruct the API and are not part of the published event.
REQUEST_ONLY_FIELDS = {"publish_at"}


def schema_registry() -> Registry:
    """Every schemas/*.schema.json, registered under its ``$id``: how one file's ``$ref`` to another
    resolves (offline). Retrieving anything else fails the reference instead of fetching it."""
    resources = [Resource.from_contents(load_schema(name)) for name in SCHEMA_FILES]
    return Registry().with_resources((resource.id(), resource) for resource in resources if resource.id())


def validator(name: str) -> Draft202012Validator:
    """A validator for schemas/NAME that also checks formats (date-time, uri) and resolves
    references to the other schema files by their ``$id``."""
    return Draft202012Validator(load_schema(name), registry=schema_registry(),
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


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
    **SEED_ARTICLE,
    "status": "usable",
    "supersedes": None,
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


def all_schema_refs(node):
    """Every ``$ref`` value in a schema, at any depth."""
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from all_schema_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from all_schema_refs(value)


@pytest.mark.parametrize("name", SCHEMA_FILES)
def test_schema_references_resolve_to_schema_files(name):
    """Local references point into the file; others name another schema file by its $id (relative
    to this file's $id), so they resolve offline with the files in schemas/."""
    schema = load_schema(name)
    resolver = schema_registry().resolver(base_uri=schema["$id"])
    for ref in all_schema_refs(schema):
        try:
            resolver.lookup(ref)
        except Unresolvable as error:
            pytest.fail(f"{name}: $ref {ref!r} does not resolve to a schema file: {error!r}")


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
    # `publish_at` (an embargo) is an instruction to the API, not part of the published event.
    assert set(request["properties"]) - REQUEST_ONLY_FIELDS == set(event["properties"]) - SERVER_OWNED_FIELDS
    assert REQUEST_ONLY_FIELDS <= set(request["properties"])
    assert set(request["required"]) == {"kind", "headline"}
    assert request["additionalProperties"] is False and event["additionalProperties"] is False
    for name, subschema in request["properties"].items():
        if name not in REQUEST_ONLY_FIELDS:
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


# --- news-enriched.schema.json -----------------------------------------------------------------

KAWNIN_FIRST = minimal_event("Al Mayadeen's correspondent in South Lebanon: Israeli drone targets a car in the town of Kawnin",
                             id="evt_01jyh0kawnin0000000000001")
KAWNIN_SECOND = minimal_event("Al Mayadeen's correspondent in South Lebanon: One martyred in the Israeli drone strike on a car "
                              "in the town of Kawnin", id="evt_01jyh0kawnin0000000000002")
SOUTH_LEBANON = "Al Mayadeen's correspondent in South Lebanon"


def kawnin_enrichment(event: dict, urgency: int) -> dict:
    """The enrichment of a Kawnin ticker line, as the enrich stage writes it."""
    return {
        "event_id": event["id"],
        "section": "Politics",
        "regions": ["MENA"],
        "countries": ["LB", "IL"],
        "places": [
            {"name": "South Lebanon", "kind": "area", "country": "LB", "within": [], "mentioned_as": "South Lebanon",
             "in_attribution": True},
            {"name": "Kawnin", "kind": "town", "country": "LB", "within": ["South Lebanon"], "mentioned_as": "Kawnin",
             "in_attribution": False},
        ],
        "entities": [
            {"name": "Al Mayadeen", "kind": "organisation", "canonical": "Al Mayadeen", "in_attribution": True},
            {"name": "Kawnin", "kind": "place", "canonical": "Kawnin", "country": "LB", "in_attribution": False},
        ],
        "urgency": urgency,
        "language": "en",
        "source": SOUTH_LEBANON,
        "headline": event["headline"].split(": ", 1)[1],
        "text": event["headline"].split(": ", 1)[1],
        "reasons": [
            {"field": "source", "value": SOUTH_LEBANON, "because": "attribution prefix before ':' stripped from the headline"},
            {"field": "places", "value": "South Lebanon",
             "because": "area in LB (Lebanon) via 'South Lebanon' [supplement: area of Lebanon south of the Litani], in the attribution"},
            {"field": "places", "value": "Kawnin",
             "because": "town in LB (Lebanon), within South Lebanon via 'Kawnin' [supplement: town in the Bint Jbeil district, South Lebanon]"},
            {"field": "countries", "value": "LB",
             "because": "Lebanon via area 'South Lebanon' [supplement: area of Lebanon south of the Litani], in the attribution"},
            {"field": "countries", "value": "IL", "because": "Israel via demonym 'Israeli' (Israel) [supplement: demonym of IL]"},
            {"field": "regions", "value": "MENA",
             "because": "country LB (Lebanon) via 'South Lebanon' [supplement: area of Lebanon south of the Litani], in the attribution"},
            {"field": "entities", "value": "Al Mayadeen", "because": "organisation: known organisation 'Al Mayadeen'"},
            {"field": "section", "value": "Politics", "because": "1 Politics cue words: 'drone'"},
            {"field": "urgency", "value": str(urgency), "because": "strikes and explosions cue 'targets' → 3"},
            {"field": "language", "value": "en", "because": "4 of 10 words are en stopwords: 'a', 'in', 'the', 'of'"},
        ],
    }


# The first Kawnin line, which starts its story.
ENRICHED_NEW = {
    "event": KAWNIN_FIRST,
    "enrichment": kawnin_enrichment(KAWNIN_FIRST, 3),
    "story": {"story_id": "story-" + KAWNIN_FIRST["id"], "sequence": 1, "relation": "new", "similarity": 1,
              "adds_information": True, "new_information": [], "because": "no recent story close enough"},
    "enriched_at": "2025-06-24T18:38:00.120Z",
}
# The second Kawnin line: an update of the same story.
ENRICHED_UPDATE = {
    "event": KAWNIN_SECOND,
    "enrichment": kawnin_enrichment(KAWNIN_SECOND, 2),
    "story": {"story_id": "story-" + KAWNIN_FIRST["id"], "sequence": 2, "update_of": KAWNIN_FIRST["id"],
              "relation": "update", "similarity": 0.9854080167680326, "adds_information": True,
              "new_information": ["number 1", "fact martyred"],
              "because": f"similarity 0.99 to {KAWNIN_FIRST['id']} (text 0.69, shared place Kawnin) ≥ 0.47"},
    "enriched_at": "2025-06-24T18:41:12.004+03:00",
}
KILL_EVENT = {**KAWNIN_FIRST, "id": "evt_01jyh0kawnin0000000000003", "status": "canceled",
              "supersedes": KAWNIN_FIRST["id"], "reason": "unverified"}
ENRICHED_KILL = {
    "event": KILL_EVENT,
    "enrichment": kawnin_enrichment(KILL_EVENT, 3),
    "story": {"story_id": "story-" + KAWNIN_FIRST["id"], "sequence": 3, "update_of": KAWNIN_SECOND["id"],
              "relation": "kill", "supersedes": KAWNIN_FIRST["id"], "similarity": 1, "adds_information": False,
              "new_information": [], "because": f"kill of {KAWNIN_FIRST['id']}, which joined story-{KAWNIN_FIRST['id']}"},
    "enriched_at": "2025-06-24T18:50:00Z",
}


def enriched_article() -> dict:
    """The seed page's article, enriched: reading time set, no attribution, optional fields null."""
    return {
        "event": FULL_ARTICLE,
        "enrichment": {
            "event_id": FULL_ARTICLE["id"], "section": "Politics", "regions": ["Asia", "Asia-Pacific", "US & Canada"],
            "countries": ["KR", "US"],
            "places": [{"name": "South Korea", "kind": "country", "country": "KR", "within": [], "mentioned_as": "S. Korea",
                        "in_attribution": False},
                       {"name": "Indo-Pacific", "kind": "area", "country": None, "within": [], "mentioned_as": "Indo-Pacific",
                        "in_attribution": False}],
            "entities": [{"name": "Wall Street Journal", "kind": "other", "canonical": None, "country": None, "in_attribution": False}],
            "urgency": 4, "reading_time_seconds": 14, "language": "en", "source": None, "speaker": None,
            "headline": FULL_ARTICLE["headline"], "text": FULL_ARTICLE["headline"] + "\n\n" + FULL_ARTICLE["summary"],
            "reasons": [{"field": "regions", "value": "Asia", "because": "set by the newsroom"},
                        {"field": "reading_time_seconds", "value": "14", "because": "52 words at 230 words a minute"}],
        },
        "story": {"story_id": "story-" + FULL_ARTICLE["id"], "sequence": 1, "update_of": None, "relation": "new",
                  "supersedes": None, "similarity": 1, "adds_information": True, "new_information": [],
                  "because": "no recent story close enough"},
        "enriched_at": "2025-05-23T18:38:01+03:00",
    }


@pytest.mark.parametrize("message", [
    pytest.param(ENRICHED_NEW, id="new-story"),
    pytest.param(ENRICHED_UPDATE, id="update"),
    pytest.param(ENRICHED_KILL, id="kill"),
    pytest.param(enriched_article(), id="article-with-nulls"),
    pytest.param(mutate(ENRICHED_NEW, story={**ENRICHED_NEW["story"], "relation": "kill", "supersedes": "evt_gone"}),
                 id="kill-of-an-unknown-event-starts-a-story"),
    pytest.param(mutate(ENRICHED_UPDATE, story={**ENRICHED_UPDATE["story"], "similarity": 0, "adds_information": False,
                                                "new_information": []}), id="same-speaker-adds-nothing"),
    pytest.param(mutate(ENRICHED_NEW, enrichment={**ENRICHED_NEW["enrichment"], "language": "und", "regions": [],
                                                   "countries": [], "places": [], "entities": [], "reasons": []}),
                 id="nothing-found"),
])
def test_valid_enriched_events(message):
    assert errors("news-enriched.schema.json", message) == []


def story_changed(base: dict, **changes) -> dict:
    return {**base, "story": mutate(base["story"], **changes)}


def enrichment_changed(base: dict, **changes) -> dict:
    return {**base, "enrichment": mutate(base["enrichment"], **changes)}


INVALID_ENRICHED = {
    "missing event": mutate(ENRICHED_NEW, event=...),
    "missing enrichment": mutate(ENRICHED_NEW, enrichment=...),
    "missing story": mutate(ENRICHED_NEW, story=...),
    "missing enriched_at": mutate(ENRICHED_NEW, enriched_at=...),
    "enriched_at not a date": mutate(ENRICHED_NEW, enriched_at="just now"),
    "unknown property": mutate(ENRICHED_NEW, alerts=[]),
    # The event is checked against news-event.schema.json.
    "event without headline": mutate(ENRICHED_NEW, event=mutate(KAWNIN_FIRST, headline=...)),
    "event with unknown kind": mutate(ENRICHED_NEW, event=mutate(KAWNIN_FIRST, kind="tweet")),
    "event with unknown property": mutate(ENRICHED_NEW, event=mutate(KAWNIN_FIRST, story_id="story-x")),
    # Enrichment.
    "missing event_id": enrichment_changed(ENRICHED_NEW, event_id=...),
    "missing reasons": enrichment_changed(ENRICHED_NEW, reasons=...),
    "missing urgency": enrichment_changed(ENRICHED_NEW, urgency=...),
    "urgency 0": enrichment_changed(ENRICHED_NEW, urgency=0),
    "urgency 10": enrichment_changed(ENRICHED_NEW, urgency=10),
    "unknown section": enrichment_changed(ENRICHED_NEW, section="Videos"),
    "unknown region": enrichment_changed(ENRICHED_NEW, regions=["Middle East"]),
    "repeated region": enrichment_changed(ENRICHED_NEW, regions=["MENA", "MENA"]),
    "country in lower case": enrichment_changed(ENRICHED_NEW, countries=["lb"]),
    "country by name": enrichment_changed(ENRICHED_NEW, countries=["Lebanon"]),
    "repeated country": enrichment_changed(ENRICHED_NEW, countries=["LB", "LB"]),
    "negative reading time": enrichment_changed(ENRICHED_NEW, reading_time_seconds=-1),
    "language not BCP 47": enrichment_changed(ENRICHED_NEW, language="English"),
    "empty source": enrichment_changed(ENRICHED_NEW, source=""),
    "unknown enrichment property": enrichment_changed(ENRICHED_NEW, sentiment="negative"),
    "place of kind person": enrichment_changed(ENRICHED_NEW, places=[{**ENRICHED_NEW["enrichment"]["places"][0], "kind": "person"}]),
    "place without within": enrichment_changed(ENRICHED_NEW, places=[mutate(ENRICHED_NEW["enrichment"]["places"][0], within=...)]),
    "place with country name": enrichment_changed(ENRICHED_NEW, places=[{**ENRICHED_NEW["enrichment"]["places"][0], "country": "Lebanon"}]),
    "unknown entity kind": enrichment_changed(ENRICHED_NEW, entities=[{"name": "Hezbollah", "kind": "company", "in_attribution": False}]),
    "entity without in_attribution": enrichment_changed(ENRICHED_NEW, entities=[{"name": "Hezbollah", "kind": "organisation"}]),
    "reason without because": enrichment_changed(ENRICHED_NEW, reasons=[{"field": "regions", "value": "MENA"}]),
    "reason for an unknown field": enrichment_changed(ENRICHED_NEW, reasons=[{"field": "mood", "value": "grim", "because": "x"}]),
    # Story.
    "missing story_id": story_changed(ENRICHED_NEW, story_id=...),
    "story_id without prefix": story_changed(ENRICHED_NEW, story_id=KAWNIN_FIRST["id"]),
    "missing sequence": story_changed(ENRICHED_NEW, sequence=...),
    "sequence 0": story_changed(ENRICHED_NEW, sequence=0),
    "sequence as text": story_changed(ENRICHED_NEW, sequence="1"),
    "unknown relation": story_changed(ENRICHED_NEW, relation="duplicate"),
    "new story at sequence 2": story_changed(ENRICHED_UPDATE, relation="new"),
    "update at sequence 1": story_changed(ENRICHED_NEW, relation="update"),
    "sequence 2 without update_of": story_changed(ENRICHED_UPDATE, update_of=...),
    "sequence 2 with null update_of": story_changed(ENRICHED_UPDATE, update_of=None),
    "sequence 1 with update_of": story_changed(ENRICHED_NEW, update_of=KAWNIN_SECOND["id"]),
    "similarity above 1": story_changed(ENRICHED_UPDATE, similarity=1.2),
    "negative similarity": story_changed(ENRICHED_UPDATE, similarity=-0.1),
    "similarity as text": story_changed(ENRICHED_UPDATE, similarity="0.98"),
    "adds_information as text": story_changed(ENRICHED_UPDATE, adds_information="yes"),
    "adds nothing but lists something": story_changed(ENRICHED_UPDATE, adds_information=False),
    "missing new_information": story_changed(ENRICHED_NEW, new_information=...),
    "empty because": story_changed(ENRICHED_NEW, because=""),
    "unknown story property": story_changed(ENRICHED_NEW, score=0.5),
}


@pytest.mark.parametrize("case", INVALID_ENRICHED)
def test_invalid_enriched_events(case):
    assert errors("news-enriched.schema.json", INVALID_ENRICHED[case]), f"{case} was accepted"


def test_enriched_event_embeds_the_news_event_schema():
    """`event` is news-event.schema.json itself (by $id), not a copy that could drift."""
    enriched, event = load_schema("news-enriched.schema.json"), load_schema("news-event.schema.json")
    resolved = schema_registry().resolver(base_uri=enriched["$id"]).lookup(enriched["properties"]["event"]["$ref"])
    assert resolved.contents == event
    enrichment = enriched["$defs"]["Enrichment"]["properties"]
    assert enums(enrichment["section"]) == enums(event["properties"]["section"])
    assert enums(enrichment["regions"]) == enums(event["properties"]["regions"])
    assert enums(enriched["$defs"]["StoryAssignment"]["properties"]["relation"]) == ["new", "update", "correction", "kill"]


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


# --- subscription-rule.schema.json -------------------------------------------------------------

DIGEST_RULE = {
    "regions": ["MENA", "Palestine"],
    "keywords": 'ceasefire OR "drone strike" -rumour',
    "quiet_hours": {"start": "22:00", "end": "07:00", "allow_flash": True},
    "delivery": {"mode": "digest", "every": "daily", "at": "08:00"},
    "channels": ["webhook-main", "email-desk"],
}


@pytest.mark.parametrize("rule", [
    pytest.param({"regions": ["MENA"], "max_urgency": 3}, id="mena-urgent"),
    pytest.param(DIGEST_RULE, id="daily-digest-with-quiet-hours"),
    pytest.param({"all": True}, id="all"),
    pytest.param({"all": True, "delivery": {"mode": "digest", "every": "hourly"}, "channels": ["ticker"]}, id="all-hourly"),
    pytest.param({"countries": ["LB", "PS"], "entities": ["Benjamin Netanyahu"], "tags": ["Hezbollah"]}, id="countries-entities"),
    pytest.param({"sections": ["Politics", "Arts&Culture"], "kinds": ["breaking"]}, id="sections-kinds"),
    pytest.param({"regions": ["mena", " US & Canada "], "kinds": ["Breaking"], "countries": ["lb"]}, id="case-insensitive-names"),
    pytest.param({"keywords": "drone", "delivery": {"mode": "immediate"}, "quiet_hours": {"start": "23:30", "end": "06:00"}},
                 id="immediate-with-quiet-hours"),
    pytest.param({"keywords": "drone", "delivery": {"mode": "digest", "every": "daily"}}, id="daily-default-time"),
    pytest.param({"all": False, "max_urgency": 9, "sections": None, "quiet_hours": None, "delivery": None, "channels": None},
                 id="nulls-absent"),
    pytest.param({"all": True, "regions": None}, id="all-with-null-clause"),
])
def test_valid_subscription_rules(rule):
    assert errors("subscription-rule.schema.json", rule) == []


INVALID_RULES = {
    "no clause": {},
    "only delivery": {"delivery": {"mode": "immediate"}},
    "all false alone": {"all": False},
    "only null clauses": {"regions": None, "keywords": None},
    "all combined with regions": {"all": True, "regions": ["MENA"]},
    "all combined with max_urgency": {"all": True, "max_urgency": 1},
    "all as text": {"all": "true"},
    "unknown region": {"regions": ["Mars"]},
    "region not a list": {"regions": "MENA"},
    "empty regions": {"regions": []},
    "unknown section": {"sections": ["Videos"]},
    "unknown kind": {"kinds": ["tweet"]},
    "country by name": {"countries": ["Lebanon"]},
    "country of three letters": {"countries": ["LBN"]},
    "65 tags": {"tags": [f"tag {index}" for index in range(65)]},
    "blank tag": {"tags": ["   "]},
    "entity of 129 characters": {"entities": ["x" * 129]},
    "empty keywords": {"keywords": ""},
    "keywords over 500": {"keywords": "x" * 501},
    "max_urgency 0": {"max_urgency": 0},
    "max_urgency 10": {"max_urgency": 10},
    "max_urgency as text": {"max_urgency": "3"},
    "quiet hours without end": {"regions": ["MENA"], "quiet_hours": {"start": "22:00"}},
    "quiet hours 7:00": {"regions": ["MENA"], "quiet_hours": {"start": "22:00", "end": "7:00"}},
    "quiet hours 24:00": {"regions": ["MENA"], "quiet_hours": {"start": "24:00", "end": "07:00"}},
    "quiet hours 22:60": {"regions": ["MENA"], "quiet_hours": {"start": "22:60", "end": "07:00"}},
    "quiet hours with seconds": {"regions": ["MENA"], "quiet_hours": {"start": "22:00:00", "end": "07:00"}},
    "unknown quiet hours field": {"regions": ["MENA"], "quiet_hours": {"start": "22:00", "end": "07:00", "timezone": "UTC"}},
    "unknown delivery mode": {"regions": ["MENA"], "delivery": {"mode": "weekly"}},
    "digest without every": {"regions": ["MENA"], "delivery": {"mode": "digest"}},
    "digest every week": {"regions": ["MENA"], "delivery": {"mode": "digest", "every": "weekly"}},
    "hourly digest with at": {"regions": ["MENA"], "delivery": {"mode": "digest", "every": "hourly", "at": "08:00"}},
    "immediate with every": {"regions": ["MENA"], "delivery": {"mode": "immediate", "every": "daily"}},
    "daily digest at 8am": {"regions": ["MENA"], "delivery": {"mode": "digest", "every": "daily", "at": "8am"}},
    "17 channels": {"regions": ["MENA"], "channels": [f"channel-{index}" for index in range(17)]},
    "unknown field": {"regions": ["MENA"], "region": ["Europe"]},
    "camelCase field": {"maxUrgency": 3},
    "not an object": ["MENA"],
}


@pytest.mark.parametrize("case", INVALID_RULES)
def test_invalid_subscription_rules(case):
    assert errors("subscription-rule.schema.json", INVALID_RULES[case]), f"{case} was accepted"


def test_rule_names_are_the_publication_vocabulary_in_any_case():
    """sections, regions and kinds accept the news-event vocabulary, compared case-insensitively."""
    rule, event = load_schema("subscription-rule.schema.json"), load_schema("news-event.schema.json")
    for definition, prop in (("SectionName", "section"), ("RegionName", "regions"), ("KindName", "kind")):
        pattern = re.compile(rule["$defs"][definition]["pattern"])
        names = enums(event["properties"][prop])
        assert rule["$defs"][definition]["examples"] == names, definition
        for name in names:
            for spelling in (name, name.lower(), name.upper(), f" {name} "):
                assert pattern.search(spelling), f"{definition} rejects {spelling!r}"
        assert not pattern.search(names[0] + "x") and not pattern.search("x" + names[0]), definition


# --- subscriptions.changelog: subscription-, subscriber- and channel-change.schema.json ---------
#
# The compacted topic carries three kinds of records, told apart by the key's prefix and the value's
# `entity`: subscribers (`sbr_`), delivery channels (`chn_`) and subscriptions (`sub_`). Members
# without a value (a subscription's `name`, a channel's `disabled_reason`, a budget's caps) are left
# out by the Swift encoder; readers accept them as null too.

CHANGELOG_SCHEMAS = {"subscriber": "subscriber-change.schema.json", "channel": "channel-change.schema.json",
                     "subscription": "subscription-change.schema.json"}
CHANGELOG_ID_PREFIXES = {"subscriber": "sbr_", "channel": "chn_", "subscription": "sub_"}

SUBSCRIPTION_CHANGE = {
    "entity": "subscription",
    "subscription_id": "sub_01jyh0000000000000000001",
    "subscriber_id": "sbr_beirutdesk000000001",
    "name": "South Lebanon, urgent",
    "version": 3,
    "status": "active",
    "rule": {"regions": ["MENA"], "max_urgency": 3},
    "subscriber_time_zone": "Asia/Beirut",
    "changed_at": "2025-06-24T18:30:00Z",
}


@pytest.mark.parametrize("record", [
    pytest.param(SUBSCRIPTION_CHANGE, id="active"),
    pytest.param({**SUBSCRIPTION_CHANGE, "version": 1, "rule": DIGEST_RULE, "subscriber_time_zone": "Europe/Berlin"}, id="digest"),
    pytest.param({**SUBSCRIPTION_CHANGE, "status": "disabled", "rule": {"all": True}, "subscriber_time_zone": "UTC",
                  "changed_at": "2025-06-24T21:30:00.250+03:00"}, id="disabled-all"),
    pytest.param({**SUBSCRIPTION_CHANGE, "subscriber_time_zone": "America/Argentina/Buenos_Aires"}, id="deep-zone"),
    pytest.param(mutate(SUBSCRIPTION_CHANGE, name=...), id="no-name"),
    pytest.param({**SUBSCRIPTION_CHANGE, "name": None}, id="null-name"),
    pytest.param({**SUBSCRIPTION_CHANGE, "name": "عاجل: جنوب لبنان", "rule": {**DIGEST_RULE, "channels": ["chn_x-y_z"]}},
                 id="arabic-name-with-channels"),
])
def test_valid_subscription_changes(record):
    assert errors("subscription-change.schema.json", record) == []


@pytest.mark.parametrize("case, record", [
    ("tombstone value", None),
    ("missing entity", mutate(SUBSCRIPTION_CHANGE, entity=...)),
    ("entity of a channel", mutate(SUBSCRIPTION_CHANGE, entity="channel")),
    ("entity in capitals", mutate(SUBSCRIPTION_CHANGE, entity="Subscription")),
    ("missing subscription_id", mutate(SUBSCRIPTION_CHANGE, subscription_id=...)),
    ("missing subscriber_id", mutate(SUBSCRIPTION_CHANGE, subscriber_id=...)),
    ("missing version", mutate(SUBSCRIPTION_CHANGE, version=...)),
    ("missing status", mutate(SUBSCRIPTION_CHANGE, status=...)),
    ("missing rule", mutate(SUBSCRIPTION_CHANGE, rule=...)),
    ("missing time zone", mutate(SUBSCRIPTION_CHANGE, subscriber_time_zone=...)),
    ("missing changed_at", mutate(SUBSCRIPTION_CHANGE, changed_at=...)),
    ("subscription_id of a channel", mutate(SUBSCRIPTION_CHANGE, subscription_id="chn_01jyh0000000000000000001")),
    ("subscription_id without prefix", mutate(SUBSCRIPTION_CHANGE, subscription_id="01jyh0000000000000000001")),
    ("bare prefix", mutate(SUBSCRIPTION_CHANGE, subscription_id="sub_")),
    ("subscriber_id without prefix", mutate(SUBSCRIPTION_CHANGE, subscriber_id="subscriber_beirut_desk")),
    ("subscriber_id with spaces", mutate(SUBSCRIPTION_CHANGE, subscriber_id="sbr_beirut desk")),
    ("empty name", mutate(SUBSCRIPTION_CHANGE, name="")),
    ("name of 201 characters", mutate(SUBSCRIPTION_CHANGE, name="x" * 201)),
    ("name as a number", mutate(SUBSCRIPTION_CHANGE, name=7)),
    ("version 0", mutate(SUBSCRIPTION_CHANGE, version=0)),
    ("version as text", mutate(SUBSCRIPTION_CHANGE, version="3")),
    ("unknown status", mutate(SUBSCRIPTION_CHANGE, status="deleted")),
    ("time zone offset", mutate(SUBSCRIPTION_CHANGE, subscriber_time_zone="+03:00")),
    ("time zone with spaces", mutate(SUBSCRIPTION_CHANGE, subscriber_time_zone="Asia / Beirut")),
    ("changed_at not a date", mutate(SUBSCRIPTION_CHANGE, changed_at="yesterday")),
    # The rule is checked against subscription-rule.schema.json.
    ("empty rule", mutate(SUBSCRIPTION_CHANGE, rule={})),
    ("rule with unknown region", mutate(SUBSCRIPTION_CHANGE, rule={"regions": ["Mars"]})),
    ("rule combining all", mutate(SUBSCRIPTION_CHANGE, rule={"all": True, "regions": ["MENA"]})),
    ("unknown property", mutate(SUBSCRIPTION_CHANGE, deleted=False)),
])
def test_invalid_subscription_changes(case, record):
    assert errors("subscription-change.schema.json", record), f"{case} was accepted"


def test_subscription_change_embeds_the_rule_schema():
    change, rule = load_schema("subscription-change.schema.json"), load_schema("subscription-rule.schema.json")
    resolved = schema_registry().resolver(base_uri=change["$id"]).lookup(change["properties"]["rule"]["$ref"])
    assert resolved.contents == rule
    # Every member is always written except the optional name.
    assert set(change["required"]) == set(change["properties"]) - {"name"}


SUBSCRIBER_CHANGE = {
    "entity": "subscriber",
    "subscriber_id": "sbr_beirutdesk000000001",
    "name": "Beirut desk",
    "time_zone": "Asia/Beirut",
    "status": "active",
    "budget": {"per_hour": 5, "per_day": 40, "flash_exceeds_budget": True},
    "version": 1,
    "changed_at": "2025-06-24T18:30:00.125Z",
}


@pytest.mark.parametrize("record", [
    pytest.param(SUBSCRIBER_CHANGE, id="with-budget"),
    pytest.param({**SUBSCRIBER_CHANGE, "budget": {"flash_exceeds_budget": True}, "time_zone": "UTC"}, id="unlimited"),
    pytest.param({**SUBSCRIBER_CHANGE, "budget": {"per_hour": None, "per_day": None, "flash_exceeds_budget": True}},
                 id="null-caps"),
    pytest.param({**SUBSCRIBER_CHANGE, "budget": {"per_hour": 0, "flash_exceeds_budget": True}}, id="only-flashes"),
    pytest.param({**SUBSCRIBER_CHANGE, "budget": {"per_day": 3, "flash_exceeds_budget": False}}, id="strict-daily"),
    pytest.param({**SUBSCRIBER_CHANGE, "status": "disabled", "version": 7, "changed_at": "2025-06-24T21:30:00+03:00"},
                 id="disabled"),
    pytest.param({**SUBSCRIBER_CHANGE, "time_zone": "America/Argentina/Buenos_Aires", "name": "x" * 200}, id="limits"),
])
def test_valid_subscriber_changes(record):
    assert errors("subscriber-change.schema.json", record) == []


def budget_changed(**changes) -> dict:
    return {**SUBSCRIBER_CHANGE, "budget": mutate(SUBSCRIBER_CHANGE["budget"], **changes)}


@pytest.mark.parametrize("case, record", [
    ("tombstone value", None),
    ("missing entity", mutate(SUBSCRIBER_CHANGE, entity=...)),
    ("entity of a subscription", mutate(SUBSCRIBER_CHANGE, entity="subscription")),
    ("missing subscriber_id", mutate(SUBSCRIBER_CHANGE, subscriber_id=...)),
    ("missing name", mutate(SUBSCRIBER_CHANGE, name=...)),
    ("missing time zone", mutate(SUBSCRIBER_CHANGE, time_zone=...)),
    ("missing status", mutate(SUBSCRIBER_CHANGE, status=...)),
    ("missing budget", mutate(SUBSCRIBER_CHANGE, budget=...)),
    ("missing version", mutate(SUBSCRIBER_CHANGE, version=...)),
    ("missing changed_at", mutate(SUBSCRIBER_CHANGE, changed_at=...)),
    ("subscriber_id of a subscription", mutate(SUBSCRIBER_CHANGE, subscriber_id="sub_beirutdesk000000001")),
    ("subscriber_id without prefix", mutate(SUBSCRIBER_CHANGE, subscriber_id="beirutdesk000000001")),
    ("subscriber_id of 69 characters", mutate(SUBSCRIBER_CHANGE, subscriber_id="sbr_" + "x" * 65)),
    ("null name", mutate(SUBSCRIBER_CHANGE, name=None)),
    ("empty name", mutate(SUBSCRIBER_CHANGE, name="")),
    ("name of 201 characters", mutate(SUBSCRIBER_CHANGE, name="x" * 201)),
    ("time zone offset", mutate(SUBSCRIBER_CHANGE, time_zone="+03:00")),
    ("time zone with spaces", mutate(SUBSCRIBER_CHANGE, time_zone="Asia / Beirut")),
    ("null time zone", mutate(SUBSCRIBER_CHANGE, time_zone=None)),
    ("unknown status", mutate(SUBSCRIBER_CHANGE, status="deleted")),
    ("version 0", mutate(SUBSCRIBER_CHANGE, version=0)),
    ("version as text", mutate(SUBSCRIBER_CHANGE, version="1")),
    ("changed_at not a date", mutate(SUBSCRIBER_CHANGE, changed_at="2025-06-24 18:30")),
    ("null budget", mutate(SUBSCRIBER_CHANGE, budget=None)),
    ("budget without flash_exceeds_budget", budget_changed(flash_exceeds_budget=...)),
    ("negative per_hour", budget_changed(per_hour=-1)),
    ("per_day as text", budget_changed(per_day="40")),
    ("fractional per_hour", budget_changed(per_hour=2.5)),
    ("flash_exceeds_budget as text", budget_changed(flash_exceeds_budget="yes")),
    ("unknown budget field", budget_changed(per_week=100)),
    ("unknown property", mutate(SUBSCRIBER_CHANGE, email="desk@example.com")),
])
def test_invalid_subscriber_changes(case, record):
    assert errors("subscriber-change.schema.json", record), f"{case} was accepted"


WEBHOOK_CHANNEL_CHANGE = {
    "entity": "channel",
    "channel_id": "chn_beirutdeskwebhook01",
    "subscriber_id": "sbr_beirutdesk000000001",
    "kind": "webhook",
    "target": "https://desk.example.org/hooks/newsalert",
    "secrets": ["whsec_eJ48x1W9JZMXpxrCVn1TcW55PA9wIRaFmCs0YVc6feI="],
    "status": "active",
    "version": 1,
    "changed_at": "2025-06-24T18:30:00Z",
}
EMAIL_CHANNEL_CHANGE = {**WEBHOOK_CHANNEL_CHANGE, "channel_id": "chn_beirutdeskemail0001", "kind": "email",
                        "target": "desk@example.org", "secrets": []}
TICKER_CHANNEL_CHANGE = {**WEBHOOK_CHANNEL_CHANGE, "channel_id": "chn_beirutdeskticker001", "kind": "ticker",
                         "target": "", "secrets": []}


@pytest.mark.parametrize("record", [
    pytest.param(WEBHOOK_CHANNEL_CHANGE, id="webhook"),
    pytest.param({**WEBHOOK_CHANNEL_CHANGE, "version": 2, "secrets": ["whsec_" + "B" * 43 + "=", WEBHOOK_CHANNEL_CHANGE["secrets"][0]]},
                 id="webhook-during-rotation"),
    pytest.param({**WEBHOOK_CHANNEL_CHANGE, "status": "disabled", "disabled_reason": "endpoint answered 410 Gone", "version": 4},
                 id="webhook-disabled"),
    pytest.param({**WEBHOOK_CHANNEL_CHANGE, "disabled_reason": None}, id="null-disabled-reason"),
    pytest.param({**WEBHOOK_CHANNEL_CHANGE, "target": "http://203.0.113.7:8080/hook?desk=beirut"}, id="webhook-ip-port-query"),
    pytest.param({**WEBHOOK_CHANNEL_CHANGE, "secrets": ["whsec_AbC-_xyz0123456789AbC-_xyz0123456789abcd"]}, id="url-safe-secret"),
    pytest.param(EMAIL_CHANNEL_CHANGE, id="email"),
    pytest.param({**EMAIL_CHANNEL_CHANGE, "target": "night.desk+alerts@mail.example.co.uk"}, id="email-plus-subdomain"),
    pytest.param({**EMAIL_CHANNEL_CHANGE, "version": 2, "consent": {"confirmed_at": "2025-06-24T18:41:07.512Z", "source": "confirmation link"}},
                 id="email-confirmed"),
    pytest.param(TICKER_CHANNEL_CHANGE, id="ticker"),
])
def test_valid_channel_changes(record):
    assert errors("channel-change.schema.json", record) == []


@pytest.mark.parametrize("case, record", [
    ("tombstone value", None),
    ("missing entity", mutate(WEBHOOK_CHANNEL_CHANGE, entity=...)),
    ("entity of a subscriber", mutate(WEBHOOK_CHANNEL_CHANGE, entity="subscriber")),
    ("missing channel_id", mutate(WEBHOOK_CHANNEL_CHANGE, channel_id=...)),
    ("missing subscriber_id", mutate(WEBHOOK_CHANNEL_CHANGE, subscriber_id=...)),
    ("missing kind", mutate(WEBHOOK_CHANNEL_CHANGE, kind=...)),
    ("missing target", mutate(WEBHOOK_CHANNEL_CHANGE, target=...)),
    ("missing secrets", mutate(WEBHOOK_CHANNEL_CHANGE, secrets=...)),
    ("missing status", mutate(WEBHOOK_CHANNEL_CHANGE, status=...)),
    ("missing version", mutate(WEBHOOK_CHANNEL_CHANGE, version=...)),
    ("missing changed_at", mutate(WEBHOOK_CHANNEL_CHANGE, changed_at=...)),
    ("channel_id of a subscription", mutate(WEBHOOK_CHANNEL_CHANGE, channel_id="sub_beirutdeskwebhook01")),
    ("channel_id without prefix", mutate(WEBHOOK_CHANNEL_CHANGE, channel_id="beirutdeskwebhook01")),
    ("subscriber_id without prefix", mutate(WEBHOOK_CHANNEL_CHANGE, subscriber_id="subscriber_beirut_desk")),
    ("kind sms", mutate(WEBHOOK_CHANNEL_CHANGE, kind="sms")),
    ("kind in capitals", mutate(WEBHOOK_CHANNEL_CHANGE, kind="Webhook")),
    ("unknown status", mutate(WEBHOOK_CHANNEL_CHANGE, status="gone")),
    ("empty disabled_reason", mutate(WEBHOOK_CHANNEL_CHANGE, status="disabled", disabled_reason="")),
    ("version 0", mutate(WEBHOOK_CHANNEL_CHANGE, version=0)),
    ("changed_at not a date", mutate(WEBHOOK_CHANNEL_CHANGE, changed_at="now")),
    ("secrets not a list", mutate(WEBHOOK_CHANNEL_CHANGE, secrets=WEBHOOK_CHANNEL_CHANGE["secrets"][0])),
    ("secret without prefix", mutate(WEBHOOK_CHANNEL_CHANGE, secrets=["eJ48x1W9JZMXpxrCVn1TcW55PA9wIRaFmCs0YVc6feI="])),
    ("secret hint instead of secret", mutate(WEBHOOK_CHANNEL_CHANGE, secrets=["whsec_eJ48…"])),
    ("repeated secret", mutate(WEBHOOK_CHANNEL_CHANGE, secrets=WEBHOOK_CHANNEL_CHANGE["secrets"] * 2)),
    ("webhook without secrets", mutate(WEBHOOK_CHANNEL_CHANGE, secrets=[])),
    ("webhook to a relative URL", mutate(WEBHOOK_CHANNEL_CHANGE, target="/hooks/newsalert")),
    ("webhook over ftp", mutate(WEBHOOK_CHANNEL_CHANGE, target="ftp://desk.example.org/hooks")),
    ("webhook without target", mutate(WEBHOOK_CHANNEL_CHANGE, target="")),
    ("webhook URL of 2049 characters", mutate(WEBHOOK_CHANNEL_CHANGE, target="https://desk.example.org/" + "x" * 2025)),
    ("email with secrets", mutate(EMAIL_CHANNEL_CHANGE, secrets=WEBHOOK_CHANNEL_CHANGE["secrets"])),
    ("email without @", mutate(EMAIL_CHANNEL_CHANGE, target="desk.example.org")),
    ("email with spaces", mutate(EMAIL_CHANNEL_CHANGE, target="night desk@example.org")),
    ("email without target", mutate(EMAIL_CHANNEL_CHANGE, target="")),
    ("consent without its source", mutate(EMAIL_CHANNEL_CHANGE, consent={"confirmed_at": "2025-06-24T18:41:07Z"})),
    ("consent with an empty source", mutate(EMAIL_CHANNEL_CHANGE, consent={"confirmed_at": "2025-06-24T18:41:07Z", "source": ""})),
    ("consent on a webhook", mutate(WEBHOOK_CHANNEL_CHANGE, consent={"confirmed_at": "2025-06-24T18:41:07Z", "source": "confirmation link"})),
    ("ticker with a target", mutate(TICKER_CHANNEL_CHANGE, target="https://desk.example.org/ticker")),
    ("ticker with secrets", mutate(TICKER_CHANNEL_CHANGE, secrets=WEBHOOK_CHANNEL_CHANGE["secrets"])),
    ("API view instead of record", {**mutate(WEBHOOK_CHANNEL_CHANGE, channel_id=..., secrets=...),
                                    "id": WEBHOOK_CHANNEL_CHANGE["channel_id"], "secret_hints": ["whsec_eJ48…"]}),
    ("unknown property", mutate(WEBHOOK_CHANNEL_CHANGE, secret=WEBHOOK_CHANNEL_CHANGE["secrets"][0])),
])
def test_invalid_channel_changes(case, record):
    assert errors("channel-change.schema.json", record), f"{case} was accepted"


CHANGELOG_EXAMPLES = {"subscriber": SUBSCRIBER_CHANGE, "channel": WEBHOOK_CHANNEL_CHANGE, "subscription": SUBSCRIPTION_CHANGE}


@pytest.mark.parametrize("entity", CHANGELOG_SCHEMAS)
def test_changelog_schemas_are_told_apart_by_entity(entity):
    """Each changelog schema has its `entity` constant, its own id property with the key's prefix, and
    accepts no record of another entity (so `entity` alone picks the schema, as `oneOf` needs)."""
    schema = load_schema(CHANGELOG_SCHEMAS[entity])
    assert schema["properties"]["entity"]["const"] == entity
    assert "entity" in schema["required"] and schema["additionalProperties"] is False
    id_property = f"{entity}_id"
    assert id_property in schema["required"], f"{entity}: the record key's property {id_property} must be required"
    pattern = re.compile(schema["properties"][id_property]["pattern"])
    for other, prefix in CHANGELOG_ID_PREFIXES.items():
        assert bool(pattern.search(prefix + "abc123")) == (other == entity), f"{entity}: {id_property} vs prefix {prefix}"
    for other, example in CHANGELOG_EXAMPLES.items():
        assert bool(errors(CHANGELOG_SCHEMAS[entity], example)) == (other != entity), f"{entity} schema on a {other} record"


# --- alert.schema.json -------------------------------------------------------------------------

# The second Kawnin line, alerted as an update to a subscriber who got the first one.
ALERT_UPDATE = {
    "alert_id": "alert_subscriber_beirut_desk_webhook_" + KAWNIN_SECOND["id"],
    "channel": "webhook",
    "channel_id": "chn_beirutdeskwebhook01",
    "subscriber_id": "subscriber_beirut_desk",
    "type": "update",
    "story": {"story_id": ENRICHED_UPDATE["story"]["story_id"], "sequence": 2, "update_of": KAWNIN_FIRST["id"]},
    "event": {
        "id": KAWNIN_SECOND["id"], "kind": "breaking", "headline": KAWNIN_SECOND["headline"],
        "section": "Politics", "regions": ["MENA"], "countries": ["LB", "IL"], "urgency": 2,
        "published_at": KAWNIN_SECOND["published_at"], "status": "usable",
    },
    "matched": [{"subscription_id": "sub_01jyh0000000000000000001", "clause": "regions", "value": "MENA"},
                {"subscription_id": "sub_01jyh0000000000000000001", "clause": "max_urgency", "value": "2 ≤ 3"}],
    "deliver_after": None,
    "digest": False,
    "created_at": "2025-06-24T18:41:12.150Z",
}


def event_changed(base: dict, **changes) -> dict:
    return {**base, "event": mutate(base["event"], **changes)}


@pytest.mark.parametrize("alert", [
    pytest.param(ALERT_UPDATE, id="kawnin-update"),
    pytest.param(mutate(ALERT_UPDATE, deliver_after=...), id="deliver-after-absent"),
    pytest.param({**ALERT_UPDATE, "channel": "email", "type": "alert", "digest": True, "deliver_after": "2025-06-25T08:00:00+03:00",
                  "story": {"story_id": ENRICHED_NEW["story"]["story_id"], "sequence": 1, "update_of": None},
                  "event": {**ALERT_UPDATE["event"], "id": KAWNIN_FIRST["id"], "headline": KAWNIN_FIRST["headline"], "urgency": 3,
                            "summary": None, "url": None, "supersedes": None},
                  "matched": [{"subscription_id": "sub_digest", "clause": "keywords", "value": "drone strike"}]},
                 id="email-digest-first-line"),
    pytest.param({**ALERT_UPDATE, "channel": "ticker", "type": "retraction",
                  "story": {"story_id": ENRICHED_KILL["story"]["story_id"], "sequence": 3, "update_of": KAWNIN_SECOND["id"]},
                  "event": {**ALERT_UPDATE["event"], "id": KILL_EVENT["id"], "status": "canceled", "supersedes": KAWNIN_FIRST["id"]},
                  "matched": [{"subscription_id": "sub_all", "clause": "all", "value": "every event"}]}, id="ticker-retraction"),
    pytest.param({**ALERT_UPDATE, "type": "correction", "deliver_after": "2025-06-25T07:00:00+03:00",
                  "event": {**ALERT_UPDATE["event"], "summary": "One person was killed.",
                            "url": "https://english.almayadeen.net/news/politics/kawnin", "supersedes": KAWNIN_FIRST["id"]}},
                 id="correction-held-by-quiet-hours"),
    pytest.param({**ALERT_UPDATE, "type": "retraction", "matched": [],
                  "event": {**ALERT_UPDATE["event"], "id": KILL_EVENT["id"], "status": "canceled", "supersedes": KAWNIN_FIRST["id"]}},
                 id="retraction-to-everyone-who-got-the-story"),
])
def test_valid_alerts(alert):
    assert errors("alert.schema.json", alert) == []


INVALID_ALERTS = {
    "missing matched": mutate(ALERT_UPDATE, matched=...),
    "empty matched": mutate(ALERT_UPDATE, matched=[]),
    "missing channel_id": mutate(ALERT_UPDATE, channel_id=...),
    "channel sms": mutate(ALERT_UPDATE, channel="sms"),
    "missing alert_id": mutate(ALERT_UPDATE, alert_id=...),
    "missing subscriber_id": mutate(ALERT_UPDATE, subscriber_id=...),
    "missing digest": mutate(ALERT_UPDATE, digest=...),
    "missing created_at": mutate(ALERT_UPDATE, created_at=...),
    "unknown type": mutate(ALERT_UPDATE, type="kill"),
    "story without prefix": {**ALERT_UPDATE, "story": {**ALERT_UPDATE["story"], "story_id": KAWNIN_FIRST["id"]}},
    "sequence 0": {**ALERT_UPDATE, "story": {**ALERT_UPDATE["story"], "sequence": 0}},
    "story with relation": {**ALERT_UPDATE, "story": {**ALERT_UPDATE["story"], "relation": "update"}},
    "event without headline": event_changed(ALERT_UPDATE, headline=...),
    "event without section": event_changed(ALERT_UPDATE, section=...),
    "event without countries": event_changed(ALERT_UPDATE, countries=...),
    "event urgency 0": event_changed(ALERT_UPDATE, urgency=0),
    "event with unknown region": event_changed(ALERT_UPDATE, regions=["Middle East"]),
    "event country in lower case": event_changed(ALERT_UPDATE, countries=["lb"]),
    "event with body": event_changed(ALERT_UPDATE, body="The full text."),
    "unknown clause": {**ALERT_UPDATE, "matched": [{"subscription_id": "sub_x", "clause": "region", "value": "MENA"}]},
    "match without subscription": {**ALERT_UPDATE, "matched": [{"clause": "regions", "value": "MENA"}]},
    "deliver_after not a date": mutate(ALERT_UPDATE, deliver_after="after the quiet hours"),
    "digest without deliver_after": mutate(ALERT_UPDATE, digest=True),
    "digest as text": mutate(ALERT_UPDATE, digest="no"),
    "unknown property": mutate(ALERT_UPDATE, priority="high"),
}


@pytest.mark.parametrize("case", INVALID_ALERTS)
def test_invalid_alerts(case):
    assert errors("alert.schema.json", INVALID_ALERTS[case]), f"{case} was accepted"


def test_alert_vocabulary_matches_the_other_schemas():
    alert = load_schema("alert.schema.json")["properties"]
    event, enrichment = load_schema("news-event.schema.json"), load_schema("news-enriched.schema.json")["$defs"]["Enrichment"]
    assert enums(alert["event"]["properties"]["kind"]) == enums(event["properties"]["kind"])
    assert enums(alert["event"]["properties"]["status"]) == enums(event["properties"]["status"])
    assert enums(alert["event"]["properties"]["section"]) == enums(enrichment["properties"]["section"])
    assert enums(alert["event"]["properties"]["regions"]) == enums(enrichment["properties"]["regions"])
    rule = load_schema("subscription-rule.schema.json")["properties"]
    clauses = enums(alert["matched"]["items"]["properties"]["clause"])
    assert set(clauses) <= set(rule) and set(rule) - set(clauses) == {"quiet_hours", "delivery", "channels"}


# --- ticker-item.schema.json -------------------------------------------------------------------

# The second Kawnin line on the live ticker: an update, matched by one subscriber's ticker channel.
TICKER_UPDATE = {
    "type": "update",
    "story": ALERT_UPDATE["story"],
    "event": ALERT_UPDATE["event"],
    "audience": ["sbr_beirutdesk000000001"],
}


@pytest.mark.parametrize("item", [
    pytest.param(TICKER_UPDATE, id="kawnin-update"),
    pytest.param({**TICKER_UPDATE, "type": "alert", "audience": [],
                  "story": {"story_id": ENRICHED_NEW["story"]["story_id"], "sequence": 1},
                  "event": {**ALERT_UPDATE["event"], "id": KAWNIN_FIRST["id"], "headline": KAWNIN_FIRST["headline"], "urgency": 3}},
                 id="first-line-nobody-subscribed"),
    pytest.param({**TICKER_UPDATE, "type": "retraction", "audience": ["sbr_beirutdesk000000001", "sbr_nightdesk0000000001"],
                  "story": {"story_id": ENRICHED_KILL["story"]["story_id"], "sequence": 3, "update_of": KAWNIN_SECOND["id"]},
                  "event": {**ALERT_UPDATE["event"], "id": KILL_EVENT["id"], "status": "canceled", "supersedes": KAWNIN_FIRST["id"]}},
                 id="retraction"),
    pytest.param({**TICKER_UPDATE, "type": "correction",
                  "story": {**TICKER_UPDATE["story"], "update_of": None},
                  "event": {**ALERT_UPDATE["event"], "summary": None, "url": "https://english.almayadeen.net/news/politics/kawnin",
                            "supersedes": KAWNIN_FIRST["id"]}},
                 id="correction-with-nulls"),
])
def test_valid_ticker_items(item):
    assert errors("ticker-item.schema.json", item) == []


def ticker_event_changed(**changes) -> dict:
    return {**TICKER_UPDATE, "event": mutate(TICKER_UPDATE["event"], **changes)}


INVALID_TICKER_ITEMS = {
    "missing type": mutate(TICKER_UPDATE, type=...),
    "missing story": mutate(TICKER_UPDATE, story=...),
    "missing event": mutate(TICKER_UPDATE, event=...),
    "missing audience": mutate(TICKER_UPDATE, audience=...),
    "null audience": mutate(TICKER_UPDATE, audience=None),
    "audience as text": mutate(TICKER_UPDATE, audience="sbr_beirutdesk000000001"),
    "empty subscriber id": mutate(TICKER_UPDATE, audience=[""]),
    "subscriber id with spaces": mutate(TICKER_UPDATE, audience=["sbr_beirut desk"]),
    "unknown type": mutate(TICKER_UPDATE, type="kill"),
    "gap frame": {"type": "gap", "from": 3, "to": 7, "epoch": "cluster", "reason": "older than the window"},
    "story without prefix": {**TICKER_UPDATE, "story": {**TICKER_UPDATE["story"], "story_id": KAWNIN_FIRST["id"]}},
    "sequence 0": {**TICKER_UPDATE, "story": {**TICKER_UPDATE["story"], "sequence": 0}},
    "story with relation": {**TICKER_UPDATE, "story": {**TICKER_UPDATE["story"], "relation": "update"}},
    "event without headline": ticker_event_changed(headline=...),
    "event without section": ticker_event_changed(section=...),
    "event urgency 10": ticker_event_changed(urgency=10),
    "event with unknown region": ticker_event_changed(regions=["Middle East"]),
    "event with body": ticker_event_changed(body="The full text."),
    # What WebSocket clients get is not what is on the topic.
    "frame with position": {**TICKER_UPDATE, "position": 12, "epoch": "cluster"},
    "an alert": ALERT_UPDATE,
    "unknown property": mutate(TICKER_UPDATE, channel="ticker"),
    "not an object": [TICKER_UPDATE],
}


@pytest.mark.parametrize("case", INVALID_TICKER_ITEMS)
def test_invalid_ticker_items(case):
    assert errors("ticker-item.schema.json", INVALID_TICKER_ITEMS[case]), f"{case} was accepted"


def test_ticker_item_embeds_the_alerts_story_and_event():
    """`story` and `event` are alert.schema.json's own (by reference), not copies that could drift."""
    item, alert = load_schema("ticker-item.schema.json"), load_schema("alert.schema.json")
    resolver = schema_registry().resolver(base_uri=item["$id"])
    for name in ("story", "event"):
        assert resolver.lookup(item["properties"][name]["$ref"]).contents == alert["properties"][name], name
    # The ticker carries news only: every alert type but `notice` (a message about a subscriber's own channels).
    assert enums(item["properties"]["type"]) == [t for t in enums(alert["properties"]["type"]) if t != "notice"]


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


# --- openapi.yaml ------------------------------------------------------------------------------


def without_ids(schema: dict) -> dict:
    return {key: value for key, value in schema.items() if key not in ("$schema", "$id")}


def test_openapi_is_valid():
    document = load_schema("openapi.yaml")
    assert document["openapi"] == "3.1.0"
    validate_openapi(document, base_uri=(SCHEMAS_DIR / "openapi.yaml").as_uri())


# The subscriber token's operations, and those that take an API key or the subscriber's own token.
SUBSCRIBER_TOKEN_OPERATIONS = {
    ("/v1/subscriptions", "get"), ("/v1/subscriptions", "post"), ("/v1/subscriptions/preview", "post"),
    ("/v1/subscriptions/{id}", "get"), ("/v1/subscriptions/{id}", "patch"), ("/v1/subscriptions/{id}", "delete"),
    ("/v1/channels", "get"), ("/v1/channels", "post"), ("/v1/channels/{id}", "delete"),
    ("/v1/channels/{id}/rotate-secret", "post")}
KEY_OR_TOKEN_OPERATIONS = {("/v1/deliveries", "get"), ("/v1/deliveries/{id}", "get"), ("/v1/deliveries/{id}/replay", "post")}
ADMIN_KEY_OPERATIONS = {
    ("/v1/subscribers", "post"), ("/v1/subscribers", "get"), ("/v1/subscribers/{id}", "get"),
    ("/v1/subscribers/{id}/disable", "post"), ("/v1/subscribers/{id}/enable", "post"), ("/v1/subscribers/{id}/tokens", "post"),
    ("/v1/subscribers/import", "post"), ("/v1/subscribers/export", "get"),
    ("/v1/keys", "get"), ("/v1/keys", "post"), ("/v1/keys/{id}/revoke", "post"), ("/v1/subscribers/{id}/channels", "post")}


def openapi_operations() -> dict:
    """(path, method) -> operation, for every operation of openapi.yaml."""
    return {(path, method): operation for path, item in load_schema("openapi.yaml")["paths"].items()
            for method, operation in item.items() if method != "parameters"}


def test_openapi_has_every_operation_of_the_api():
    paths = load_schema("openapi.yaml")["paths"]
    assert set(openapi_operations()) == {
        ("/v1/events", "post"), ("/v1/events", "get"), ("/v1/events/preview", "post"), ("/v1/events/{id}", "get"),
        ("/v1/held-events", "get"), ("/v1/events/{id}/approve", "post"), ("/v1/events/{id}/reject", "post"),
        ("/v1/events/{id}/cancel", "post"), ("/v1/me", "get"), ("/v1/stories/{id}", "get"),
        ("/v1/events/{id}/corrections", "post"), ("/v1/events/{id}/kill", "post"),
        ("/v1/ticker", "get"), ("/v1/ticker/stream", "get"),
        ("/healthz", "get"), ("/readyz", "get"), ("/newsroom", "get"), ("/", "get"),
        *ADMIN_KEY_OPERATIONS, *SUBSCRIBER_TOKEN_OPERATIONS, *KEY_OR_TOKEN_OPERATIONS}
    assert paths["/v1/events"]["post"]["responses"]["202"]
    for path in ("/healthz", "/readyz", "/newsroom", "/"):
        assert paths[path]["get"]["security"] == [], f"{path} must not need a key"


def test_openapi_security_is_a_bearer_api_key_or_subscriber_token():
    document = load_schema("openapi.yaml")
    schemes = document["components"]["securitySchemes"]
    assert {name: (scheme["type"], scheme["scheme"]) for name, scheme in schemes.items()} == {
        "apiKey": ("http", "bearer"), "subscriberToken": ("http", "bearer")}
    # API keys by default; the subscriber's own routes take its token, the delivery log either.
    assert document["security"] == [{"apiKey": []}]
    for key, operation in openapi_operations().items():
        if key in SUBSCRIBER_TOKEN_OPERATIONS:
            assert operation["security"] == [{"subscriberToken": []}], key
            assert "$ref" in operation["responses"]["401"], f"{key}: document the 401 for a missing token"
        elif key in KEY_OR_TOKEN_OPERATIONS:
            assert operation["security"] == [{"apiKey": []}, {"subscriberToken": []}], key
        elif key in ADMIN_KEY_OPERATIONS:
            assert "security" not in operation and "admin" in operation["description"], key
            assert {"401", "403"} <= set(operation["responses"]), key
    # The ticker is open to anonymous viewers; a subscriber token narrows it to the subscriber's items.
    assert openapi_operations()[("/v1/ticker", "get")]["security"] == [{}, {"subscriberToken": []}]
    assert openapi_operations()[("/v1/ticker/stream", "get")]["security"] == [{}, {"subscriberToken": []}]


def test_openapi_ticker_is_a_websocket_with_documented_frames():
    ticker = openapi_operations()[("/v1/ticker", "get")]
    assert {"101", "400", "426"} <= set(ticker["responses"])
    assert {parameter["name"] for parameter in ticker["parameters"]} == {"sections", "regions", "kinds", "since", "epoch", "token", "backlog"}
    schemas = load_schema("openapi.yaml")["components"]["schemas"]
    frames = [schemas[ref["$ref"].rsplit("/", 1)[1]] for ref in schemas["TickerFrame"]["oneOf"]]
    assert sorted(str(enums(frame["properties"]["type"]) or frame["properties"]["type"]["const"]) for frame in frames) == sorted(
        ["['alert', 'update', 'correction', 'retraction']", "error", "gap", "heartbeat"])
    # An item frame is a ticker item without its audience, with its position and the log's epoch.
    item, frame = load_schema("ticker-item.schema.json"), schemas["TickerItemFrame"]
    assert set(frame["properties"]) == set(item["properties"]) - {"audience"} | {"position", "epoch"}
    assert enums(frame["properties"]["type"]) == enums(item["properties"]["type"])


def test_openapi_ticker_stream_is_an_event_stream_beside_the_websocket():
    """The same query as the WebSocket ticker plus the Last-Event-ID header; a text/event-stream answer whose
    events are the WebSocket's frames; the refusals before the stream starts."""
    ticker, stream = openapi_operations()[("/v1/ticker", "get")], openapi_operations()[("/v1/ticker/stream", "get")]
    query = [parameter for parameter in stream["parameters"] if parameter["in"] == "query"]
    assert query == ticker["parameters"], "the event stream's query differs from the WebSocket ticker's"
    headers = [parameter for parameter in stream["parameters"] if parameter["in"] == "header"]
    assert [parameter["name"] for parameter in headers] == ["Last-Event-ID"]
    assert list(stream["responses"]["200"]["content"]) == ["text/event-stream"]
    assert {"401", "403", "406", "422"} <= set(stream["responses"])
    for status in ("401", "403", "406"):
        assert stream["responses"][status]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert stream["x-sse-events"] == {name: {"$ref": f"#/components/schemas/Ticker{kind}Frame"}
                                      for name, kind in (("item", "Item"), ("gap", "Gap"), ("error", "Error"))}


@pytest.mark.parametrize("component, file", [
    ("NewsEvent", "news-event.schema.json"),
    ("NewsEventInput", "news-event-input.schema.json"),
    ("Error", "error.schema.json"),
    ("Alert", "alert.schema.json"),
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
    # A correction goes out at once: no embargo.
    assert set(correction["properties"]) == set(request["properties"]) - REQUEST_ONLY_FIELDS
    for name, subschema in request["properties"].items():
        if name in REQUEST_ONLY_FIELDS:
            continue
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
    "alerts.ticker": (1, 3 * DAY_MS, ["delete"]),
    "deliveries.log": (12, 30 * DAY_MS, ["compact", "delete"]),
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
    assert {"news-event.schema.json", "news-enriched.schema.json", "deadletter.schema.json",
            "subscription-change.schema.json", "subscriber-change.schema.json", "channel-change.schema.json",
            "alert.schema.json", "ticker-item.schema.json"} <= files


def test_asyncapi_placeholders_name_their_future_schema_file():
    """Messages without a schema file yet say which file will describe them."""
    messages = load_schema("asyncapi.yaml")["components"]["messages"]
    for name, message in messages.items():
        payload = message["payload"]
        if "$ref" in payload or payload.get("type") == "null":
            continue
        if payload.get("oneOf") and all("$ref" in option for option in payload["oneOf"]):
            continue
        mentioned = re.search(r"schemas/([\w.-]+\.schema\.json)", payload.get("description", ""))
        assert mentioned, f"{name}: a placeholder payload should name its future schema file"


def test_asyncapi_topics_are_the_layout_newsalert_creates():
    """What `newsalert topics ensure` creates is what asyncapi.yaml documents."""
    found = {name: (topic["partitions"], topic.get("retention_ms"), topic["cleanup_policy"].split(","))
             for name, topic in topic_layout().items()}
    assert found == TOPICS


def changelog_messages() -> dict:
    """The messages of the subscriptions.changelog channel, resolved, by their name in the channel."""
    document = load_schema("asyncapi.yaml")
    channel = next(channel for channel in document["channels"].values() if channel["address"] == "subscriptions.changelog")
    return {name: resolve_pointer(document, message["$ref"]) if "$ref" in message else message
            for name, message in channel["messages"].items()}


def test_asyncapi_changelog_values_are_one_of_the_three_change_schemas():
    messages = list(changelog_messages().values())
    tombstones = [message for message in messages if message["payload"].get("type") == "null"]
    values = [message for message in messages if message["payload"].get("type") != "null"]
    assert len(tombstones) == 1 and len(values) == 1, "one message for values, one for tombstones"
    payload = values[0]["payload"]
    refs = sorted(option["$ref"] for option in payload["oneOf"])
    assert refs == sorted(f"./{name}" for name in CHANGELOG_SCHEMAS.values())
    # The payload, resolved like the files' own references: every example record is exactly one of the three.
    anchor = {"$schema": JSON_SCHEMA_DIALECT, "$id": load_schema("subscription-change.schema.json")["$id"].rsplit("/", 1)[0] + "/asyncapi.yaml",
              "oneOf": payload["oneOf"]}
    check = Draft202012Validator(anchor, registry=schema_registry(), format_checker=Draft202012Validator.FORMAT_CHECKER)
    for entity, example in CHANGELOG_EXAMPLES.items():
        assert list(check.iter_errors(example)) == [], entity
        assert list(check.iter_errors({**example, "entity": "nothing"})), entity
    assert list(check.iter_errors(None)), "a tombstone is not a value"


def test_asyncapi_changelog_keys_name_the_entity_by_prefix():
    for name, message in changelog_messages().items():
        key = message["bindings"]["kafka"]["key"]
        pattern = re.compile(key["pattern"])
        for prefix in CHANGELOG_ID_PREFIXES.values():
            assert pattern.search(prefix + "01jyh0000000000000000001"), f"{name}: key {prefix}… refused"
        for wrong in ("evt_01jyh0000000000000000001", "story-evt_x", "subscriber_beirut_desk", "sub_", ""):
            assert not pattern.search(wrong), f"{name}: key {wrong!r} accepted"
