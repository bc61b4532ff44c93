import Foundation

/// Derives section, regions, countries, places, entities, urgency, reading time and language from a news event.
///
/// Pure: no I/O. The attribution prefix ("Israeli media:") is stripped before analysis and kept as the
/// source; places named inside it still count for geography, demonyms there do not (they describe the
/// outlet, not the story). Every value set or added comes with a reason.
public struct Enricher: Sendable {
    /// Reading speed used for `readingTimeSeconds`.
    public static let wordsPerMinute = 230.0

    public let gazetteer: Gazetteer
    private let entityExtractor = EntityExtractor()
    private let sectionClassifier = SectionClassifier()
    private let urgencyClassifier = UrgencyClassifier()
    private let languageDetector = LanguageDetector()

    /// Attribution words that mark a prefix as an outlet or reporter, not a quoted speaker.
    private static let nonSpeakerWords: Set<String> = EntityExtractor.organisationCues.union([
        "correspondent", "source", "sources", "report", "reports", "official", "officials", "reporter", "press",
        "statement", "spokesperson", "spokesman",
    ])

    public init(gazetteer: Gazetteer) {
        self.gazetteer = gazetteer
    }

    /// Enriches one event.
    public func enrich(_ event: NewsEvent) -> Enrichment {
        let attribution = Attribution(headline: event.headline)
        let report = Passage(text: [attribution.report, event.summary, event.body]
            .compactMap { $0?.trimmingCharacters(in: .whitespacesAndNewlines) }
            .filter { !$0.isEmpty }
            .joined(separator: "\n\n"), inAttribution: false, gazetteer: gazetteer)
        let prefix = Passage(text: attribution.source ?? "", inAttribution: true, gazetteer: gazetteer)
        let words = report.tokens.map(\.lowered)

        var reasons: [EnrichmentReason] = []
        if let source = attribution.source {
            reasons.append(EnrichmentReason(field: "source", value: source, because: "attribution prefix before ':' stripped from the headline"))
        }
        let speaker = self.speaker(in: prefix)
        let places = self.places(in: [prefix, report], reasons: &reasons)
        let countries = self.countries(in: [prefix, report], reasons: &reasons)
        let regions = self.regions(newsroom: event.regions, countries: countries, passages: [prefix, report], reasons: &reasons)
        let entities = self.entities(speaker: speaker, passages: [prefix, report], reasons: &reasons)

        let section: NewsSection
        if let newsroomSection = event.section {
            section = newsroomSection
            reasons.append(EnrichmentReason(field: "section", value: section.rawValue, because: "set by the newsroom"))
        } else {
            let inferred = sectionClassifier.classify(words)
            section = inferred.section
            let because = inferred.cues.isEmpty
                ? "no section cue words; default Miscellaneous"
                : "\(inferred.cues.count) \(section.rawValue) cue words: \(Quoted.list(inferred.cues))"
            reasons.append(EnrichmentReason(field: "section", value: section.rawValue, because: because))
        }

        let urgency: Urgency
        if let newsroomUrgency = event.urgency {
            urgency = newsroomUrgency
            reasons.append(EnrichmentReason(field: "urgency", value: String(urgency.rawValue), because: "set by the newsroom"))
        } else {
            let inferred = urgencyClassifier.classify(label: attribution.label, kind: event.kind, words: words)
            urgency = inferred.urgency
            reasons.append(EnrichmentReason(field: "urgency", value: String(urgency.rawValue), because: inferred.because))
        }

        let language: String
        if let newsroomLanguage = event.language, !newsroomLanguage.isEmpty {
            language = newsroomLanguage
            reasons.append(EnrichmentReason(field: "language", value: language, because: "set by the newsroom"))
        } else {
            let detected = languageDetector.detect(report.text)
            language = detected.tag
            reasons.append(EnrichmentReason(field: "language", value: language, because: detected.because))
        }

        var readingTime: Int?
        if event.kind != .breaking {
            let seconds = Int((Double(report.tokens.count) * 60 / Enricher.wordsPerMinute).rounded(.up))
            readingTime = seconds
            reasons.append(EnrichmentReason(field: "reading_time_seconds", value: String(seconds), because: "\(report.tokens.count) words at \(Int(Enricher.wordsPerMinute)) words a minute"))
        }

        return Enrichment(
            eventId: event.id, section: section, regions: regions, countries: countries, places: places, entities: entities,
            urgency: urgency, readingTimeSeconds: readingTime, language: language, source: attribution.source,
            speaker: speaker?.entity.name, headline: attribution.report, text: report.text, reasons: reasons
        )
    }

    /// "'South Lebanon' [supplement: area of Lebanon]", with the canonical name when it differs from the words.
    static func describe(_ match: GazetteerMatch) -> String {
        let canonical = match.entry.canonical == match.text ? "" : " (\(match.entry.canonical))"
        return "'\(match.text)'\(canonical) [\(match.entry.source)]"
    }

    // MARK: - Geography

    private func places(in passages: [Passage], reasons: inout [EnrichmentReason]) -> [PlaceMention] {
        var places: [PlaceMention] = []
        for passage in passages {
            for match in passage.matches where match.entry.kind.isLocation && !places.contains(where: { $0.name == match.entry.canonical }) {
                let entry = match.entry
                let within = gazetteer.enclosingPlaces(of: entry)
                places.append(PlaceMention(name: entry.canonical, kind: entry.kind, country: entry.country, within: within, mentionedAs: match.text, inAttribution: passage.inAttribution))
                let country = entry.country.map { " in \($0) (\(gazetteer.countryName($0)))" } ?? ""
                let enclosing = within.first.map { ", within \($0)" } ?? ""
                reasons.append(EnrichmentReason(field: "places", value: entry.canonical, because: "\(entry.kind.rawValue)\(country)\(enclosing) via \(Enricher.describe(match))\(passage.note)"))
            }
        }
        return places
    }

    private func countries(in passages: [Passage], reasons: inout [EnrichmentReason]) -> [String] {
        var countries: [String] = []
        for passage in passages {
            for match in passage.matches {
                guard let code = match.entry.country, !countries.contains(code) else { continue }
                // In the attribution, a demonym describes the outlet ("Israeli media"), not where the story is.
                if passage.inAttribution, match.entry.kind == .demonym { continue }
                countries.append(code)
                reasons.append(EnrichmentReason(field: "countries", value: code, because: "\(gazetteer.countryName(code)) via \(match.entry.kind.rawValue) \(Enricher.describe(match))\(passage.note)"))
            }
        }
        return countries
    }

    private func regions(newsroom: [NewsRegion], countries: [String], passages: [Passage], reasons: inout [EnrichmentReason]) -> [NewsRegion] {
        var regions: [NewsRegion] = []
        for region in newsroom where !regions.contains(region) {
            regions.append(region)
            reasons.append(EnrichmentReason(field: "regions", value: region.rawValue, because: "set by the newsroom"))
        }
        let mentions = passages.flatMap { passage in passage.matches.map { (match: $0, passage: passage) } }
        for code in countries {
            let first = mentions.first { $0.match.entry.country == code && !($0.passage.inAttribution && $0.match.entry.kind == .demonym) }
            let via = first.map { " via \(Enricher.describe($0.match))\($0.passage.note)" } ?? ""
            for region in RegionMap.regions(forCountry: code) where !regions.contains(region) {
                regions.append(region)
                reasons.append(EnrichmentReason(field: "regions", value: region.rawValue, because: "country \(code) (\(gazetteer.countryName(code)))\(via)"))
            }
        }
        for (match, passage) in mentions where match.entry.country == nil {
            for region in match.entry.regions where !regions.contains(region) {
                regions.append(region)
                reasons.append(EnrichmentReason(field: "regions", value: region.rawValue, because: "\(match.entry.kind.rawValue) \(Enricher.describe(match))\(passage.note)"))
            }
        }
        return regions
    }

    // MARK: - Entities

    /// The quoted speaker of a prefix like "Naeini:" or "Sheikh Qassem:": a known person, or one to three
    /// capitalised words that are neither gazetteer names nor outlet words.
    private func speaker(in prefix: Passage) -> EntityExtractor.Found? {
        let tokens = prefix.tokens
        var offset = 0
        while let title = EntityExtractor.titles.first(where: { title in
            offset + title.count < tokens.count && tokens[offset..<(offset + title.count)].map(\.lowered) == title
        }) {
            offset += title.count
        }
        let nameRange = offset..<tokens.count
        guard !nameRange.isEmpty else { return nil }
        let names = tokens[nameRange]
        let covering = prefix.matches.filter { $0.tokenRange.overlaps(nameRange) }
        if covering.count == 1, let match = covering.first, match.entry.kind == .person, match.tokenRange == nameRange {
            let entity = EntityMention(name: prefix.text, kind: .person, canonical: match.entry.canonical, country: match.entry.country, inAttribution: true)
            return EntityExtractor.Found(entity: entity, because: "speaker quoted in '\(prefix.text):'; known person \(Enricher.describe(match))")
        }
        guard covering.isEmpty, (1...3).contains(names.count), names.allSatisfy(\.isCapitalized),
              !names.contains(where: { Enricher.nonSpeakerWords.contains($0.lowered) }) else { return nil }
        return EntityExtractor.Found(entity: EntityMention(name: prefix.text, kind: .person, inAttribution: true), because: "speaker quoted in '\(prefix.text):' (capitalised name)")
    }

    private func entities(speaker: EntityExtractor.Found?, passages: [Passage], reasons: inout [EnrichmentReason]) -> [EntityMention] {
        var found: [(item: EntityExtractor.Found, passage: Passage?)] = speaker.map { [($0, nil)] } ?? []
        for passage in passages {
            found += entityExtractor.extract(tokens: passage.tokens, text: passage.text, matches: passage.matches).map { ($0, passage) }
        }
        var entities: [EntityMention] = []
        var keys = Set<String>()
        for (item, passage) in found where keys.insert(item.entity.matchKey).inserted {
            var entity = item.entity
            entity.inAttribution = entity.inAttribution || passage?.inAttribution == true
            entities.append(entity)
            reasons.append(EnrichmentReason(field: "entities", value: entity.name, because: "\(entity.kind.rawValue): \(item.because)\(passage?.note ?? "")"))
        }
        return entities
    }
}

extension Enricher {
    /// A piece of text with its tokens and gazetteer matches.
    struct Passage: Sendable {
        let text: String
        let inAttribution: Bool
        let tokens: [TextToken]
        let matches: [GazetteerMatch]

        init(text: String, inAttribution: Bool, gazetteer: Gazetteer) {
            self.text = text
            self.inAttribution = inAttribution
            tokens = TextToken.tokenize(text)
            matches = gazetteer.matches(in: tokens, of: text)
        }

        /// Suffix for reasons about mentions in this passage.
        var note: String { inAttribution ? ", in the attribution" : "" }
    }
}
