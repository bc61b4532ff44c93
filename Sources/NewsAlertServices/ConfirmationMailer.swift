import Foundation
import Logging
import Metrics
import NewsAlertCore
import NewsAlertDelivery
import NewsAlertHTTP
import NewsAlertStore
import ServiceLifecycle

/// Sends the confirmation mails of double opt-in that this node's database owes, and deletes email channels whose
/// owner did not confirm them in time.
///
/// Requests are queued in SQLite with the channel (rate limited per address there), so a restart sends what is
/// still owed; a temporary relay failure is retried with growing pauses, up to `EmailConfirmationPolicy.maximumAttempts`.
public final class ConfirmationMailer: Service, Sendable {
    private let database: AppDatabase
    private let pool: SMTPRelayPool
    private let from: EmailAddress
    private let links: SignedLinks
    private let window: TimeInterval
    private let pollInterval: Duration
    private let logger: Logger

    public init(
        database: AppDatabase, pool: SMTPRelayPool, from: EmailAddress, links: SignedLinks,
        window: TimeInterval = EmailConfirmationPolicy.defaultWindow, pollInterval: Duration = .seconds(30), logger: Logger
    ) {
        self.database = database
        self.pool = pool
        self.from = from
        self.links = links
        self.window = window
        self.pollInterval = pollInterval
        self.logger = logger
    }

    public func run() async throws {
        let changes = database.changes(of: "email_confirmation")
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                var wait = self.pollInterval
                do {
                    let expired = try await self.database.expireUnconfirmedChannels(now: Date(), window: self.window)
                    if !expired.isEmpty {
                        Counter(label: "newsalert_signup_confirmations_total", dimensions: [("outcome", "expired")]).increment(by: expired.count)
                        self.logger.info("unconfirmed email channels expired", metadata: ["count": "\(expired.count)"])
                    }
                    // Pauses readers set in the preference centre end here too.
                    try await self.database.resumePausedSubscribers(now: Date())
                    try await self.sendDue(now: Date())
                    for next in [try await self.database.nextConfirmationDue(), try await self.database.nextPauseEnd()].compactMap({ $0 }) {
                        wait = min(wait, .milliseconds(max(10, Int(next.timeIntervalSince(Date()) * 1000) + 5)))
                    }
                } catch {
                    self.logger.warning("confirmation mails could not be sent; retrying", metadata: ["error": "\(error)"])
                }
                await changes.wait(upTo: wait)
            }
        }
    }

    /// Sends every confirmation mail due at `now`.
    func sendDue(now: Date) async throws {
        for due in try await database.dueConfirmations(now: now) {
            let expires = due.createdAt.addingTimeInterval(window)
            let content = ConfirmationEmailContent(confirmationURL: links.confirmationURL(channelID: due.channelID, address: due.address, expires: expires), expires: expires)
            do {
                let message = MailMessage(
                    from: from, to: [try EmailAddress(due.address)], subject: content.subject, textBody: content.text, htmlBody: content.html,
                    messageID: "<confirm.\(due.channelID).\(SignedLinks.Purpose.confirmEmail.rawValue)@\(from.domain)>")
                _ = try await pool.send(message)
                try await database.recordConfirmationAttempt(channelID: due.channelID, sent: true, retryAt: nil, error: nil)
                Counter(label: "newsalert_signup_confirmations_total", dimensions: [("outcome", "sent")]).increment()
                logger.info("confirmation mail sent", metadata: ["channel.id": "\(due.channelID)"])
            } catch {
                let transient = (error as? SMTPError)?.isTransient ?? !(error is SMTPError)
                let attempts = due.attempts + 1
                let retryAt = transient && attempts < EmailConfirmationPolicy.maximumAttempts ? Date().addingTimeInterval(Double(5 << min(attempts, 8))) : nil
                // The address is never logged: the channel id names it for operators who may see it.
                let detail = (error as? SMTPError).map { String($0.description.prefix(200)) } ?? "\(type(of: error))"
                try await database.recordConfirmationAttempt(channelID: due.channelID, sent: false, retryAt: retryAt, error: detail)
                Counter(label: "newsalert_signup_confirmations_total", dimensions: [("outcome", retryAt == nil ? "failed" : "retry")]).increment()
                logger.warning("confirmation mail not sent", metadata: ["channel.id": "\(due.channelID)", "error": "\(detail)", "retry": "\(retryAt != nil)"])
            }
        }
    }
}
