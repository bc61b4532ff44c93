import Foundation
import NewsAlertCore
import NewsAlertStore
import NIOConcurrencyHelpers

/// The answer of `POST /v1/events/preview`: what newsalert would make of an event posted now.
struct EventPreview: Encodable {
    /// The threading decision, with the lines of the story it concerns.
    struct Dedup: Encodable {
        /// `new_story`, `update` or `duplicate`.
        var decision: String
        var storyID: String?
        var updateOf: String?
        var similarity: Double?
        var because: String
        var addsInformation: Bool?
        var newInformation: [String]
        var duplicateKind: String?
        var duplicateOf: String?
        /// The newest lines of the story, newest first.
        var storyLines: [StoryLine]

        enum CodingKeys: String, CodingKey {
            case decision
            case storyID = "story_id"
            case updateOf = "update_of"
            case similarity, because
            case addsInformation = "adds_information"
            case newInformation = "new_information"
            case duplicateKind = "duplicate_kind"
            case duplicateOf = "duplicate_of"
            case storyLines = "story_lines"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(decision, forKey: .decision)
            try container.encode(storyID, forKey: .storyID)
            try container.encode(updateOf, forKey: .updateOf)
            try container.encode(similarity, forKey: .similarity)
            try container.encode(because, forKey: .because)
            try container.encode(addsInformation, forKey: .addsInformation)
            try container.encode(newInformation, forKey: .newInformation)
            try container.encode(duplicateKind, forKey: .duplicateKind)
            try container.encode(duplicateOf, forKey: .duplicateOf)
            try container.encode(storyLines, forKey: .storyLines)
        }
    }

    /// Whether posting it now would hold it back instead of publishing it.
    struct Hold: Encodable {
        /// `pending_approval` or `scheduled`.
        var state: String
        var because: String
        var publishAt: Date?

        enum CodingKeys: String, CodingKey {
            case state, because
            case publishAt = "publish_at"
        }
    }

    var event: NewsEvent
    var enrichment: Enrichment
    var dedup: Dedup
    var audience: AudiencePreview
    var hold: Hold?

    enum CodingKeys: String, CodingKey {
        case event, enrichment, dedup, audience, hold
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(event, forKey: .event)
        try container.encode(enrichment, forKey: .enrichment)
        try container.encode(dedup, forKey: .dedup)
        try container.encode(audience, forKey: .audience)
        try container.encode(hold, forKey: .hold)
    }
}

/// Computes previews with the enrich stage's pure code against what this node can read; writes nothing.
struct EventPreviewer: Sendable {
    let database: AppDatabase
    let sources: EventPreviewSources
    /// The last story index decoded, with the time it was saved: an editor previews many times between two saves.
    private let cache = NIOLockedValueBox<(savedAt: Date, threader: StoryThreader)?>(nil)

    init(database: AppDatabase, sources: EventPreviewSources) {
        self.database = database
        self.sources = sources
    }

    /// How many lines of a story a preview shows.
    static let storyLineCount = 3

    /// The enrich stage's story index as last saved on this node, else one rebuilt from the enriched events kept for previews.
    func storyIndex() async throws -> StoryThreader {
        if let savedAt = try await database.storyIndexSavedAt() {
            if let cached = cache.withLockedValue({ $0 }), cached.savedAt == savedAt { return cached.threader }
            if let snapshot = try await database.loadStoryIndex() {
                let threader = StoryThreader(snapshot: snapshot, configuration: sources.threader)
                cache.withLockedValue { $0 = (savedAt, threader) }
                return threader
            }
        }
        var threader = StoryThreader(configuration: sources.threader)
        for enriched in try await database.recentEnriched(limit: AppDatabase.recentEnrichedCapacity).reversed() {
            _ = threader.process(event: enriched.event, enrichment: enriched.enrichment, now: enriched.enrichedAt)
        }
        return threader
    }

    /// A problem with `story_override` if it names a story this node does not know.
    func overrideProblem(_ event: NewsEvent, in threader: StoryThreader) -> FieldProblem? {
        guard case .updateOf(let storyID) = event.storyOverride, threader.story(storyID) == nil else { return nil }
        return FieldProblem(field: "story_override", problem: "\(storyID) is not a recent story (unknown, or past the \(Int(sources.threader.retention / 3600)) h retention)")
    }

    func preview(_ event: NewsEvent, threader: StoryThreader, now: Date) async throws -> EventPreview {
        let enrichment = sources.enricher.enrich(event)
        let decision = threader.preview(event: event, enrichment: enrichment, now: now)
        let readers = sources.tickerReaders()
        switch decision {
        case .duplicate(let kind, let original):
            let storyID = try await database.storyID(ofEvent: original)
            var lines: [StoryLine] = []
            if let storyID { lines = try await database.storyLines(storyID: storyID, limit: Self.storyLineCount) }
            let dedup = EventPreview.Dedup(
                decision: "duplicate", storyID: storyID, updateOf: nil, similarity: 1,
                because: kind == .exact ? "the same words as \(original), seen within the match window" : "the same event as \(original)",
                addsInformation: false, newInformation: [], duplicateKind: kind.rawValue, duplicateOf: original, storyLines: lines)
            return EventPreview(event: event, enrichment: enrichment, dedup: dedup, audience: .nobody(tickerReaders: readers))
        case .accepted(let assignment):
            let isNew = assignment.sequence == 1
            let lines = isNew ? [] : try await database.storyLines(storyID: assignment.storyId, limit: Self.storyLineCount)
            let dedup = EventPreview.Dedup(
                decision: isNew ? "new_story" : "update", storyID: isNew ? nil : assignment.storyId, updateOf: assignment.updateOf,
                similarity: isNew ? nil : assignment.similarity, because: assignment.because, addsInformation: assignment.addsInformation,
                newInformation: assignment.newInformation, duplicateKind: nil, duplicateOf: nil, storyLines: lines)
            let enriched = EnrichedEvent(event: event, enrichment: enrichment, story: assignment, enrichedAt: now)
            let delivered = isNew ? [] : try await database.storyDeliveries(storyID: assignment.storyId)
            let catalog = try await sources.catalog()
            let plan = try FanoutPlanner.plan(enriched, catalog: catalog, delivered: delivered, recent: { [database] subscriberID in
                try database.recentDeliveriesNow(subscriberID: subscriberID, now: now)
            }, now: now)
            return EventPreview(event: event, enrichment: enrichment, dedup: dedup, audience: AudiencePreview(plan: plan, tickerReaders: readers))
        }
    }
}
