/// One line of the live ticker: the value of a record on `alerts.ticker` (one partition, so its offset is the
/// ticker position). Every enriched event becomes one item; `audience` lists the subscribers whose ticker channel
/// the event matched, so one record serves anonymous viewers and every subscriber.
public struct TickerItem: Codable, Sendable, Hashable {
    public var type: Alert.AlertType
    public var story: Alert.Story
    public var event: Alert.Event
    public var audience: [String]

    public init(type: Alert.AlertType, story: Alert.Story, event: Alert.Event, audience: [String]) {
        self.type = type
        self.story = story
        self.event = event
        self.audience = audience
    }

    /// The item for an enriched event, or nil for a repeat that adds nothing to its story.
    public init?(_ enriched: EnrichedEvent, audience: [String]) {
        let story = enriched.story
        let type: Alert.AlertType
        switch story.relation {
        case .new: type = .alert
        case .update:
            guard story.addsInformation else { return nil }
            type = .update
        case .correction: type = .correction
        case .kill: type = .retraction
        }
        self.init(
            type: enriched.event.status == .canceled ? .retraction : type,
            story: .init(storyID: story.storyId, sequence: story.sequence, updateOf: story.updateOf ?? story.supersedes),
            event: Alert.Event(enriched), audience: audience)
    }
}

/// What a ticker client sees: everything, the publication's sections/regions/kinds it asked for, or (with a
/// subscriber token) the items its own subscriptions matched.
public struct TickerFilter: Sendable, Hashable {
    public var sections: Set<NewsSection> = []
    public var regions: Set<NewsRegion> = []
    public var kinds: Set<NewsKind> = []
    public var subscriberID: String?

    public init(sections: Set<NewsSection> = [], regions: Set<NewsRegion> = [], kinds: Set<NewsKind> = [], subscriberID: String? = nil) {
        self.sections = sections
        self.regions = regions
        self.kinds = kinds
        self.subscriberID = subscriberID
    }

    public func admits(_ item: TickerItem) -> Bool {
        if let subscriberID, !item.audience.contains(subscriberID) { return false }
        if !sections.isEmpty, !sections.contains(item.event.section) { return false }
        if !regions.isEmpty, regions.isDisjoint(with: item.event.regions) { return false }
        if !kinds.isEmpty, !kinds.contains(item.event.kind) { return false }
        return true
    }
}
