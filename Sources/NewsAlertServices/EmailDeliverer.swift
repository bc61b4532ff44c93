import Foundation
import NewsAlertCore
import NewsAlertDelivery
import NewsAlertHTTP

/// Email delivery: the alert rendered as multipart/alternative, with one-click unsubscribe headers, sent through a
/// pooled SMTP relay. 4xx replies and relay outages are retried; 5xx replies fail the delivery.
public struct EmailDeliverer: ChannelDeliverer {
    public let kind = DeliveryChannel.Kind.email
    let pool: SMTPRelayPool
    let from: EmailAddress
    let links: UnsubscribeLinks
    /// Signs the preference-centre link of every alert email (valid 30 days from the alert's creation).
    let preferences: SignedLinks?

    public init(pool: SMTPRelayPool, from: EmailAddress, links: UnsubscribeLinks, preferences: SignedLinks? = nil) {
        self.pool = pool
        self.from = from
        self.links = links
        self.preferences = preferences
    }

    /// `Name <address>` or a bare address, as NEWSALERT_MAIL_FROM is written.
    public static func mailbox(_ text: String) throws -> EmailAddress {
        guard let open = text.lastIndex(of: "<"), let close = text.lastIndex(of: ">"), open < close else {
            return try EmailAddress(text.trimmingCharacters(in: .whitespaces))
        }
        let name = text[..<open].trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        return try EmailAddress(String(text[text.index(after: open)..<close]), displayName: name.isEmpty ? nil : name)
    }

    public func deliver(_ alert: Alert, to channel: DeliveryChannel, attempt: Int) async -> ChannelAttemptResult {
        let unsubscribe = links.url(for: channel.id)
        // Dated from the alert, not the attempt, so a retry sends the same message.
        let preferencesURL = preferences?.preferencesURL(subscriberID: channel.subscriberID, expires: alert.createdAt.addingTimeInterval(30 * 86_400))
        let content = AlertEmailContent(alert, unsubscribeURL: unsubscribe, preferencesURL: preferencesURL)
        let message: MailMessage
        do {
            message = MailMessage(
                from: from, to: [try EmailAddress(channel.target)], subject: content.subject, textBody: content.text, htmlBody: content.html,
                // Stable across retries, so a receiving system can drop a repeat. One-click unsubscribe (RFC 8058) needs https.
                messageID: "<\(alert.alertID)@\(from.domain)>",
                headers: try MailHeader.listUnsubscribe([unsubscribe], oneClick: unsubscribe.lowercased().hasPrefix("https:")))
        } catch {
            return .failed(statusCode: nil, detail: "the email could not be built: \(error)", disablesChannel: false)
        }
        do {
            let receipt = try await pool.send(message)
            return .delivered(statusCode: receipt.reply.code, detail: String(receipt.reply.description.prefix(200)))
        } catch let error as SMTPError {
            let code = error.reply?.code
            let detail = String(error.description.prefix(300))
            // Only a refusal of this recipient or message is a bounce; TLS, AUTH and protocol failures are the
            // relay's or the operator's problem and are retried, so they never count against the subscriber.
            let bounces: [SMTPError.Kind] = [.recipientRejected, .messageRejected, .messageTooLarge, .senderRejected]
            if error.isTransient || !bounces.contains(error.kind) { return .retry(statusCode: code, detail: detail, retryAfter: nil) }
            return .failed(statusCode: code, detail: detail, disablesChannel: false)
        } catch {
            return .retry(statusCode: nil, detail: "sending failed: \(type(of: error))", retryAfter: nil)
        }
    }
}
