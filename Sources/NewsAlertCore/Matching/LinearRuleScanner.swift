/// The baseline matcher: evaluates every rule against every event.
///
/// Same compiled rules and evaluation as `SubscriptionIndex`, without candidate selection, so the two must return
/// identical matches; tests use it as the reference and benchmarks as the cost to beat.
public struct LinearRuleScanner: RuleMatching {
    private var table = RuleTable()

    public init() {}

    public var count: Int { table.count }

    public mutating func insert(id: String, subscriberID: String, rule: MatchCriteria) {
        remove(id: id)
        _ = table.insert(id: id, subscriberID: subscriberID, criteria: rule)
    }

    @discardableResult
    public mutating func remove(id: String) -> Bool {
        table.remove(id: id) != nil
    }

    public func match(_ event: MatchableEvent) -> [RuleMatch] {
        let prepared = table.prepare(event)
        var cache = ReasonCache()
        return table.rules.indices.compactMap { table.match(slot: Int32($0), prepared, cache: &cache) }
    }
}
