/// A rule's criteria in the compact form the matchers store: bit masks for the publication's names and interned
/// ids for free terms, about 50 bytes a rule.
struct CompiledRule: Sendable {
    /// Bit i set: `allCases[i]` is listed; 0: the clause is absent.
    let sectionMask: UInt32
    let regionMask: UInt32
    let kindMask: UInt32
    /// 0 when the clause is absent.
    let maxUrgency: UInt8
    let matchesEverything: Bool
    /// Interned subscriber id; -1 marks a vacant slot.
    let subscriber: Int32
    let countries: [Int32]
    let tags: [Int32]
    let entities: [Int32]
    let keywords: KeywordQuery?
    /// Interned `keywords.coverWords`: the index files keyword rules under these.
    let keywordCover: [Int32]

    /// The placeholder left in a removed rule's slot.
    static let vacant = CompiledRule(
        sectionMask: 0, regionMask: 0, kindMask: 0, maxUrgency: 0, matchesEverything: false, subscriber: -1,
        countries: [], tags: [], entities: [], keywords: nil, keywordCover: [])

    var isVacant: Bool { subscriber < 0 }

    private init(
        sectionMask: UInt32, regionMask: UInt32, kindMask: UInt32, maxUrgency: UInt8, matchesEverything: Bool, subscriber: Int32,
        countries: [Int32], tags: [Int32], entities: [Int32], keywords: KeywordQuery?, keywordCover: [Int32]
    ) {
        self.sectionMask = sectionMask
        self.regionMask = regionMask
        self.kindMask = kindMask
        self.maxUrgency = maxUrgency
        self.matchesEverything = matchesEverything
        self.subscriber = subscriber
        self.countries = countries
        self.tags = tags
        self.entities = entities
        self.keywords = keywords
        self.keywordCover = keywordCover
    }

    /// Compiles `criteria`, interning its free terms in `terms`.
    init(_ criteria: MatchCriteria, subscriber: Int32, terms: inout TermDictionary) {
        self.init(
            sectionMask: Self.mask(criteria.sections), regionMask: Self.mask(criteria.regions), kindMask: Self.mask(criteria.kinds),
            maxUrgency: UInt8(criteria.maxUrgency?.rawValue ?? 0), matchesEverything: criteria.matchesEverything, subscriber: subscriber,
            countries: criteria.countries.map { terms.intern($0.uppercased()) },
            tags: criteria.tags.map { terms.intern(KeywordText.fold($0)) },
            entities: criteria.entities.map { terms.intern(KeywordText.fold($0)) },
            keywords: criteria.keywords,
            keywordCover: (criteria.keywords?.coverWords ?? []).map { terms.intern($0) })
    }

    /// Why this rule matches `event`, or nil when it does not.
    ///
    /// Cheap clauses are checked first and the keyword query last, so a failing candidate costs no allocation.
    func reasons(for event: PreparedEvent) -> [MatchReason]? {
        if matchesEverything { return [MatchReason(clause: .all, value: "true")] }
        guard sectionMask == 0 || sectionMask & event.sectionMask != 0,
              regionMask == 0 || regionMask & event.regionMask != 0,
              kindMask == 0 || kindMask & event.kindMask != 0,
              maxUrgency == 0 || event.urgency <= Int(maxUrgency),
              Self.intersects(countries, event.countries),
              Self.intersects(tags, event.tags),
              Self.intersects(entities, event.entities) else { return nil }
        var keywordTerms: [String] = []
        if let keywords {
            guard let matched = keywords.matchedTerms(in: event.text) else { return nil }
            keywordTerms = matched
        }
        var reasons: [MatchReason] = []
        Self.append(.sections, event.sections, where: { sectionMask & (1 << $0) != 0 }, to: &reasons)
        Self.append(.regions, event.regions, where: { regionMask & (1 << $0) != 0 }, to: &reasons)
        Self.append(.countries, event.countries, where: countries.contains, to: &reasons)
        Self.append(.tags, event.tags, where: tags.contains, to: &reasons)
        Self.append(.entities, event.entities, where: entities.contains, to: &reasons)
        if kindMask != 0 { reasons.append(MatchReason(clause: .kinds, value: event.kind.rawValue)) }
        if maxUrgency != 0 { reasons.append(MatchReason(clause: .maxUrgency, value: "\(event.urgency) ≤ \(maxUrgency)")) }
        for term in keywordTerms { reasons.append(MatchReason(clause: .keywords, value: term)) }
        return reasons
    }

    /// True when the clause is absent (`required` empty) or shares a value with the event.
    private static func intersects(_ required: [Int32], _ values: [PreparedEvent.Value]) -> Bool {
        required.isEmpty || values.contains { required.contains($0.key) }
    }

    private static func append(_ clause: RuleClause, _ values: [PreparedEvent.Value], where isListed: (Int32) -> Bool, to reasons: inout [MatchReason]) {
        for value in values where isListed(value.key) {
            reasons.append(MatchReason(clause: clause, value: value.text))
        }
    }

    /// Position of `value` in `allCases`: its bit in a mask.
    static func bitIndex<Name: CaseIterable & Equatable>(_ value: Name) -> Int {
        Name.allCases.enumerated().first { $0.element == value }?.offset ?? 0
    }

    static func mask<Name: CaseIterable & Equatable>(_ values: [Name]) -> UInt32 {
        values.reduce(0) { $0 | 1 << bitIndex($1) }
    }

    /// Bit positions set in `mask`.
    static func bits(of mask: UInt32) -> [Int32] {
        (0..<32).filter { mask & (1 << $0) != 0 }.map(Int32.init)
    }
}
