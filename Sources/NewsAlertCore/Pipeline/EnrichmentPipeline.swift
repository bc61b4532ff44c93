import Foundation

/// The enrich stage as a pure state machine: decode a `news.events` record, enrich it, and thread it
/// into a story or drop it as a duplicate. The service around it only moves bytes and persists state.
public struct EnrichmentPipeline: Sendable {
    /// What became of one record.
    public enum Outcome: Sendable, Hashable {
        /// Publish this on `news.enriched`, keyed by its story id.
        case enriched(EnrichedEvent)
        /// Seen before: drop it (and count it).
        case duplicate(DuplicateKind, of: String)
    }

    /// Why a record cannot be processed at all; it goes to the dead-letter topic with this reason.
    public struct UnprocessableRecord: Error, Sendable, Hashable {
        public var reason: String
    }

    private let enricher: Enricher
    private var threader: StoryThreader

    public init(enricher: Enricher, threader: StoryThreader) {
        self.enricher = enricher
        self.threader = threader
    }

    /// The threading state to persist after each accepted event, so a restart continues the same stories.
    public var snapshot: StoryIndexSnapshot { threader.snapshot }

    public var storyCount: Int { threader.storyCount }

    /// Decodes a `news.events` value, checking what the contract requires beyond JSON types.
    public static func decodeEvent(_ value: [UInt8]) throws(UnprocessableRecord) -> NewsEvent {
        let event: NewsEvent
        do {
            event = try JSONDecoder.newsAlert.decode(NewsEvent.self, from: Data(value))
        } catch let DecodingError.keyNotFound(key, _) {
            throw UnprocessableRecord(reason: "does not match the news-event schema: \(key.stringValue) is required")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context), let DecodingError.dataCorrupted(context) {
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            if path.isEmpty { throw UnprocessableRecord(reason: "value is not a valid JSON news event: \(context.debugDescription)") }
            throw UnprocessableRecord(reason: "does not match the news-event schema at \(path): \(context.debugDescription)")
        } catch {
            throw UnprocessableRecord(reason: "value is not a valid JSON news event")
        }
        guard EventID.isPlausible(event.id) else { throw UnprocessableRecord(reason: "does not match the news-event schema: id is not a valid event id") }
        guard !event.headline.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw UnprocessableRecord(reason: "does not match the news-event schema: headline is empty")
        }
        return event
    }

    public mutating func process(_ event: NewsEvent, idempotencyKey: String?, now: Date) -> Outcome {
        let enrichment = enricher.enrich(event)
        switch threader.process(event: event, enrichment: enrichment, idempotencyKey: idempotencyKey, now: now) {
        case .duplicate(let kind, let original):
            return .duplicate(kind, of: original)
        case .accepted(let assignment):
            return .enriched(EnrichedEvent(event: event, enrichment: enrichment, story: assignment, enrichedAt: now))
        }
    }
}
