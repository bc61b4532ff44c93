/// Generates reproducible, realistic matchable events for tests and benchmarks.
///
/// Mostly breaking lines and articles in Politics about MENA and Palestine, with a long tail of other sections,
/// regions, countries, tags and entities; text mixes filler with the words rules look for.
public struct EventGenerator: Sendable {
    private static let urgencyWeights: [Double] = [4, 8, 18, 20, 20, 15, 8, 4, 3]

    private var random: SeededRandomGenerator
    private var produced = 0

    public init(seed: UInt64) {
        random = SeededRandomGenerator(seed: seed)
    }

    /// The next event: ids `event-N`, stories `story-M` (a story has a few events).
    public mutating func next() -> MatchableEvent {
        produced += 1
        let kind: NewsKind = random.chance(0.45) ? .breaking : random.chance(0.6) ? .article : random.skewedElement(of: [.analysis, .opinion, .feature, .blog])
        var regions = [random.skewedElement(of: NewsVocabulary.regions)]
        if regions == [.palestine] { regions.append(.mena) }
        if random.chance(0.2) {
            let extra = random.skewedElement(of: NewsVocabulary.regions)
            if !regions.contains(extra) { regions.append(extra) }
        }
        return MatchableEvent(
            eventID: "event-\(produced)", storyID: "story-\(produced / 3 + Int.random(in: 0...2, using: &random))", kind: kind,
            sections: random.skewedElements(random.chance(0.05) ? 2 : 1, of: NewsVocabulary.sections), regions: regions,
            countries: random.skewedElements(Int.random(in: 0...3, using: &random), of: NewsVocabulary.countries),
            tags: random.skewedElements(Int.random(in: 0...3, using: &random), of: NewsVocabulary.tags),
            entities: random.skewedElements(Int.random(in: 0...3, using: &random), of: NewsVocabulary.entities),
            urgency: Urgency(rawValue: random.weightedIndex(Self.urgencyWeights) + 1) ?? .routine,
            text: text(wordCount: kind == .breaking ? Int.random(in: 8...20, using: &random) : Int.random(in: 40...120, using: &random)))
    }

    private mutating func text(wordCount: Int) -> String {
        var words: [String] = []
        while words.count < wordCount {
            switch random.weightedIndex([70, 18, 5, 4, 3]) {
            case 0: words.append(random.skewedElement(of: NewsVocabulary.filler))
            case 1: words.append(random.skewedElement(of: NewsVocabulary.keywords))
            case 2: words.append(contentsOf: random.skewedElement(of: NewsVocabulary.phrases))
            case 3: words.append(random.skewedElement(of: NewsVocabulary.entities))
            default: words.append(random.skewedElement(of: NewsVocabulary.exclusions))
            }
        }
        return words.joined(separator: " ") + "."
    }
}
