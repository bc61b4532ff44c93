/// Times building a `SubscriptionIndex` from generated rules and matching generated events, against the linear scan.
///
/// Rules and events are generated before timing starts, so the figures are index work only. The linear scanner
/// runs on the first `linearEvents` events only (it checks every rule per event) and its results are compared with
/// the index's, so a benchmark run doubles as a correctness check at scale.
public struct MatchBenchmark: Sendable {
    public var rules: Int
    public var events: Int
    public var linearEvents: Int
    public var seed: UInt64

    public init(rules: Int = 100_000, events: Int = 10_000, linearEvents: Int = 100, seed: UInt64 = 1) {
        self.rules = rules
        self.events = events
        self.linearEvents = linearEvents
        self.seed = seed
    }

    public func run() -> MatchBenchmarkReport {
        let clock = ContinuousClock()
        var ruleGenerator = RuleGenerator(seed: seed)
        let generatedRules = (0..<rules).map { _ in ruleGenerator.next() }
        var eventGenerator = EventGenerator(seed: seed &+ 1)
        let generatedEvents = (0..<events).map { _ in eventGenerator.next() }

        var index = SubscriptionIndex()
        let buildTime = clock.measure {
            for rule in generatedRules { index.insert(id: rule.id, subscriberID: rule.subscriberID, rule: rule.criteria) }
        }
        var scanner = LinearRuleScanner()
        if linearEvents > 0 {
            for rule in generatedRules { scanner.insert(id: rule.id, subscriberID: rule.subscriberID, rule: rule.criteria) }
        }

        var indexLatencies: [Duration] = []
        var linearLatencies: [Duration] = []
        var matchTotal = 0
        var disagreements = 0
        for (number, event) in generatedEvents.enumerated() {
            let start = clock.now
            let matches = index.match(event)
            indexLatencies.append(clock.now - start)
            matchTotal += matches.count
            guard number < linearEvents else { continue }
            let linearStart = clock.now
            let scanned = scanner.match(event)
            linearLatencies.append(clock.now - linearStart)
            if Set(matches) != Set(scanned) { disagreements += 1 }
        }
        let sampled = generatedEvents.prefix(1_000)
        let candidateTotal = sampled.reduce(0) { $0 + index.candidateCount(for: $1) }

        return MatchBenchmarkReport(
            rules: rules, buildTime: buildTime, index: MatchBenchmarkReport.Timing(indexLatencies),
            linear: MatchBenchmarkReport.Timing(linearLatencies),
            meanMatches: events > 0 ? Double(matchTotal) / Double(events) : 0,
            meanCandidates: sampled.isEmpty ? 0 : Double(candidateTotal) / Double(sampled.count),
            disagreements: disagreements)
    }
}
