import Foundation
import Logging
import NewsAlertCore
import NewsAlertStore
import ServiceLifecycle

/// Puts held events on `news.events` when they fall due (an embargo's publish time, or at once once a second
/// editor approved a FLASH), and expires FLASH items nobody approved in time.
///
/// The held items live in SQLite, so a restart resumes them; it wakes on every change to them and otherwise at
/// the next due time. An item published twice (a crash between the broker's acknowledgement and the mark)
/// carries the same event id, which enrich drops as an idempotent duplicate.
public final class HeldEventReleaser: Service, Sendable {
    private let database: AppDatabase
    private let publisher: any NewsEventPublisher
    private let logger: Logger
    /// The longest sleep between two looks, and the pause after a failed publish.
    private let pollInterval: Duration

    public init(database: AppDatabase, publisher: any NewsEventPublisher, pollInterval: Duration = .seconds(5), logger: Logger) {
        self.database = database
        self.publisher = publisher
        self.pollInterval = pollInterval
        self.logger = logger
    }

    public func run() async throws {
        let changes = database.changes(of: "held_event")
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let now = Date()
                var wait = self.pollInterval
                do {
                    try await self.database.expireHeldEvents(now: now)
                    try await self.releaseDue(now: now)
                    if let next = try await self.database.nextHeldEventDue() {
                        wait = min(wait, .milliseconds(max(10, Int(next.timeIntervalSince(Date()) * 1000) + 5)))
                    }
                } catch {
                    self.logger.warning("held events could not be released; retrying", metadata: ["error": "\(error)"])
                }
                await changes.wait(upTo: wait)
            }
        }
    }

    /// Publishes every scheduled item due at `now`; returns how many went out.
    @discardableResult
    public func releaseDue(now: Date) async throws -> Int {
        let due = try await database.dueHeldEvents(now: now, limit: 100)
        for held in due {
            let position = try await publisher.publish(held.event, idempotencyKey: nil)
            let publishedAt = Date()
            try await database.recordPublishedEvent(held.event, at: position, receivedAt: publishedAt,
                                                    principal: APIPrincipal(keyID: held.requestedBy, role: .editor))
            try await database.markHeldEventPublished(id: held.event.id, at: publishedAt)
            logger.info("held event published", metadata: ["event.id": "\(held.event.id)", "kafka.offset": "\(position.offset)"])
        }
        return due.count
    }
}
