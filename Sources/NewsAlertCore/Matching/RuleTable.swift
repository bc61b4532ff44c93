/// The rules both matchers hold: compiled rules in slots, with their subscription and subscriber ids.
///
/// Slots are dense `Int32`s reused after removal, so per-rule data lives in flat arrays instead of per-rule objects.
struct RuleTable: Sendable {
    private(set) var rules: [CompiledRule] = []
    private var subscriptionIDs: [String] = []
    private var slots: [String: Int32] = [:]
    private var vacantSlots: [Int32] = []
    private var subscriberIDs: [String] = []
    private var subscriberNumbers: [String: Int32] = [:]
    private(set) var terms = TermDictionary()

    /// Number of rules held.
    var count: Int { slots.count }

    /// Stores `criteria` under `id` (which must not be present) and returns its slot.
    mutating func insert(id: String, subscriberID: String, criteria: MatchCriteria) -> Int32 {
        let rule = CompiledRule(criteria, subscriber: subscriberNumber(subscriberID), terms: &terms)
        let slot: Int32
        if let vacant = vacantSlots.popLast() {
            slot = vacant
            rules[Int(slot)] = rule
            subscriptionIDs[Int(slot)] = id
        } else {
            slot = Int32(rules.count)
            rules.append(rule)
            subscriptionIDs.append(id)
        }
        slots[id] = slot
        return slot
    }

    /// Removes the rule stored under `id`, returning its slot and compiled form.
    mutating func remove(id: String) -> (slot: Int32, rule: CompiledRule)? {
        guard let slot = slots.removeValue(forKey: id) else { return nil }
        let rule = rules[Int(slot)]
        rules[Int(slot)] = .vacant
        subscriptionIDs[Int(slot)] = ""
        vacantSlots.append(slot)
        return (slot, rule)
    }

    func prepare(_ event: MatchableEvent) -> PreparedEvent {
        PreparedEvent(event, terms: terms)
    }

    /// The match for the rule in `slot`, or nil when it does not match (or the slot is vacant).
    func match(slot: Int32, _ event: PreparedEvent) -> RuleMatch? {
        let rule = rules[Int(slot)]
        guard !rule.isVacant, let reasons = rule.reasons(for: event) else { return nil }
        return RuleMatch(subscriptionID: subscriptionIDs[Int(slot)], subscriberID: subscriberIDs[Int(rule.subscriber)], reasons: reasons)
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
