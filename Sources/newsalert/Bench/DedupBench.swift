import ArgumentParser
import Foundation
import NewsAlertCore

/// `newsalert bench dedup`: enrichment + story threading throughput, and accuracy on labelled pairs.
struct DedupBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dedup",
        abstract: "Run enrichment and deduplication over a stream; print events/s, stories formed and precision/recall.",
        discussion: """
            The stream is generated (stories with escalating updates, interleaved) unless --file gives a JSON Lines
            file of news events. Precision and recall come from labelled pairs: the bundled set, or --labelled.
            """)

    @Option(help: "Events to generate.") var events: Int = 20_000
    @Option(help: "A JSON Lines file of news events (news-event schema) to use instead of a generated stream.") var file: String?
    @Option(help: "A JSON Lines file of labelled pairs {\"a\", \"b\", \"same_story\"}.") var labelled: String?
    @Option(help: "Path of iso-codes' iso_3166-1.json.") var isoCodes: String = Gazetteer.defaultISOCodesPath
    @Option(help: "Print the decision for the first N events.") var show: Int = 0

    func run() async throws {
        let loadStart = ContinuousClock.now
        let enricher = Enricher(gazetteer: try Gazetteer.load(isoCodesPath: isoCodes))
        printLine("gazetteer loaded in \(String(format: "%.0f", (ContinuousClock.now - loadStart).seconds * 1000)) ms")

        let stream: [NewsEvent]
        var expectedStories: Int?
        if let file {
            let decoder = JSONDecoder.newsAlert
            stream = try String(contentsOfFile: file, encoding: .utf8).split(whereSeparator: \.isNewline)
                .map { try decoder.decode(NewsEvent.self, from: Data($0.utf8)) }
        } else {
            let generated = GeneratedNewsStream(events: events)
            stream = generated.events
            expectedStories = generated.storyCount
        }

        var pipeline = EnrichmentPipeline(enricher: enricher, threader: StoryThreader())
        var duplicates = 0
        var updates = 0
        var storiesStarted = 0
        let clock = ContinuousClock()
        let started = clock.now
        for (index, event) in stream.enumerated() {
            let outcome = pipeline.process(event, idempotencyKey: nil, now: event.publishedAt)
            switch outcome {
            case .duplicate: duplicates += 1
            case .enriched(let enriched): if enriched.story.sequence > 1 { updates += 1 } else { storiesStarted += 1 }
            }
            if index < show { printLine("  \(event.id) \(Self.describe(outcome)): \(event.headline)") }
        }
        let seconds = (clock.now - started).seconds
        printLine("stream:   \(stream.count) events, \(formatRate(Double(stream.count) / seconds)) events/s (enrich + dedup + threading, one core)")
        printLine("stories:  \(storiesStarted) formed" + (expectedStories.map { " (the generator wrote \($0))" } ?? "") + ", \(updates) updates joined a story, \(duplicates) duplicates dropped")

        let pairs = try labelled.map { try DedupEvaluation.parsePairs(jsonl: Data(contentsOf: URL(fileURLWithPath: $0))) } ?? DedupEvaluation.bundledPairs()
        let measurement = DedupEvaluation.measure(pairs: pairs, enricher: enricher)
        printLine("summary: dedup \(formatRate(Double(stream.count) / seconds)) events/s, \(storiesStarted) stories from \(stream.count) events")
        printLine("pairs:    \(pairs.count) labelled pairs (\(labelled ?? "bundled set")): \(measurement.summary)")
    }

    private static func describe(_ outcome: EnrichmentPipeline.Outcome) -> String {
        switch outcome {
        case .duplicate(let kind, let original): "duplicate (\(kind.rawValue)) of \(original)"
        case .enriched(let enriched): "\(enriched.story.relation.rawValue) #\(enriched.story.sequence) of \(enriched.story.storyId)"
        }
    }
}
