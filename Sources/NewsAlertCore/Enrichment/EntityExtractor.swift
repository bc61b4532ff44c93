import Foundation

/// Finds people, organisations and places in text.
///
/// Rules, in order, over runs of capitalised words: a run containing an organisation cue word
/// ("Ministry", "Channel 12", "Journal", "Party") is an organisation up to that word; a title
/// ("Prime Minister", "President", "Sheikh") before a name makes a person; gazetteer names inside
/// a run give known people, organisations and places; other names of two or more words are people
/// when a role word precedes them ("spokesperson Sean Parnell") or a speech verb follows, else `.other`.
struct EntityExtractor: Sendable {
    /// An entity and why it was recognised.
    struct Found: Sendable {
        let entity: EntityMention
        let because: String
    }

    static let organisationCues: Set<String> = [
        "ministry", "department", "council", "agency", "party", "army", "forces", "brigades", "brigade", "journal", "times",
        "post", "channel", "committee", "commission", "organization", "organisation", "union", "bank", "corporation",
        "company", "court", "parliament", "assembly", "movement", "authority", "guard", "guards", "corps", "university",
        "institute", "fund", "office", "media", "network", "news", "federation", "league", "association", "senate",
        "congress", "government", "police", "navy", "command", "front", "tribunal", "service", "center", "centre",
        "foundation", "embassy", "cabinet",
    ]

    /// Titles that precede a person's name, as lowercase word sequences.
    static let titles: [[String]] = [
        "prime minister", "deputy prime minister", "foreign minister", "defense minister", "defence minister",
        "finance minister", "interior minister", "minister", "president", "vice president", "secretary of state",
        "secretary-general", "secretary general", "secretary", "general", "gen", "major general", "brigadier general",
        "sheikh", "sayyed", "king", "queen", "prince", "crown prince", "emir", "ayatollah", "chancellor", "senator",
        "speaker", "director general", "commander", "spokesperson", "spokesman", "pope", "pm", "mr", "mrs", "ms", "dr",
        "colonel", "imam", "leader",
    ].map { $0.split(separator: " ").map(String.init) }

    /// Lowercase words that introduce a person's name ("spokesperson Sean Parnell").
    static let roleWords: Set<String> = [
        "spokesperson", "spokesman", "spokeswoman", "chief", "leader", "candidate", "rival", "commander", "envoy",
        "ambassador", "adviser", "advisor", "correspondent", "official", "minister", "president", "secretary", "general",
        "head", "director", "journalist", "analyst", "lawmaker", "deputy", "premier", "mp", "senator", "governor", "mayor",
    ]

    static let speechVerbs: Set<String> = [
        "said", "says", "told", "stated", "added", "announced", "wrote", "warned", "stressed", "noted", "declared",
        "confirmed", "denied",
    ]

    /// Capitalised function words that start sentences, never names ("The", "For", "If").
    static let sentenceStarters: Set<String> = [
        "the", "a", "an", "for", "if", "in", "on", "at", "although", "but", "and", "this", "that", "these", "those", "it",
        "we", "our", "he", "she", "they", "his", "her", "their", "as", "after", "before", "when", "while", "there", "one",
        "two", "three", "reports", "with", "from", "by", "to", "of", "since", "during", "amid", "despite",
    ]

    /// Entities named in `tokens` (cut from `text`), given the gazetteer matches found in them.
    func extract(tokens: [TextToken], text: String, matches: [GazetteerMatch]) -> [Found] {
        let context = Context(tokens: tokens, text: text, matches: matches)
        return context.runs().flatMap { entities(in: $0, context) }
    }

    private func entities(in range: Range<Int>, _ context: Context) -> [Found] {
        var start = range.lowerBound
        while start < range.upperBound, context.match(at: start) == nil,
              EntityExtractor.sentenceStarters.contains(context.tokens[start].lowered) {
            start += 1
        }
        guard start < range.upperBound else { return [] }
        let range = start..<range.upperBound
        if let end = organisationEnd(in: range, context) {
            return [organisation(start..<end, context)] + entities(in: end..<range.upperBound, context)
        }
        if let (titleStart, titleLength) = title(in: range, context) {
            let qualifiers = knownEntities(in: range.lowerBound..<titleStart, context)
            return qualifiers + [person(titleStart..<range.upperBound, titleLength: titleLength, context)]
        }
        return knownEntities(in: range, context) + unknownNames(in: range, context)
    }

    /// Index after the last organisation cue in `range` (after "12" in "Channel 12"), or nil without a cue.
    private func organisationEnd(in range: Range<Int>, _ context: Context) -> Int? {
        let cue = range.last { index in
            let token = context.tokens[index]
            return (token.isCapitalized && EntityExtractor.organisationCues.contains(token.lowered))
                || context.match(at: index)?.entry.kind == .organisation
        }
        guard let cue else { return nil }
        var end = context.match(at: cue).map { min($0.tokenRange.upperBound, range.upperBound) } ?? cue + 1
        if end < range.upperBound, context.tokens[end].isNumeric { end += 1 }
        // A known organisation alone is reported by `knownEntities`; here only names built around a cue word.
        if let match = context.match(at: range.lowerBound), match.tokenRange == range.lowerBound..<end { return nil }
        return end
    }

    /// Start and length of a title followed by a capitalised name, when only known names precede it.
    private func title(in range: Range<Int>, _ context: Context) -> (start: Int, length: Int)? {
        var index = range.lowerBound
        while index < range.upperBound {
            for title in EntityExtractor.titles.sorted(by: { $0.count > $1.count }) {
                let end = index + title.count
                guard end < range.upperBound, context.tokens[index].isCapitalized,
                      context.tokens[index..<end].map(\.lowered) == title,
                      context.tokens[end].isCapitalized else { continue }
                return (index, title.count)
            }
            guard let match = context.match(at: index) else { return nil }
            index = match.tokenRange.upperBound
        }
        return nil
    }

    private func organisation(_ range: Range<Int>, _ context: Context) -> Found {
        let name = context.text(of: range)
        let known = context.matches(in: range).first { $0.entry.kind == .organisation }
        let country = known?.entry.country ?? context.matches(in: range).first { $0.entry.kind == .demonym || $0.entry.kind == .country }?.entry.country
        let cue = range.last { EntityExtractor.organisationCues.contains(context.tokens[$0].lowered) }.map { context.tokens[$0].text }
        var because = cue.map { "organisation cue word '\($0)' in a capitalised name" } ?? "known organisation"
        if let known { because += "; includes \(Enricher.describe(known))" }
        return Found(entity: EntityMention(name: name, kind: .organisation, canonical: known?.text == name ? known?.entry.canonical : nil, country: country), because: because)
    }

    private func person(_ range: Range<Int>, titleLength: Int, _ context: Context) -> Found {
        let title = context.text(of: range.lowerBound..<(range.lowerBound + titleLength))
        let known = context.matches(in: range).first { $0.entry.kind == .person }
        var because = "title '\(title)' before a capitalised name"
        if let known { because += "; known person \(known.entry.canonical) via \(Enricher.describe(known))" }
        let entity = EntityMention(name: context.text(of: range), kind: .person, canonical: known?.entry.canonical, country: known?.entry.country)
        return Found(entity: entity, because: because)
    }

    /// People, organisations and places the gazetteer knows inside `range` (demonyms are not entities).
    private func knownEntities(in range: Range<Int>, _ context: Context) -> [Found] {
        context.matches(in: range).compactMap { match in
            let entry = match.entry
            let kind: EntityMention.Kind
            switch entry.kind {
            case .person: kind = .person
            case .organisation: kind = .organisation
            case .demonym: return nil
            case .country, .area, .city, .town, .district: kind = .place
            }
            let entity = EntityMention(name: match.text, kind: kind, canonical: entry.canonical, country: entry.country)
            return Found(entity: entity, because: "known \(kind.rawValue) \(Enricher.describe(match))")
        }
    }

    /// Runs of capitalised words the gazetteer does not know: people after a role word or before a speech verb.
    private func unknownNames(in range: Range<Int>, _ context: Context) -> [Found] {
        var groups: [Range<Int>] = []
        var index = range.lowerBound
        while index < range.upperBound {
            guard context.match(at: index) == nil, context.tokens[index].isCapitalized else { index += 1; continue }
            var end = index + 1
            while end < range.upperBound, context.match(at: end) == nil, context.tokens[end].isCapitalized { end += 1 }
            groups.append(index..<end)
            index = end
        }
        return groups.compactMap { group in
            let before = group.lowerBound > 0 ? context.tokens[group.lowerBound - 1].lowered : ""
            let after = group.upperBound < context.tokens.count ? context.tokens[group.upperBound].lowered : ""
            let name = context.text(of: group)
            if EntityExtractor.roleWords.contains(before) {
                return Found(entity: EntityMention(name: name, kind: .person), because: "capitalised name after role word '\(before)'")
            }
            if EntityExtractor.speechVerbs.contains(after), group.count >= 2 {
                return Found(entity: EntityMention(name: name, kind: .person), because: "capitalised name before speech verb '\(after)'")
            }
            guard group.count >= 2 else { return nil }
            return Found(entity: EntityMention(name: name, kind: .other), because: "capitalised name of unknown type")
        }
    }
}

extension EntityExtractor {
    /// Tokens, text and gazetteer matches of one passage, indexed by token.
    struct Context {
        let tokens: [TextToken]
        let text: String
        private let matchByToken: [Int: GazetteerMatch]
        private let allMatches: [GazetteerMatch]

        init(tokens: [TextToken], text: String, matches: [GazetteerMatch]) {
            self.tokens = tokens
            self.text = text
            allMatches = matches
            var byToken: [Int: GazetteerMatch] = [:]
            for match in matches {
                for index in match.tokenRange { byToken[index] = match }
            }
            matchByToken = byToken
        }

        func match(at index: Int) -> GazetteerMatch? { matchByToken[index] }

        func matches(in range: Range<Int>) -> [GazetteerMatch] {
            allMatches.filter { range.contains($0.tokenRange.lowerBound) }
        }

        func text(of range: Range<Int>) -> String {
            String(text[tokens[range.lowerBound].range.lowerBound..<tokens[range.upperBound - 1].textRange.upperBound])
        }

        /// Maximal runs of name words: capitalised or gazetteer words, joined by "of", "of the", "for"
        /// between names, and a number after "Channel"; punctuation and possessives end a run.
        func runs() -> [Range<Int>] {
            var runs: [Range<Int>] = []
            var start = 0
            while start < tokens.count {
                guard isNameWord(start) else { start += 1; continue }
                var end = start + 1
                while end < tokens.count, let step = continuation(at: end) { end += step }
                runs.append(start..<end)
                start = end
            }
            return runs
        }

        private func isNameWord(_ index: Int) -> Bool {
            tokens[index].isCapitalized || matchByToken[index] != nil
        }

        /// How many tokens at `index` continue the run that ends before it, or nil when the run stops.
        private func continuation(at index: Int) -> Int? {
            if let match = matchByToken[index], matchByToken[index - 1] == match { return 1 }
            let previous = tokens[index - 1]
            if tokens[index].followsPunctuation || previous.isPossessive { return nil }
            if isNameWord(index) { return 1 }
            if tokens[index].isNumeric, previous.lowered == "channel" { return 1 }
            // "Ministry of Health", "Times of Israel"; not "Lee Jae-myung of the Democratic Party".
            guard matchByToken[index - 1]?.entry.kind != .person else { return nil }
            for connector in [["of", "the"], ["of"], ["for"]] {
                let next = index + connector.count
                guard next < tokens.count, tokens[index..<next].map(\.lowered) == connector,
                      !tokens[next].followsPunctuation, isNameWord(next) else { continue }
                return connector.count
            }
            return nil
        }
    }
}
