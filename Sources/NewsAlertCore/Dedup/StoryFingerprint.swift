import Foundation

/// What story matching needs to know about one item, derived from its enrichment and small enough to persist.
public struct StoryFingerprint: Codable, Sendable, Hashable {
    /// A named location, with the enclosing places that let "Kawnin" match "South Lebanon".
    public struct Place: Codable, Sendable, Hashable {
        public var name: String
        /// True for cities and towns: two items naming different ones report different events.
        public var isSpecific: Bool
        public var isArea: Bool
        public var within: [String]

        /// True when the places are the same or one encloses the other.
        func isRelated(to other: Place) -> Bool {
            name == other.name || within.contains(other.name) || other.within.contains(name)
        }

        enum CodingKeys: String, CodingKey {
            case name
            case isSpecific = "is_specific"
            case isArea = "is_area"
            case within
        }
    }

    /// Hash of the folded analysed text (and the speaker, so "Trump: Yes" and "Putin: Yes" differ).
    public var exactKey: String
    /// Content terms of the headline plus `#n` for each number, `@CC` for each country and `%key` for each person or organisation.
    public var terms: [String]
    /// Content words of the headline alone, for measuring new wording.
    public var words: [String]
    public var numbers: [String]
    /// Fact concepts (killed, injured, strike, …) the headline reports.
    public var facts: [String]
    public var places: [Place]
    /// Countries of the named places: where the story happens (demonyms and people excluded).
    public var locationCountries: [String]
    /// Match keys of the people and organisations in the report (outlets and speakers in the attribution excluded).
    public var entities: [String]
    /// The quoted speaker, lowercased, for items like "Naeini: …".
    public var speaker: String?

    /// Derives the fingerprint of an enriched item.
    public init(enrichment: Enrichment) {
        let speakerKey = enrichment.speaker?.lowercased()
        exactKey = StableHash.hex((speakerKey.map { $0 + "|" } ?? "") + TextNormalizer.folded(enrichment.text))
        let tokens = TextToken.tokenize(enrichment.headline)
        let words = Set(TextNormalizer.terms(tokens))
        // The speaker is matched by the quote-burst rule, not as a shared term: otherwise every short quote
        // from one person would look alike however far apart in time.
        let entities = enrichment.entities.filter { entity in
            (entity.kind == .person || entity.kind == .organisation) && !entity.inAttribution
        }
        self.words = words.sorted()
        self.entities = Array(Set(entities.map(\.matchKey))).sorted()
        numbers = Array(Set(TextNormalizer.numbers(tokens))).sorted()
        terms = words
            .union(numbers.map { "#" + $0 })
            .union(enrichment.countries.map { "@" + $0 })
            .union(self.entities.map { "%" + $0 })
            .sorted()
        facts = words.intersection(TextNormalizer.factConcepts).sorted()
        places = enrichment.places.map {
            Place(name: $0.name, isSpecific: $0.kind.isSpecificPlace, isArea: $0.kind == .area, within: $0.within)
        }
        locationCountries = Array(Set(enrichment.places.compactMap(\.country))).sorted()
        speaker = speakerKey
    }

    enum CodingKeys: String, CodingKey {
        case exactKey = "exact_key"
        case terms, words, numbers, facts, places
        case locationCountries = "location_countries"
        case entities, speaker
    }
}
