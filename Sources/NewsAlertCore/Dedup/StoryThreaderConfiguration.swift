import Foundation

/// Windows and thresholds of story threading. The defaults are the ones measured on the labelled pairs.
public struct StoryThreaderConfiguration: Codable, Sendable, Hashable {
    /// How long after its last update a story can still gain items, and exact duplicates are caught.
    public var matchWindow: TimeInterval
    /// How long stories and seen event ids are kept, for idempotency and for corrections and kills.
    public var retention: TimeInterval
    /// Similarity (text plus place bonus) at or above which an item joins a story.
    public var joinThreshold: Double
    /// Added to text similarity when both items name the same town, city or district.
    public var sharedPlaceBonus: Double
    /// Terms so frequent in the newsroom's copy that sharing them is weak evidence (stemmed words, `@CC` countries).
    public var commonTerms: [String]
    /// Weight of `commonTerms` in the text similarity (other terms weigh 1).
    public var commonTermWeight: Double
    /// Items quoting the same speaker this close together are one statement split across lines (0 disables).
    public var quoteBurstWindow: TimeInterval
    /// How many recent items of a story are compared against.
    public var maxComparedItemsPerStory: Int
    /// Share of new content words from which a reworded item counts as adding information.
    public var newWordingFraction: Double

    /// Words in nearly every item of a Middle East newsroom's war coverage.
    public static let defaultCommonTerms = ["israeli", "israel", "occupation", "force", "palestinian", "aggression", "@IL", "@PS"]

    public init(
        matchWindow: TimeInterval = 6 * 3600, retention: TimeInterval = 24 * 3600, joinThreshold: Double = 0.47,
        sharedPlaceBonus: Double = 0.3, commonTerms: [String] = StoryThreaderConfiguration.defaultCommonTerms,
        commonTermWeight: Double = 0.3, quoteBurstWindow: TimeInterval = 30 * 60, maxComparedItemsPerStory: Int = 16,
        newWordingFraction: Double = 0.5
    ) {
        self.matchWindow = matchWindow
        self.retention = max(retention, matchWindow)
        self.joinThreshold = joinThreshold
        self.sharedPlaceBonus = sharedPlaceBonus
        self.commonTerms = commonTerms
        self.commonTermWeight = commonTermWeight
        self.quoteBurstWindow = quoteBurstWindow
        self.maxComparedItemsPerStory = max(1, maxComparedItemsPerStory)
        self.newWordingFraction = newWordingFraction
    }

    enum CodingKeys: String, CodingKey {
        case matchWindow = "match_window"
        case retention
        case joinThreshold = "join_threshold"
        case sharedPlaceBonus = "shared_place_bonus"
        case commonTerms = "common_terms"
        case commonTermWeight = "common_term_weight"
        case quoteBurstWindow = "quote_burst_window"
        case maxComparedItemsPerStory = "max_compared_items_per_story"
        case newWordingFraction = "new_wording_fraction"
    }
}
