import Foundation

/// A news item as the newsroom publishes it on `news.events`.
///
/// Breaking items often carry only `kind` and `headline`; enrichment fills in the rest downstream.
public struct NewsEvent: Codable, Sendable, Hashable {
    public var id: String
    public var kind: NewsKind
    public var headline: String
    public var summary: String?
    public var body: String?
    public var section: NewsSection?
    public var regions: [NewsRegion]
    public var tags: [String]
    public var byline: String?
    public var source: String?
    public var url: String?
    public var urgency: Urgency?
    public var publishedAt: Date
    public var status: NewsStatus
    /// The id of the event this one corrects or kills.
    public var supersedes: String?
    /// BCP 47 language tag, e.g. `en`.
    public var language: String?
    /// Why the item was killed or corrected, when it was.
    public var reason: String?
    /// The editor's threading decision ("new" story or update of a story), followed by the enrich stage.
    public var storyOverride: StoryOverride?

    public init(
        id: String, kind: NewsKind, headline: String, summary: String? = nil, body: String? = nil,
        section: NewsSection? = nil, regions: [NewsRegion] = [], tags: [String] = [], byline: String? = nil,
        source: String? = nil, url: String? = nil, urgency: Urgency? = nil, publishedAt: Date,
        status: NewsStatus = .usable, supersedes: String? = nil, language: String? = nil, reason: String? = nil,
        storyOverride: StoryOverride? = nil
    ) {
        self.id = id
        self.kind = kind
        self.headline = headline
        self.summary = summary
        self.body = body
        self.section = section
        self.regions = regions
        self.tags = tags
        self.byline = byline
        self.source = source
        self.url = url
        self.urgency = urgency
        self.publishedAt = publishedAt
        self.status = status
        self.supersedes = supersedes
        self.language = language
        self.reason = reason
        self.storyOverride = storyOverride
    }

    enum CodingKeys: String, CodingKey {
        case id, kind, headline, summary, body, section, regions, tags, byline, source, url, urgency
        case publishedAt = "published_at"
        case status, supersedes, language, reason
        case storyOverride = "story_override"
    }
}
