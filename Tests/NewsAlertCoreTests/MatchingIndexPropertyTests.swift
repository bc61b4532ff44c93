import NewsAlertCore
import Testing

/// The index must find exactly what checking every rule finds, for any mix of rules, events, removals and replacements.
@Suite struct MatchingIndexPropertyTests {
    /// Loads the same generated rules into both matchers, then removes some and replaces others in both.
    private func matchers(seed: UInt64, rules: Int) -> (SubscriptionIndex, LinearRuleScanner) {
        var index = SubscriptionIndex()
        var scanner = LinearRuleScanner()
        var generator = RuleGenerator(seed: seed)
        let generated = (0..<rules).map { _ in generator.next() }
        for rule in generated {
            index.insert(id: rule.id, subscriberID: rule.subscriberID, rule: rule.criteria)
            scanner.insert(id: rule.id, subscriberID: rule.subscriberID, rule: rule.criteria)
        }
        for (number, rule) in generated.enumerated() where number % 7 == 3 {
            let removedFromIndex = index.remove(id: rule.id)
            let removedFromScanner = scanner.remove(id: rule.id)
            #expect(removedFromIndex && removedFromScanner)
        }
        for (number, rule) in generated.enumerated() where number % 11 == 5 {
            let replacement = generator.criteria()
            index.insert(id: rule.id, subscriberID: rule.subscriberID, rule: replacement)
            scanner.insert(id: rule.id, subscriberID: rule.subscriberID, rule: replacement)
        }
        return (index, scanner)
    }

    @Test(arguments: [1, 2, 3, 42, 2_025] as [UInt64])
    func indexAgreesWithLinearScan(seed: UInt64) {
        let (index, scanner) = matchers(seed: seed, rules: 3_000)
        #expect(index.count == scanner.count)
        var events = EventGenerator(seed: seed &* 31)
        var matched = 0
        var clausesSeen = Set<RuleClause>()
        for _ in 0..<150 {
            let event = events.next()
            let indexed = index.match(event)
            let scanned = scanner.match(event)
            #expect(indexed.count == Set(indexed).count, "the index reported a rule twice")
            let missing = Set(scanned).subtracting(indexed)
            let extra = Set(indexed).subtracting(scanned)
            #expect(missing.isEmpty && extra.isEmpty, "event \(event.eventID): missed \(missing.prefix(3)), wrongly found \(extra.prefix(3))")
            #expect(index.candidateCount(for: event) < index.count, "the index must not check every rule")
            matched += indexed.count
            for match in indexed { clausesSeen.formUnion(match.reasons.map(\.clause)) }
        }
        #expect(matched > 0)
        #expect(clausesSeen == Set(RuleClause.allCases), "every clause took part: \(clausesSeen)")
    }

    @Test func generatorsAreDeterministic() {
        func rules() -> [MatchCriteria] {
            var generator = RuleGenerator(seed: 9)
            return (0..<100).map { _ in generator.criteria() }
        }
        func events() -> [MatchableEvent] {
            var generator = EventGenerator(seed: 9)
            return (0..<100).map { _ in generator.next() }
        }
        #expect(rules() == rules())
        #expect(events() == events())
    }

    @Test func smallBenchmarkRunAgrees() {
        let report = MatchBenchmark(rules: 5_000, events: 200, linearEvents: 50, seed: 3).run()
        #expect(report.disagreements == 0)
        #expect(report.index.events == 200)
        #expect(report.linear.events == 50)
        #expect(report.meanCandidates < 5_000)
    }
}
