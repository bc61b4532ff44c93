/// An in-memory inverted index over subscription rules: an event is checked only against rules filed under one of
/// its values, never against every rule.
///
/// Each rule is filed under the values of one of its clauses, the one an event is least likely to satisfy, so the
/// rule is reached only by events that satisfy that clause; every such candidate is then checked in full (by the
/// same evaluation `LinearRuleScanner` uses). Candidates are gathered in a bitmap over rule slots and checked in
/// slot order: each rule once, and rule data read front to back as the linear scan reads it, which matters when an
/// event matches a fifth of a million rules and memory traffic, not the number of checks, sets the pace. The choice multiplies the number of values the clause lists by a fixed
/// estimate of how often an event carries one value of that clause: an entity or tag is rarer than a country, a
/// country rarer than a region or section, a kind the most common. Keyword rules are filed under their query's
/// cover words (`KeywordQuery.coverWords`: every matching text contains one). Rules without such a clause
/// (`all: true`, or only `max_urgency`) are filed by their urgency bound and reached by events at least that urgent.
///
/// Insert is O(1) amortised; remove is O(length of the rule's posting lists); match is O(event values + candidates
/// + rules / 64) (the bitmap sweep, a few microseconds per million rules).
/// A value type: `match` only reads, so one index can serve concurrent readers while updates go to a copy.
public struct SubscriptionIndex: RuleMatching {
    /// A posting list's key: a clause and a value id (interned term, or bit position for names and urgency).
    private struct PostingKey: Hashable {
        let clause: RuleClause
        let term: Int32
    }

    /// Estimated share of events carrying one given value of a clause, most selective first (ties keep this order).
    private static let estimatedShare: [(clause: RuleClause, share: Double)] = [
        (.entities, 0.02), (.tags, 0.02), (.keywords, 0.03), (.countries, 0.05), (.regions, 0.15), (.sections, 0.15), (.kinds, 0.3),
    ]

    private var table = RuleTable()
    /// Slots of the rules filed under each key.
    private var postings: [PostingKey: [Int32]] = [:]

    public init() {}

    public var count: Int { table.count }

    public mutating func insert(id: String, subscriberID: String, rule: MatchCriteria) {
        remove(id: id)
        let slot = table.insert(id: id, subscriberID: subscriberID, criteria: rule)
        for key in Self.filingKeys(for: table.rules[Int(slot)], terms: table.terms(at: slot)) {
            postings[key, default: []].append(slot)
        }
    }

    @discardableResult
    public mutating func remove(id: String) -> Bool {
        guard let (slot, rule, terms) = table.remove(id: id) else { return false }
        for key in Self.filingKeys(for: rule, terms: terms) {
            unfile(slot, from: key)
        }
        return true
    }

    public func match(_ event: MatchableEvent) -> [RuleMatch] {
        let prepared = table.prepare(event)
        var matches: [RuleMatch] = []
        var cache = ReasonCache()
        candidates(of: prepared).forEachSlot { slot in
            if let match = table.match(slot: slot, prepared, cache: &cache) { matches.append(match) }
        }
        return matches
    }

    /// How many rules `event` is checked against: the work the index could not avoid, for benchmarks and diagnostics.
    public func candidateCount(for event: MatchableEvent) -> Int {
        candidates(of: table.prepare(event)).count
    }

    /// The slots of every rule filed under one of the event's values.
    private func candidates(of event: PreparedEvent) -> SlotBitmap {
        var bitmap = SlotBitmap(slots: table.rules.count)
        func mark(_ key: PostingKey) {
            if let slots = postings[key] { bitmap.insert(slots) }
        }
        for urgency in event.urgency...Urgency.routine.rawValue {
            mark(PostingKey(clause: .maxUrgency, term: Int32(urgency)))
        }
        for (clause, values) in [(RuleClause.sections, event.sections), (.regions, event.regions), (.countries, event.countries), (.tags, event.tags), (.entities, event.entities)] {
            for value in values { mark(PostingKey(clause: clause, term: value.key)) }
        }
        mark(PostingKey(clause: .kinds, term: Int32(CompiledRule.bitIndex(event.kind))))
        for word in event.text.positions.keys {
            if let term = table.dictionary.id(of: word) { mark(PostingKey(clause: .keywords, term: term)) }
        }
        return bitmap
    }

    /// The keys `rule` (with its term list `terms`) is filed under: every value of its most selective clause.
    private static func filingKeys(for rule: CompiledRule, terms: [Int32]) -> [PostingKey] {
        if rule.matchesEverything { return [PostingKey(clause: .maxUrgency, term: Int32(Urgency.routine.rawValue))] }
        var best: (clause: RuleClause, terms: [Int32], cost: Double)?
        for (clause, share) in estimatedShare {
            let values = filingTerms(of: rule, terms, clause)
            let cost = Double(values.count) * share
            if !values.isEmpty, cost < best?.cost ?? .infinity { best = (clause, values, cost) }
        }
        guard let best else { return [PostingKey(clause: .maxUrgency, term: Int32(rule.maxUrgency))] }
        return best.terms.map { PostingKey(clause: best.clause, term: $0) }
    }

    private static func filingTerms(of rule: CompiledRule, _ terms: [Int32], _ clause: RuleClause) -> [Int32] {
        switch clause {
        case .sections: CompiledRule.bits(of: rule.sectionMask)
        case .regions: CompiledRule.bits(of: rule.regionMask)
        case .kinds: CompiledRule.bits(of: rule.kindMask)
        case .countries: Array(terms[rule.countryRange])
        case .tags: Array(terms[rule.tagRange])
        case .entities: Array(terms[rule.entityRange])
        case .keywords: Array(terms[rule.coverRange])
        case .all, .maxUrgency: []
        }
    }

    /// Removes `slot` from one posting list by swapping in the last entry (order within a list does not matter).
    private mutating func unfile(_ slot: Int32, from key: PostingKey) {
        guard var slots = postings.removeValue(forKey: key) else { return }
        if let index = slots.firstIndex(of: slot) {
            slots.swapAt(index, slots.count - 1)
            slots.removeLast()
        }
        if !slots.isEmpty { postings[key] = slots }
    }
}
