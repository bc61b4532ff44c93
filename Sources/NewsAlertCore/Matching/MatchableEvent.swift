/// The facts of an enriched news event that subscription rules look at.
///
/// Built from an enriched event by the fan-out stage; matching never needs the rest of the event.
public struct MatchableEvent: Codable, Sendable, Hashable {
    public var eventID: String
    public var storyID: String
    public var kind: NewsKind
    public var sections: [NewsSection]
    public var regions: [NewsRegion]
    /// ISO 3166-1 alpha-2 codes.
    public var countries: [String]
    public var tags: [String]
    /// Names of people, organisations and places, as rules name them (e.g. canonical names).
    public var entities: [String]
    public var urgency: Urgency
    /// Headline, summary and body, for keyword queries.
    public var text: String

    public init(
        eventID: String, storyID: String, kind: NewsKind, sections: [NewsSection] = [], regions: [NewsRegion] = [],
        countries: [String] = [], tags: [String] = [], entities: [String] = [], urgency: Urgency, text: String
    ) {
        self.eventID = eventID
        self.storyID = storyID
        self.kind = kind
        self.sections = sections
        self.regions = regions
        self.countries = countries
        self.tags = tags
        self.entities = entities
        self.urgency = urgency
        self.text = text
    }

    enum CodingKeys: String, CodingKey {
        case eventID = "event_id"
        case storyID = "story_id"
        case kind, sections, regions, countries, tags, entities, urgency, text
    }
}
