#!/usr/bin/env python3
"""Checks the wire corpus (tuning.jsonl, test.jsonl) and prints its counts.

Standard library only. Run from anywhere:  python3 Tests/Fixtures/wire-corpus/check_corpus.py
Exits 1, listing every problem, when the corpus breaks a rule below.
"""
import json
import os
import re
import sys
from collections import Counter, defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
PARTS = ("tuning", "test")

# NewsSection and NewsRegion raw values (Sources/NewsAlertCore/Events/NewsTaxonomy.swift).
SECTIONS = ["Politics", "Economy", "Sports", "Arts&Culture", "Health", "Miscellaneous", "Technology", "Environment"]
REGIONS = ["Africa", "Asia", "Asia-Pacific", "Europe", "Latin America", "MENA", "Palestine", "US & Canada"]

# RegionMap.swift (Sources/NewsAlertCore/Enrichment): the regions each country implies, and their display order.
DISPLAY_ORDER = ["Palestine", "MENA", "US & Canada", "Europe", "Latin America", "Africa", "Asia", "Asia-Pacific"]
_EAST_SE_ASIA = "CN HK JP KP KR MN MO TW BN ID KH LA MM MY PH SG TH TL VN"
REGION_MEMBERS = {
    "Palestine": "PS",
    "MENA": "AE BH DZ EG EH IL IQ IR JO KW LB LY MA MR OM PS QA SA SD SY TN TR YE",
    "Africa": "AO BF BI BJ BW CD CF CG CI CM CV DJ DZ EG EH ER ET GA GH GM GN GQ GW KE KM LR LS LY MA MG ML MR MU MW MZ "
              "NA NE NG RE RW SC SD SH SL SN SO SS ST SZ TD TG TN TZ UG YT ZA ZM ZW",
    "Asia": _EAST_SE_ASIA + " AF BD BT IN IO KG KZ LK MV NP PK TJ TM UZ AM AZ GE RU",
    "Asia-Pacific": _EAST_SE_ASIA + " AU NZ AS CC CK CX FJ FM GU KI MH MP NC NF NR NU PF PG PN PW SB TK TO TV UM VU WF WS",
    "Europe": "AD AL AT AX BA BE BG BY CH CY CZ DE DK EE ES FI FO FR GB GG GI GL GR HR HU IE IM IS IT JE LI LT LU LV MC MD "
              "ME MK MT NL NO PL PT RO RS RU SE SI SJ SK SM UA VA AM AZ GE TR",
    "Latin America": "AG AI AR AW BB BL BM BO BQ BR BS BZ CL CO CR CU CW DM DO EC FK GD GF GP GS GT GY HN HT JM KN KY LC MF MQ MS "
                     "MX NI PA PE PR PY SR SV SX TC TT UY VC VE VG VI",
    "US & Canada": "US CA PM PR VI",
}
REGION_MEMBERS = {r: set(codes.split()) for r, codes in REGION_MEMBERS.items()}

# ISO 3166-1 alpha-2, all 249 assigned codes.
ISO_ALPHA2 = set("""
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD
CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF
GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN
KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA
NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI
SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
VN VU WF WS YE YT ZA ZM ZW""".split())
assert len(ISO_ALPHA2) == 249

# Places of the newsroom seed page and the labelled pairs: the corpus must name none of them.
SEED_PLACES = [
    "Gaza", "Rafah", "Khan Younis", "Mawasi", "Beit Hanoun", "Jenin", "Tulkarm", "Tubas", "West Bank",
    "Kawnin", "Mahrouna", "Jwayya", "Aitaroun", "Bint Jbeil", "Khiam", "Naqoura", "Yaroun", "Marwahin", "Metula",
    "Kiryat Shmona", "Dahiyeh", "Beirut", "South Lebanon", "Quneitra", "Damascus", "Mezzeh", "Latakia", "Haifa",
    "Tel Aviv", "Jaffa", "Ben Gurion", "Bandar Abbas", "Isfahan", "Natanz", "Fordow", "Tehran", "Hormuz", "Moscow",
    "Vnukovo", "Kyiv", "Kharkiv", "Crete", "Athens", "Cairo", "Malatya", "Port Sudan", "Sanaa", "Washington",
    "Seoul", "Guam", "Yeoncheon", "Imjin", "Vienna",
]
SEED_FILES = [
    os.path.join(HERE, "..", "newsroom-front-page.txt"),
    os.path.join(HERE, "..", "..", "..", "Sources", "NewsAlertCore", "Resources", "labelled-pairs.jsonl"),
]

MIN_LINES, MIN_STORIES, MIN_TRAP_PAIRS, MAX_STORY_LINES = 520, 160, 25, 8
KEYS = {"story", "minutes", "headline", "section", "regions", "countries"}
OPTIONAL_KEYS = {"trap"}
STORY_ID = re.compile(r"^t-\d{3}$")
TRAP_REF = re.compile(r"\bt-\d{3}\b")


def implied_regions(countries):
    return {r for c in countries for r, members in REGION_MEMBERS.items() if c in members}


def load(part, problems):
    path = os.path.join(HERE, part + ".jsonl")
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, text in enumerate(f, 1):
            where = f"{part}.jsonl:{n}"
            if not text.strip():
                problems.append(f"{where}: blank line")
                continue
            try:
                row = json.loads(text)
            except json.JSONDecodeError as e:
                problems.append(f"{where}: not JSON ({e})")
                continue
            if not isinstance(row, dict):
                problems.append(f"{where}: not an object")
                continue
            missing, unknown = KEYS - row.keys(), row.keys() - KEYS - OPTIONAL_KEYS
            if missing or unknown:
                problems.append(f"{where}: missing {sorted(missing)} unknown {sorted(unknown)}")
                continue
            story, minutes, headline = row["story"], row["minutes"], row["headline"]
            section, regions, countries = row["section"], row["regions"], row["countries"]
            if not isinstance(story, str) or not STORY_ID.match(story):
                problems.append(f"{where}: story id {story!r} is not t-NNN")
            if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or minutes < 0:
                problems.append(f"{where}: minutes {minutes!r} is not a number >= 0")
            if not isinstance(headline, str) or not headline.strip() or headline != headline.strip():
                problems.append(f"{where}: headline empty or padded")
            if section not in SECTIONS:
                problems.append(f"{where}: section {section!r} is not one of {SECTIONS}")
            if not isinstance(regions, list) or any(r not in REGIONS for r in regions) or len(set(regions)) != len(regions):
                problems.append(f"{where}: regions {regions!r} not distinct taxonomy regions")
            elif regions != sorted(regions, key=DISPLAY_ORDER.index):
                problems.append(f"{where}: regions {regions} not in RegionMap display order")
            if not isinstance(countries, list) or any(c not in ISO_ALPHA2 for c in countries) or len(set(countries)) != len(countries):
                problems.append(f"{where}: countries {countries!r} not distinct ISO 3166-1 alpha-2 codes")
            elif isinstance(regions, list):
                lacking = implied_regions(countries) - set(regions)
                if lacking:
                    problems.append(f"{where}: regions {regions} lack {sorted(lacking)} implied by {countries}")
            if "trap" in row and (not isinstance(row["trap"], str) or not TRAP_REF.search(row["trap"])):
                problems.append(f"{where}: trap note names no story id")
            rows.append((n, row))
    return rows


def summarise(part, rows, problems):
    by_story = defaultdict(list)
    last = -1.0
    for n, row in rows:
        if isinstance(row["minutes"], (int, float)):
            if row["minutes"] < last:
                problems.append(f"{part}.jsonl:{n}: minutes go back ({row['minutes']} after {last})")
            last = max(last, row["minutes"])
        by_story[row["story"]].append(row)
    trap_pairs, repeats = set(), 0
    for story, lines in by_story.items():
        if not 1 <= len(lines) <= MAX_STORY_LINES:
            problems.append(f"{part}: story {story} has {len(lines)} lines, not 1 to {MAX_STORY_LINES}")
        if len({l["section"] for l in lines}) != 1:
            problems.append(f"{part}: story {story} has more than one section")
        if len({l.get("trap") for l in lines}) != 1:
            problems.append(f"{part}: story {story} has differing trap notes")
        heads = Counter(l["headline"] for l in lines)
        repeats += sum(c - 1 for c in heads.values())
        for ref in TRAP_REF.findall(lines[0].get("trap", "")):
            if ref == story or ref not in by_story:
                problems.append(f"{part}: story {story} trap note names {ref}, not another story of this part")
            else:
                trap_pairs.add(frozenset((story, ref)))
    # A trap note should be answered by its partner.
    for pair in trap_pairs:
        a, b = sorted(pair)
        if b not in by_story[a][0].get("trap", "") or a not in by_story[b][0].get("trap", ""):
            problems.append(f"{part}: trap pair {a}/{b} is noted on one side only")
    all_rows = [r for _, r in rows]
    return {
        "stories": len(by_story),
        "lines": len(rows),
        "mean lines per story": round(len(rows) / max(len(by_story), 1), 2),
        "single-line stories": sum(1 for l in by_story.values() if len(l) == 1),
        "trap pairs": len(trap_pairs),
        "exact repeats": repeats,
        "lines naming no place": sum(1 for r in all_rows if not r["countries"] and not r["regions"]),
        "stream span (days)": round(last / 1440, 1),
        "sections": Counter(l[0]["section"] for l in by_story.values()),
        "regions": Counter(r for row in all_rows for r in row["regions"]),
        "_ids": set(by_story),
        "_headlines": [r["headline"] for r in all_rows],
    }


def check_seed(headlines, problems):
    seed_lines = set()
    for path in SEED_FILES:
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8") as f:
            for text in f:
                text = text.strip()
                if path.endswith(".jsonl") and text:
                    pair = json.loads(text)
                    seed_lines.update(pair.get(k, "").strip() for k in ("a", "b"))
                elif text:
                    seed_lines.add(text)
    pattern = re.compile(r"\b(" + "|".join(re.escape(p) for p in SEED_PLACES) + r")\b", re.IGNORECASE)
    for h in sorted(set(headlines)):
        if h in seed_lines:
            problems.append(f"headline copied from the seed: {h!r}")
        m = pattern.search(h)
        if m:
            problems.append(f"headline names seed place {m.group(1)!r}: {h!r}")


def main():
    problems = []
    stats = {}
    for part in PARTS:
        stats[part] = summarise(part, load(part, problems), problems)
    shared = stats["tuning"]["_ids"] & stats["test"]["_ids"]
    if shared:
        problems.append(f"story ids in both parts: {sorted(shared)}")
    total = {k: stats["tuning"][k] + stats["test"][k] for k in ("stories", "lines", "trap pairs", "exact repeats")}
    if total["lines"] < MIN_LINES:
        problems.append(f"{total['lines']} lines in all, fewer than {MIN_LINES}")
    if total["stories"] < MIN_STORIES:
        problems.append(f"{total['stories']} stories in all, fewer than {MIN_STORIES}")
    if total["trap pairs"] < MIN_TRAP_PAIRS:
        problems.append(f"{total['trap pairs']} trap pairs in all, fewer than {MIN_TRAP_PAIRS}")
    for part in PARTS:
        s = stats[part]
        for name in SECTIONS:
            if not s["sections"][name]:
                problems.append(f"{part}: no story in section {name}")
        for name in REGIONS:
            if not s["regions"][name]:
                problems.append(f"{part}: no line in region {name}")
        for key in ("exact repeats", "single-line stories", "trap pairs"):
            if not s[key]:
                problems.append(f"{part}: no {key}")
    check_seed(stats["tuning"]["_headlines"] + stats["test"]["_headlines"], problems)

    share = stats["tuning"]["stories"] / max(total["stories"], 1)
    for part in PARTS:
        s = stats[part]
        print(f"{part}:")
        for key in ("stories", "lines", "mean lines per story", "single-line stories", "trap pairs", "exact repeats",
                    "lines naming no place", "stream span (days)"):
            print(f"  {key}: {s[key]}")
        print("  stories per section: " + ", ".join(f"{n} {s['sections'][n]}" for n in SECTIONS))
        print("  lines per region: " + ", ".join(f"{n} {s['regions'][n]}" for n in REGIONS))
    print(f"total: {total['stories']} stories ({share:.0%} tuning), {total['lines']} lines, "
          f"{total['trap pairs']} trap pairs, {total['exact repeats']} exact repeats")
    if problems:
        print(f"\n{len(problems)} problem(s):")
        for p in problems:
            print("  " + p)
        return 1
    print("corpus OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
