/// The fixed-size part of a compiled rule: bit masks for the publication's names, the urgency bound and how many
/// free terms of each clause the rule lists.
///
/// It holds no references, so reading one from the table's flat array costs no reference counting; the rule's term
/// ids and keyword query live beside it (`RuleTable`) and are touched only for rules that have them.
struct CompiledRule: Sendable {
    /// Bit i set: `allCases[i]` is listed; 0: the clause is absent.
    let sectionMask: UInt32
    let regionMask: UInt32
    let kindMask: UInt32
    /// Interned subscriber id; -1 marks a vacant slot.
    let subscriber: Int32
    /// 0 when the clause is absent.
    let maxUrgency: UInt8
    let matchesEverything: Bool
    /// How many ids of each clause the rule's term list holds, in this order: countries, tags, entities, then the
    /// keyword query's cover words (`KeywordQuery.coverWords`, under which the index files keyword rules).
    let countryCount: UInt8
    let tagCount: UInt8
    let entityCount: UInt8
    let coverCount: UInt8
    let hasKeywords: Bool

    /// The placeholder left in a removed rule's slot.
    static let vacant = CompiledRule(
        sectionMask: 0, regionMask: 0, kindMask: 0, subscriber: -1, maxUrgency: 0, matchesEverything: false,
        countryCount: 0, tagCount: 0, entityCount: 0, coverCount: 0, hasKeywords: false)

    var isVacant: Bool { subscriber < 0 }

    /// True when the rule has a term list to read.
    var hasTerms: Bool { countryCount | tagCount | entityCount | coverCount != 0 }

    var countryRange: Range<Int> { 0..<Int(countryCount) }
    var tagRange: Range<Int> { countryRange.upperBound..<countryRange.upperBound + Int(tagCount) }
    var entityRange: Range<Int> { tagRange.upperBound..<tagRange.upperBound + Int(entityCount) }
    var coverRange: Range<Int> { entityRange.upperBound..<entityRange.upperBound + Int(coverCount) }

    private init(
        sectionMask: UInt32, regionMask: UInt32, kindMask: UInt32, subscriber: Int32, maxUrgency: UInt8, matchesEverything: Bool,
        countryCount: UInt8, tagCount: UInt8, entityCount: UInt8, coverCount: UInt8, hasKeywords: Bool
    ) {
        self.sectionMask = sectionMask
        self.regionMask = regionMask
        self.kindMask = kindMask
        self.subscriber = subscriber
        self.maxUrgency = maxUrgency
        self.matchesEverything = matchesEverything
        self.countryCount = countryCount
        self.tagCount = tagCount
        self.entityCount = entityCount
        self.coverCount = coverCount
        self.hasKeywords = hasKeywords
    }

    /// Compiles `criteria`, interning its free terms in `dictionary`; returns the rule and its term list.
    static func compile(_ criteria: MatchCriteria, subscriber: Int32, dictionary: inout TermDictionary) -> (rule: CompiledRule, terms: [Int32]) {
        let countries = criteria.countries.map { dictionary.intern($0.uppercased()) }
        let tags = criteria.tags.map { dictionary.intern(KeywordText.fold($0)) }
        let entities = criteria.entities.map { dictionary.intern(KeywordText.fold($0)) }
        let cover = (criteria.keywords?.coverWords ?? []).map { dictionary.intern($0) }
        let rule = CompiledRule(
            sectionMask: mask(criteria.sections), regionMask: mask(criteria.regions), kindMask: mask(criteria.kinds),
            subscriber: subscriber, maxUrgency: UInt8(criteria.maxUrgency?.rawValue ?? 0), matchesEverything: criteria.matchesEverything,
            countryCount: UInt8(countries.count), tagCount: UInt8(tags.count), entityCount: UInt8(entities.count),
            coverCount: UInt8(cover.count), hasKeywords: criteria.keywords != nil)
        return (rule, countries + tags + entities + cover)
    }

    /// True when the clauses decided by masks and the urgency bound hold; no allocation, no term list needed.
    func passesFixedClauses(_ event: PreparedEvent) -> Bool {
        (sectionMask == 0 || sectionMask & event.sectionMask != 0)
            && (regionMask == 0 || regionMask & event.regionMask != 0)
            && (kindMask == 0 || kindMask & event.kindMask != 0)
            && (maxUrgency == 0 || event.urgency <= Int(maxUrgency))
    }

    private static let matchesEverythingReasons = [MatchReason(clause: .all, value: "true")]

    /// Why this rule matches `event`, or nil when it does not.
    ///
    /// - Parameters:
    ///   - terms: the rule's term list (see `countryCount`).
    ///   - keywords: the rule's query, when `hasKeywords`.
    ///   - cache: one-reason lists already built for this event.
    /// Cheap clauses are checked first and the keyword query last, so a failing candidate costs no allocation.
    func reasons(for event: PreparedEvent, terms: [Int32], keywords: KeywordQuery?, cache: inout ReasonCache) -> [MatchReason]? {
        if matchesEverything { return Self.matchesEverythingReasons }
        guard passesFixedClauses(event),
              Self.intersects(terms[countryRange], event.countries),
              Self.intersects(terms[tagRange], event.tags),
              Self.intersects(terms[entityRange], event.entities) else { return nil }
        if clauseCount == 1, let (clause, position, value) = onlyListMatch(event, terms: terms) {
            return cache.single(clause, position: position, value: value)
        }
        var keywordTerms: [String] = []
        if let keywords {
            guard let matched = keywords.matchedTerms(in: event.text) else { return nil }
            keywordTerms = matched
        }
        var reasons: [MatchReason] = []
        reasons.reserveCapacity(clauseCount + max(keywordTerms.count - 1, 0))
        Self.append(.sections, event.sections, where: { sectionMask & (1 << $0) != 0 }, to: &reasons)
        Self.append(.regions, event.regions, where: { regionMask & (1 << $0) != 0 }, to: &reasons)
        Self.append(.countries, event.countries, where: terms[countryRange].contains, to: &reasons)
        Self.append(.tags, event.tags, where: terms[tagRange].contains, to: &reasons)
        Self.append(.entities, event.entities, where: terms[entityRange].contains, to: &reasons)
        if kindMask != 0 { reasons.append(MatchReason(clause: .kinds, value: event.kind.rawValue)) }
        if maxUrgency != 0 { reasons.append(MatchReason(clause: .maxUrgency, value: "\(event.urgency) ≤ \(maxUrgency)")) }
        for term in keywordTerms { reasons.append(MatchReason(clause: .keywords, value: term)) }
        return reasons
    }

    /// For a rule whose one clause is a list, the event value that satisfied it when exactly one did.
    private func onlyListMatch(_ event: PreparedEvent, terms: [Int32]) -> (RuleClause, Int, String)? {
        switch singleListClause {
        case .sections?: Self.only(.sections, event.sections) { sectionMask & (1 << $0) != 0 }
        case .regions?: Self.only(.regions, event.regions) { regionMask & (1 << $0) != 0 }
        case .countries?: Self.only(.countries, event.countries) { terms[countryRange].contains($0) }
        case .tags?: Self.only(.tags, event.tags) { terms[tagRange].contains($0) }
        case .entities?: Self.only(.entities, event.entities) { terms[entityRange].contains($0) }
        case .kinds?: (.kinds, 0, event.kind.rawValue)
        default: nil
        }
    }

    private static func only(_ clause: RuleClause, _ values: [PreparedEvent.Value], where isListed: (Int32) -> Bool) -> (RuleClause, Int, String)? {
        var found: (position: Int, text: String)?
        for (position, value) in values.enumerated() where isListed(value.key) {
            guard found == nil else { return nil }
            found = (position, value.text)
        }
        return found.map { (clause, $0.position, $0.text) }
    }

    /// The list clause of a one-clause rule (nil for keywords and `max_urgency`, whose reasons are not shared).
    private var singleListClause: RuleClause? {
        if sectionMask != 0 { return .sections }
        if regionMask != 0 { return .regions }
        if countryCount > 0 { return .countries }
        if tagCount > 0 { return .tags }
        if entityCount > 0 { return .entities }
        if kindMask != 0 { return .kinds }
        return nil
    }

    /// Number of clauses given: the usual number of reasons, one value matching per clause.
    private var clauseCount: Int {
        let lists = (countryCount > 0 ? 1 : 0) + (tagCount > 0 ? 1 : 0) + (entityCount > 0 ? 1 : 0) + (hasKeywords ? 1 : 0)
        return lists + (sectionMask != 0 ? 1 : 0) + (regionMask != 0 ? 1 : 0) + (kindMask != 0 ? 1 : 0) + (maxUrgency != 0 ? 1 : 0)
    }

    /// True when the clause is absent (`required` empty) or shares a value with the event.
    private static func intersects(_ required: ArraySlice<Int32>, _ values: [PreparedEvent.Value]) -> Bool {
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
