import Crypto
import Foundation
import Hummingbird
import Logging
import NewsAlertCore
import NewsAlertStore

/// Settings of the newsroom ingest API.
public struct IngestConfiguration: Sendable {
    /// When a FLASH (urgency 1) waits for a second editor before it goes on `news.events`.
    public enum FlashApproval: String, Sendable, CaseIterable {
        /// Never: a FLASH is published at once.
        case off
        /// Always, even with a single editor key (someone must create a second one).
        case on
        /// When the newsroom has more than one editor key.
        case auto
    }

    /// Largest accepted request body in bytes.
    public var bodyLimitBytes = 256 * 1024
    public var inputLimits = NewsEventInput.Limits()
    public var flashApproval = FlashApproval.auto
    /// How long a FLASH may wait for a second editor before it expires unpublished.
    public var approvalWindow: TimeInterval = 15 * 60
    /// How far ahead `publish_at` may lie.
    public var maxEmbargo: TimeInterval = 30 * 86_400

    public init() {}
}

/// The newsroom API: preview, publish, correct, kill and look up events.
public struct EventRoutes: Sendable {
    let database: AppDatabase
    let publisher: any NewsEventPublisher
    let configuration: IngestConfiguration
    let previewer: EventPreviewer
    let logger: Logger

    public init(database: AppDatabase, publisher: any NewsEventPublisher, configuration: IngestConfiguration, preview: EventPreviewSources, logger: Logger) {
        self.database = database
        self.publisher = publisher
        self.configuration = configuration
        previewer = EventPreviewer(database: database, sources: preview)
        self.logger = logger
    }

    /// The answer to an accepted publish, correction or kill.
    struct Accepted: Codable {
        var id: String
        var topic: String
        var partition: Int
        var offset: Int64
        var status = "accepted"
    }

    /// An event as `GET /v1/events/{id}` shows it.
    struct EventView: Encodable {
        var event: NewsEvent
        var kafka: KafkaPosition
        var receivedAt: Date
        var killed: Bool
        var corrections: [String]
        var enrichment: JSONValue?
        var storyID: String?
        var dedup: String?
        /// Alerts delivered per channel, from the deliveries this node knows (its own and reported ones).
        var alertsByChannel: [String: Int]
        var alertsDelivered: Int { alertsByChannel.values.reduce(0, +) }
        var deliveries: [DeliveryRecord]?
        /// How its alerts are going out: planned, on the channel topics, delivered, failed.
        var progress: AlertProgress

        init(_ entry: EventLogEntry, alertsByChannel: [String: Int], progress: AlertProgress?, deliveries: [DeliveryRecord]? = nil) {
            self.alertsByChannel = alertsByChannel
            self.progress = progress ?? AlertProgress()
            self.deliveries = deliveries
            event = entry.event
            kafka = entry.kafka
            receivedAt = entry.receivedAt
            killed = entry.killed
            corrections = entry.corrections
            enrichment = entry.enrichment.flatMap { try? JSONDecoder().decode(JSONValue.self, from: $0) }
            storyID = entry.storyID
            dedup = entry.dedupOutcome
        }

        enum CodingKeys: String, CodingKey {
            case event, kafka, killed, corrections, enrichment, dedup
            case receivedAt = "received_at"
            case storyID = "story_id"
            case alertsDelivered = "alerts_delivered"
            case alertsByChannel = "alerts_by_channel"
            case deliveries, progress
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(event, forKey: .event)
            try container.encode(kafka, forKey: .kafka)
            try container.encode(receivedAt, forKey: .receivedAt)
            try container.encode(killed, forKey: .killed)
            try container.encode(corrections, forKey: .corrections)
            try container.encode(enrichment ?? .null, forKey: .enrichment)
            try container.encode(storyID, forKey: .storyID)
            try container.encode(dedup, forKey: .dedup)
            try container.encode(alertsDelivered, forKey: .alertsDelivered)
            try container.encode(alertsByChannel, forKey: .alertsByChannel)
            try container.encodeIfPresent(deliveries, forKey: .deliveries)
            try container.encode(progress, forKey: .progress)
        }
    }

    struct EventPage: Encodable {
        var events: [EventView]
    }

    struct StoryTimeline: Encodable {
        var storyID: String
        /// Oldest first.
        var events: [EventView]

        enum CodingKeys: String, CodingKey {
            case storyID = "story_id"
            case events
        }
    }

    private func views(of entries: [EventLogEntry]) async throws -> [EventView] {
        let ids = entries.map(\.event.id)
        let counts = try await database.deliveredAlertCounts(eventIDs: ids)
        let progress = try await database.alertProgress(eventIDs: ids)
        return entries.map { EventView($0, alertsByChannel: counts[$0.event.id] ?? [:], progress: progress[$0.event.id]) }
    }

    public func add(to router: some RouterMethods<NewsAlertRequestContext>) {
        addPreview(to: router)
        router.post("/v1/events") { request, context in
            try await publish(request, context, mayHold: true) { (object, id, receivedAt) throws(ValidationFailure) -> NewsEvent in
                try NewsEventInput(limits: configuration.inputLimits).event(from: object, id: id, receivedAt: receivedAt)
            }
        }
        HeldEventRoutes(database: database).add(to: router)
        router.post("/v1/events/{id}/corrections") { request, context in
            let original = try await liveOriginal(context)
            return try await publish(request, context) { (object, id, receivedAt) throws(ValidationFailure) -> NewsEvent in
                try NewsEventInput(limits: configuration.inputLimits).event(
                    from: object, id: id, receivedAt: receivedAt, supersedes: original.event.id, defaults: original.event)
            }
        }
        router.post("/v1/events/{id}/kill") { request, context in
            let original = try await liveOriginal(context)
            return try await publish(request, context) { (object, id, receivedAt) throws(ValidationFailure) -> NewsEvent in
                try Self.kill(of: original.event, object: object, id: id, receivedAt: receivedAt)
            }
        }
        router.get("/v1/events/{id}") { _, context in
            _ = try context.require(.editor, .admin)
            guard let entry = try await database.eventLogEntry(id: try eventID(context)) else { throw APIError.notFound("event") }
            let deliveries = try await database.deliveries(eventID: entry.event.id, limit: 1000)
            let counts = try await database.deliveredAlertCounts(eventIDs: [entry.event.id])
            let progress = try await database.alertProgress(eventIDs: [entry.event.id])
            return try Response.json(status: .ok, EventView(entry, alertsByChannel: counts[entry.event.id] ?? [:], progress: progress[entry.event.id], deliveries: deliveries))
        }
        router.get("/v1/events") { request, context in
            _ = try context.require(.editor, .admin)
            let limit = try PageLimit.read(request, default: 50, max: 200)
            let entries = try await database.recentEvents(limit: limit)
            return try Response.json(status: .ok, EventPage(events: try await views(of: entries)))
        }
        // A story's timeline: every event with its relation, corrections, kill, and how its alerts went out.
        router.get("/v1/stories/{id}") { _, context in
            _ = try context.require(.editor, .admin)
            let id = try context.parameters.require("id")
            guard id.hasPrefix("story-"), EventID.isPlausible(String(id.dropFirst("story-".count))) else { throw APIError.notFound("story") }
            let entries = try await database.storyEvents(storyID: id, limit: 500)
            guard !entries.isEmpty else { throw APIError.notFound("story") }
            return try Response.json(status: .ok, StoryTimeline(storyID: id, events: try await views(of: entries)))
        }
    }

    private func eventID(_ context: NewsAlertRequestContext) throws -> String {
        let id = try context.parameters.require("id")
        guard EventID.isPlausible(id) else { throw APIError.notFound("event") }
        return id
    }

    /// The event a correction or kill refers to: 404 if unknown, 409 if already killed.
    private func liveOriginal(_ context: NewsAlertRequestContext) async throws -> EventLogEntry {
        _ = try context.require(.editor, .admin)
        guard let entry = try await database.eventLogEntry(id: try eventID(context)) else { throw APIError.notFound("event") }
        guard !entry.killed, entry.event.status != .canceled else {
            throw APIError(.conflict, code: "already_killed", message: "event \(entry.event.id) was killed; it can no longer be corrected or killed")
        }
        return entry
    }

    static func kill(of original: NewsEvent, object: [String: Any], id: String, receivedAt: Date) throws(ValidationFailure) -> NewsEvent {
        var problems = object.keys.filter { $0 != "reason" }.sorted().map { FieldProblem(field: $0, problem: "is not a known field") }
        let reason = (object["reason"] as? String)?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        if !(1...500).contains(reason.count) { problems.append(FieldProblem(field: "reason", problem: "is required: 1 to 500 characters saying why the item is killed")) }
        guard problems.isEmpty else { throw ValidationFailure(problems) }
        var kill = original
        kill.id = id
        kill.status = .canceled
        kill.supersedes = original.id
        kill.reason = reason
        kill.storyOverride = nil
        kill.publishedAt = receivedAt
        return kill
    }

    /// Auth, body checks, idempotency, validation, publish, record: the path every write shares.
    private func publish(
        _ request: Request, _ context: NewsAlertRequestContext, mayHold: Bool = false,
        makeEvent: @escaping @Sendable ([String: Any], String, Date) throws(ValidationFailure) -> NewsEvent
    ) async throws -> Response {
        let principal = try context.require(.editor, .admin)
        let idempotencyKey = try Self.idempotencyKey(request)
        let body = try await JSONRequestBody.read(request, limit: configuration.bodyLimitBytes)
        guard let idempotencyKey else {
            return Response.json(status: .accepted, data: try await validateAndPublish(
                body, as: .fresh(), principal: principal, idempotencyKey: nil, mayHold: mayHold, makeEvent: makeEvent))
        }
        // The key covers the method and path too: the same key on another endpoint is another request.
        let fingerprint = Data("\(request.method) \(request.uri.path)\n".utf8) + body.data
        switch try await database.claimIdempotencyKey(idempotencyKey, principal: principal, requestBody: fingerprint, proposing: .fresh()) {
        case .replay(let status, let data):
            var response = Response.json(status: .init(code: status), data: data)
            response.headers[.init("Idempotent-Replayed")!] = "true"
            return response
        case .reusedWithDifferentBody:
            throw APIError(.conflict, code: "idempotency_key_reused", message: "this Idempotency-Key was already used with a different request")
        case .inProgress:
            throw APIError(.conflict, code: "idempotency_key_in_progress", message: "a request with this Idempotency-Key is still being processed; retry shortly")
        case .proceed(let identity):
            do {
                let accepted = try await validateAndPublish(body, as: identity, principal: principal, idempotencyKey: idempotencyKey, mayHold: mayHold, makeEvent: makeEvent)
                try await database.completeIdempotentRequest(idempotencyKey, principal: principal, status: 202, body: accepted)
                return Response.json(status: .accepted, data: accepted)
            } catch let error as APIError where (400..<500).contains(error.status.code) {
                try await database.completeIdempotentRequest(idempotencyKey, principal: principal, status: error.status.code, body: error.bodyData)
                throw error
            } catch {
                try? await database.releaseIdempotencyKey(idempotencyKey, principal: principal)
                throw error
            }
        }
    }

    private func validateAndPublish(
        _ body: JSONRequestBody, as identity: EventIdentity, principal: APIPrincipal, idempotencyKey: String?, mayHold: Bool,
        makeEvent: @Sendable ([String: Any], String, Date) throws(ValidationFailure) -> NewsEvent
    ) async throws -> Data {
        let receivedAt = identity.receivedAt
        var object = body.object
        var problems: [FieldProblem] = []
        let publishAt = mayHold ? self.publishAt(removingFrom: &object, receivedAt: receivedAt, problems: &problems) : nil
        var made: NewsEvent?
        do throws(ValidationFailure) {
            made = try makeEvent(object, identity.id, receivedAt)
        } catch {
            problems = error.problems + problems
        }
        guard problems.isEmpty, var event = made else { throw APIError.invalidFields(ValidationFailure(problems)) }
        if event.storyOverride != nil, let problem = previewer.overrideProblem(event, in: try await previewer.storyIndex()) {
            throw APIError.invalidFields(ValidationFailure([problem]))
        }
        if mayHold {
            // An embargoed item is published as of its publish time, unless the newsroom dated it itself.
            if let publishAt, object["published_at"] == nil || object["published_at"] is NSNull { event.publishedAt = publishAt }
            var held: HeldEvent?
            if try await needsApproval(event) {
                held = try await database.holdForApproval(event, requestedBy: principal, at: receivedAt,
                                                          expiresAt: receivedAt.addingTimeInterval(configuration.approvalWindow), publishAt: publishAt)
            } else if let publishAt {
                held = try await database.schedule(event, requestedBy: principal, at: receivedAt, publishAt: publishAt)
            }
            if let held {
                logger.info("event held", metadata: ["event.id": "\(event.id)", "held.state": "\(held.state.rawValue)"])
                return try JSONEncoder.newsAlert.encode(Held(
                    id: held.event.id, status: held.state.rawValue, expiresAt: held.expiresAt, publishAt: held.publishAt, requestedByName: held.requestedByName))
            }
        }
        let publication: KafkaPosition
        do {
            publication = try await publisher.publish(event, idempotencyKey: idempotencyKey)
        } catch {
            logger.error("publishing an event failed", metadata: ["event.id": "\(event.id)", "error": "\(error)"])
            throw APIError.kafkaUnavailable("the event could not be stored in Kafka; nothing was published, retry later")
        }
        try await database.recordPublishedEvent(
            event, at: publication,
            receivedAt: receivedAt, principal: principal)
        logger.info("event published", metadata: ["event.id": "\(event.id)", "event.kind": "\(event.kind.rawValue)", "kafka.offset": "\(publication.offset)"])
        return try JSONEncoder.newsAlert.encode(Accepted(id: event.id, topic: publication.topic, partition: publication.partition, offset: publication.offset))
    }

    private static func idempotencyKey(_ request: Request) throws -> String? {
        guard let key = request.headers[.init("Idempotency-Key")!] else { return nil }
        guard (1...200).contains(key.count), key.allSatisfy({ $0.isASCII && !$0.isNewline }) else {
            throw APIError(.badRequest, code: "invalid_idempotency_key", message: "Idempotency-Key must be 1 to 200 printable ASCII characters",
                           fields: [FieldProblem(field: "Idempotency-Key", problem: "must be 1 to 200 printable ASCII characters")])
        }
        return key
    }
}
