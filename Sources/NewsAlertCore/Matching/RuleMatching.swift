/// Something that holds subscription rules and finds the ones an event matches.
///
/// `SubscriptionIndex` is the production matcher; `LinearRuleScanner` is the checked-by-brute-force baseline.
public protocol RuleMatching: Sendable {
    /// Number of rules held.
    var count: Int { get }
    /// Adds the rule `id` for `subscriberID`, replacing any rule already stored under `id`.
    mutating func insert(id: String, subscriberID: String, rule: MatchCriteria)
    /// Removes the rule `id`; false when there was none.
    @discardableResult mutating func remove(id: String) -> Bool
    /// Every rule that matches `event`, each with its reasons, in no particular order.
    func match(_ event: MatchableEvent) -> [RuleMatch]
}
