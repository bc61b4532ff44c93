import Foundation

/// Measures story threading against labelled pairs, for tests and `newsalert bench dedup`.
public enum DedupEvaluation {
    /// The pair set shipped with the package (`Resources/labelled-pairs.jsonl`).
    public static func bundledPairs() throws -> [LabelledPair] {
        try parsePairs(jsonl: BundledResource.data(named: "labelled-pairs", fileExtension: "jsonl"))
    }

    /// Parses JSON Lines of `{"a": …, "b": …, "same_story": …}`; blank lines are skipped.
    public static func parsePairs(jsonl: Data) throws -> [LabelledPair] {
        let decoder = JSONDecoder()
        return try String(decoding: jsonl, as: UTF8.self)
            .split(whereSeparator: \.isNewline)
            .filter { !$0.allSatisfy(\.isWhitespace) }
            .map { try decoder.decode(LabelledPair.self, from: Data($0.utf8)) }
    }

    /// Threads each pair in a fresh threader (`a`, then `b` `minutesApart` later) and compares with the labels.
    public static func measure(
        pairs: [LabelledPair], enricher: Enricher, configuration: StoryThreaderConfiguration = StoryThreaderConfiguration()
    ) -> DedupMeasurement {
        let start = Date(timeIntervalSince1970: 1_750_000_000)
        let outcomes = pairs.enumerated().map { index, pair in
            let later = start.addingTimeInterval((pair.minutesApart ?? 5) * 60)
            let first = NewsEvent(id: "pair-\(index)-a", kind: .breaking, headline: pair.a, publishedAt: start)
            let second = NewsEvent(id: "pair-\(index)-b", kind: .breaking, headline: pair.b, publishedAt: later)
            let firstEnrichment = enricher.enrich(first)
            let secondEnrichment = enricher.enrich(second)
            var threader = StoryThreader(configuration: configuration)
            let firstStory = threader.process(event: first, enrichment: firstEnrichment, now: start).assignment?.storyId
            let decision = threader.process(event: second, enrichment: secondEnrichment, now: later)
            let predictedSame: Bool
            switch decision {
            case let .duplicate(_, of: original): predictedSame = original == first.id
            case let .accepted(assignment): predictedSame = assignment.storyId == firstStory
            }
            let similarity = StorySimilarity.compare(StoryFingerprint(enrichment: firstEnrichment), StoryFingerprint(enrichment: secondEnrichment), configuration: configuration)
            return DedupMeasurement.Outcome(pair: pair, predictedSame: predictedSame, similarity: similarity)
        }
        return DedupMeasurement(outcomes: outcomes)
    }
}
