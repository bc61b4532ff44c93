import Foundation

/// What enrichment derived from one news event, with a reason for every tag it added.
public struct Enrichment: Codable, Sendable, Hashable {
    public var eventId: String
    /// The newsroom's section, else one inferred from cue words.
    public var section: NewsSection
    /// The newsroom's regions, then the regions implied by countries and places.
    public var regions: [NewsRegion]
    /// ISO 3166-1 alpha-2 codes of the countries the item concerns, in order of first mention.
    public var countries: [String]
    /// Named locations (countries, areas, cities, towns).
    public var places: [PlaceMention]
    /// People, organisations and places named in the item.
    public var entities: [EntityMention]
    /// The newsroom's urgency, else one inferred (see `UrgencyClassifier` for the scale).
    public var urgency: Urgency
    /// Estimated reading time at 230 words a minute; nil for breaking lines.
    public var readingTimeSeconds: Int?
    /// BCP 47 language tag: the newsroom's, else detected ("und" when undetermined).
    public var language: String
    /// The attribution prefix stripped from the headline ("Al Mayadeen's correspondent in South Lebanon").
    public var source: String?
    /// The person quoted when the attribution is a speaker ("Naeini" in "Naeini: …").
    public var speaker: String?
    /// The headline without its attribution prefix.
    public var headline: String
    /// The analysed text: headline without attribution, then summary and body.
    public var text: String
    /// One reason per value set or added.
    public var reasons: [EnrichmentReason]

    public init(
        eventId: String, section: NewsSection, regions: [NewsRegion], countries: [String], places: [PlaceMention],
        entities: [EntityMention], urgency: Urgency, readingTimeSeconds: Int?, language: String, source: String?,
        speaker: String?, headline: String, text: String, reasons: [EnrichmentReason]
    ) {
        self.eventId = eventId
        self.section = section
        self.regions = regions
        self.countries = countries
        self.places = places
        self.entities = entities
        self.urgency = urgency
        self.readingTimeSeconds = readingTimeSeconds
        self.language = language
        self.source = source
        self.speaker = speaker
        self.headline = headline
        self.text = text
        self.reasons = reasons
    }

    /// Reasons given for one field.
    public func reasons(for field: String) -> [EnrichmentReason] {
        reasons.filter { $0.field == field }
    }

    enum CodingKeys: String, CodingKey {
        case eventId = "event_id"
        case section, regions, countries, places, entities, urgency
        case readingTimeSeconds = "reading_time_seconds"
        case language, source, speaker, headline, text, reasons
    }
}
