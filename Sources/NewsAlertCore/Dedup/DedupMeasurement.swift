import Foundation

/// Precision and recall of story threading on a labelled pair set, with every pair's outcome.
public struct DedupMeasurement: Sendable {
    /// One pair's outcome.
    public struct Outcome: Sendable {
        public let pair: LabelledPair
        /// True when the threader put `b` in `a`'s story (or dropped it as a duplicate of `a`).
        public let predictedSame: Bool
        public let similarity: StorySimilarity

        /// True when the prediction agrees with the label.
        public var isCorrect: Bool { predictedSame == pair.sameStory }
    }

    public let outcomes: [Outcome]

    /// A measurement over `outcomes`, e.g. a subset of another measurement's.
    public init(outcomes: [Outcome]) {
        self.outcomes = outcomes
    }

    public var truePositives: Int { outcomes.filter { $0.predictedSame && $0.pair.sameStory }.count }
    public var falsePositives: Int { outcomes.filter { $0.predictedSame && !$0.pair.sameStory }.count }
    public var falseNegatives: Int { outcomes.filter { !$0.predictedSame && $0.pair.sameStory }.count }
    public var trueNegatives: Int { outcomes.filter { !$0.predictedSame && !$0.pair.sameStory }.count }

    /// Share of predicted same-story pairs that are labelled same-story (1 when nothing was predicted).
    public var precision: Double {
        let predicted = truePositives + falsePositives
        return predicted == 0 ? 1 : Double(truePositives) / Double(predicted)
    }

    /// Share of labelled same-story pairs the threader joined (1 when there are none).
    public var recall: Double {
        let actual = truePositives + falseNegatives
        return actual == 0 ? 1 : Double(truePositives) / Double(actual)
    }

    /// "precision 0.97 recall 0.94 (tp 31 fp 1 fn 2 tn 37)".
    public var summary: String {
        String(format: "precision %.3f recall %.3f (tp %d fp %d fn %d tn %d)", precision, recall, truePositives, falsePositives, falseNegatives, trueNegatives)
    }
}
