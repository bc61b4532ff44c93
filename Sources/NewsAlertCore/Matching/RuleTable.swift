/// The rules both matchers hold: compiled rules in slots, with their subscription and subscriber ids.
///
/// Slots are dense `Int32`s reused after removal, so per-rule data lives in flat arrays instead of per-rule objects:
/// the fixed-size `CompiledRule`s in one array, and the term lists and keyword queries that only some rules have in
/// two side arrays (empty and nil cost no allocation).
struct RuleTable: Sendable {
    private(set) var rules: [CompiledRule] = []
    private var ruleTerms: [[Int32]] = []
    private var ruleKeywords: [KeywordQuery?] = []
    private var subscriptionIDs: [String] = []
    private var slots: [String: Int32] = [:]
    private var vacantSlots: [Int32] = []
    private var subscriberIDs: [String] = []
    private var subscriberNumbers: [String: Int32] = [:]
    private(set) var dictionary = TermDictionary()

    /// Number of rules held.
    var count: Int { slots.count }

    /// Stores `criteria` under `id` (which must not be present) and returns its slot.
    mutating func insert(id: String, subscriberID: String, criteria: MatchCriteria) -> Int32 {
        let (rule, terms) = CompiledRule.compile(criteria, subscriber: subscriberNumber(subscriberID), dictionary: &dictionary)
        guard let slot = vacantSlots.popLast() else {
            rules.append(rule)
            ruleTerms.append(terms)
            ruleKeywords.append(criteria.keywords)
            subscriptionIDs.append(id)
            slots[id] = Int32(rules.count - 1)
            return Int32(rules.count - 1)
        }
        store(rule, terms: terms, keywords: criteria.keywords, id: id, at: Int(slot))
        slots[id] = slot
        return slot
    }

    /// Removes the rule stored under `id`, returning its slot, compiled form and term list.
    mutating func remove(id: String) -> (slot: Int32, rule: CompiledRule, terms: [Int32])? {
        guard let slot = slots.removeValue(forKey: id) else { return nil }
        let removed = (slot, rules[Int(slot)], ruleTerms[Int(slot)])
        store(.vacant, terms: [], keywords: nil, id: "", at: Int(slot))
        vacantSlots.append(slot)
        return removed
    }

    /// The term list of the rule in `slot` (see `CompiledRule.countryCount`).
    func terms(at slot: Int32) -> [Int32] {
        ruleTerms[Int(slot)]
    }

    func prepare(_ event: MatchableEvent) -> PreparedEvent {
        PreparedEvent(event, terms: dictionary)
    }

    /// The match for the rule in `slot`, or nil when it does not match (or the slot is vacant).
    ///
    /// - Parameter cache: explanations shared between the matches of `event`.
    func match(slot: Int32, _ event: PreparedEvent, cache: inout ReasonCache) -> RuleMatch? {
        let index = Int(slot)
        let rule = rules[index]
        guard !rule.isVacant, rule.passesFixedClauses(event) else { return nil }
        let terms = rule.hasTerms ? ruleTerms[index] : []
        let keywords = rule.hasKeywords ? ruleKeywords[index] : nil
        guard let reasons = rule.reasons(for: event, terms: terms, keywords: keywords, cache: &cache) else { return nil }
        return RuleMatch(subscriptionID: subscriptionIDs[index], subscriberID: subscriberIDs[Int(rule.subscriber)], reasons: reasons)
    }

    private mutating func store(_ rule: CompiledRule, terms: [Int32], keywords: KeywordQuery?, id: String, at index: Int) {
        rules[index] = rule
        ruleTerms[index] = terms
        ruleKeywords[index] = keywords
        subscriptionIDs[index] = id
    }

    /// Subscriber ids are interned: a subscriber with many rules stores its id once.
    private mutating func subscriberNumber(_ subscriberID: String) -> Int32 {
        if let number = subscriberNumbers[subscriberID] { return number }
        let number = Int32(subscriberIDs.count)
        subscriberIDs.append(subscriberID)
        subscriberNumbers[subscriberID] = number
        return number
    }
}
