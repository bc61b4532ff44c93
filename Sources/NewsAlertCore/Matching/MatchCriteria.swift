/// The validated matching part of a subscription rule: which events it selects.
///
/// Semantics: within one list any value matches (OR); every clause that is given must match (AND); a clause that
/// is left out places no condition. `matchesEverything` (`all: true`) selects every event and is never combined
/// with other clauses. Built by `SubscriptionRule.validate(timeZone:)` (or `RuleGenerator`), so it is always valid.
public struct MatchCriteria: Sendable, Hashable {
    /// `all: true`.
    public let matchesEverything: Bool
    public let sections: [NewsSection]
    public let regions: [NewsRegion]
    /// Upper-case ISO 3166-1 alpha-2 codes.
    public let countries: [String]
    /// Compared case- and diacritic-insensitively.
    public let tags: [String]
    /// Compared case- and diacritic-insensitively, as whole names.
    public let entities: [String]
    public let kinds: [NewsKind]
    public let keywords: KeywordQuery?
    /// Matches events at least this urgent (urgency number at most this).
    public let maxUrgency: Urgency?

    /// A rule that matches every event.
    public static let everything = MatchCriteria(matchesEverything: true)

    init(
        matchesEverything: Bool = false, sections: [NewsSection] = [], regions: [NewsRegion] = [], countries: [String] = [],
        tags: [String] = [], entities: [String] = [], kinds: [NewsKind] = [], keywords: KeywordQuery? = nil,
        maxUrgency: Urgency? = nil
    ) {
        self.matchesEverything = matchesEverything
        self.sections = sections
        self.regions = regions
        self.countries = countries
        self.tags = tags
        self.entities = entities
        self.kinds = kinds
        self.keywords = keywords
        self.maxUrgency = maxUrgency
    }
}
