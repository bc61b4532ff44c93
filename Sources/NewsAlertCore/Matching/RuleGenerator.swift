/// Generates a reproducible, realistic mix of subscription rules for tests and benchmarks.
///
/// Per 100 rules, about: 36 one section, 24 one region, 8 countries, 6 entities, 6 tags, 10 keyword queries,
/// 5 section and region together, 3 kinds (some with a section), 1 `max_urgency` only and 1 `all`. One in ten
/// list clauses lists two values; 15 in 100 rules also carry `max_urgency`. A subscriber has 2–3 rules on average.
public struct RuleGenerator: Sendable {
    /// One generated rule with its ids.
    public struct Rule: Sendable {
        public let id: String
        public let subscriberID: String
        public let criteria: MatchCriteria
    }

    private var random: SeededRandomGenerator
    private var produced = 0
    private var subscribers = 0

    public init(seed: UInt64) {
        random = SeededRandomGenerator(seed: seed)
    }

    /// The next rule: ids `rule-N` and `subscriber-M`.
    public mutating func next() -> Rule {
        if produced == 0 || random.chance(0.4) { subscribers += 1 }
        produced += 1
        return Rule(id: "rule-\(produced)", subscriberID: "subscriber-\(subscribers)", criteria: criteria())
    }

    /// The next rule's criteria alone.
    public mutating func criteria() -> MatchCriteria {
        let urgency = random.chance(0.15) ? Urgency(rawValue: Int.random(in: 1...4, using: &random)) : nil
        switch random.weightedIndex([36, 24, 8, 6, 6, 10, 5, 3, 1, 1]) {
        case 0: return MatchCriteria(sections: names(NewsVocabulary.sections), maxUrgency: urgency)
        case 1: return MatchCriteria(regions: names(NewsVocabulary.regions), maxUrgency: urgency)
        case 2: return MatchCriteria(countries: random.skewedElements(random.chance(0.3) ? 2 : 1, of: NewsVocabulary.countries), maxUrgency: urgency)
        case 3: return MatchCriteria(entities: [random.skewedElement(of: NewsVocabulary.entities)], maxUrgency: urgency)
        case 4: return MatchCriteria(tags: random.skewedElements(random.chance(0.3) ? 2 : 1, of: NewsVocabulary.tags), maxUrgency: urgency)
        case 5: return MatchCriteria(keywords: keywordQuery(), maxUrgency: urgency)
        case 6: return MatchCriteria(sections: names(NewsVocabulary.sections), regions: names(NewsVocabulary.regions), maxUrgency: urgency)
        case 7:
            let sections = random.chance(0.5) ? [random.skewedElement(of: NewsVocabulary.sections)] : []
            return MatchCriteria(sections: sections, kinds: [random.chance(0.7) ? .breaking : random.skewedElement(of: NewsKind.allCases)], maxUrgency: urgency)
        case 8: return MatchCriteria(maxUrgency: Urgency(rawValue: Int.random(in: 1...2, using: &random)))
        default: return .everything
        }
    }

    /// One name, or two one time in ten.
    private mutating func names<Name: Equatable>(_ vocabulary: [Name]) -> [Name] {
        random.skewedElements(random.chance(0.1) ? 2 : 1, of: vocabulary)
    }

    /// A keyword query in one of the shapes subscribers write, in parser-canonical form.
    private mutating func keywordQuery() -> KeywordQuery {
        let words = random.skewedElements(2, of: NewsVocabulary.keywords).map(KeywordQuery.word)
        let first = words.first ?? .word("ceasefire")
        let second = words.last ?? .word("truce")
        let phrase = KeywordQuery.phrase(random.skewedElement(of: NewsVocabulary.phrases))
        let exclusion = KeywordQuery.not(.word(random.skewedElement(of: NewsVocabulary.exclusions)))
        switch Int.random(in: 0..<6, using: &random) {
        case 0: return first
        case 1: return phrase
        case 2: return first == second ? first : .any([first, second])
        case 3: return .all([first, exclusion])
        case 4: return .all([.any([phrase, first]), exclusion])
        default: return first == second ? first : .all([first, second])
        }
    }
}
