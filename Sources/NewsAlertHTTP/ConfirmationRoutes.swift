import Foundation
import Hummingbird
import Metrics
import NewsAlertCore
import NewsAlertStore

/// Double opt-in: `GET /v1/confirm` shows the confirmation page of a signed link (link scanners that fetch it confirm
/// nothing); `POST /v1/confirm` (its button) records the owner's consent, after which alerts go to the address.
public struct ConfirmationRoutes: Sendable {
    let database: AppDatabase
    let links: SignedLinks

    public init(database: AppDatabase, links: SignedLinks) {
        self.database = database
        self.links = links
    }

    public func add(to router: some RouterMethods<NewsAlertRequestContext>) {
        router.get("/v1/confirm") { request, _ in
            let (channel, query) = try await verifiedChannel(request)
            let action = "/v1/confirm?" + query
            let done = channel.consent != nil
            let page = Self.page(title: "Confirm your alerts", body: done
                ? "<h1>Alerts to \(AlertEmailContent.escape(channel.target)) are confirmed</h1><p>Nothing more to do.</p>"
                : """
                <h1>Send breaking-news alerts to \(AlertEmailContent.escape(channel.target))?</h1>
                <form method="post" action="\(AlertEmailContent.escape(action))"><button type="submit" id="confirm">Confirm</button></form>
                """)
            return Self.html(page)
        }
        router.post("/v1/confirm") { request, _ in
            let (channel, _) = try await verifiedChannel(request)
            guard let confirmed = try await database.confirmChannel(id: channel.id, address: channel.target) else { throw Self.badLink }
            if channel.consent == nil { Counter(label: "newsalert_signup_confirmations_total", dimensions: [("outcome", "confirmed")]).increment() }
            if request.headers[.accept]?.contains("application/json") == true {
                return try Response.json(status: .ok, ["channel": confirmed.id, "status": "confirmed"])
            }
            return Self.html(Self.page(title: "Alerts confirmed", body: """
                <h1 id="confirmed">Alerts to \(AlertEmailContent.escape(confirmed.target)) are confirmed</h1>
                <p>The next breaking alert that matches your topics will reach you by email.</p>
                """))
        }
    }

    static let badLink = APIError(.notFound, code: "bad_link", message: "this confirmation link is not valid: open the link from the latest confirmation mail")

    /// The channel a link names, if its signature is right and it has not expired: 404 for an unknown channel or a
    /// wrong signature (the same answer for both), 410 for an expired link.
    private func verifiedChannel(_ request: Request) async throws -> (DeliveryChannel, String) {
        let query = request.uri.queryParameters
        guard let id = query.get("channel"), let expires = query.get("expires"), let token = query.get("token"),
              EntityID.isPlausible(id, prefix: EntityID.channelPrefix) else {
            Counter(label: "newsalert_public_rejections_total", dimensions: [("endpoint", "confirm"), ("reason", "malformed")]).increment()
            throw APIError(.badRequest, code: "bad_link", message: "a confirmation link needs channel, expires and token")
        }
        guard let channel = try await database.channel(id: id), channel.kind == .email else {
            Counter(label: "newsalert_public_rejections_total", dimensions: [("endpoint", "confirm"), ("reason", "unknown")]).increment()
            throw Self.badLink
        }
        switch links.verify(.confirmEmail, subject: SignedLinks.confirmationSubject(channel.id, channel.target), expiresText: expires, signature: token) {
        case .success:
            return (channel, "channel=\(id)&expires=\(expires)&token=\(token)")
        case .failure(.expired):
            Counter(label: "newsalert_public_rejections_total", dimensions: [("endpoint", "confirm"), ("reason", "expired")]).increment()
            throw APIError(.gone, code: "link_expired", message: "this confirmation link expired: sign up again for a new one")
        case .failure:
            Counter(label: "newsalert_public_rejections_total", dimensions: [("endpoint", "confirm"), ("reason", "signature")]).increment()
            throw Self.badLink
        }
    }

    static func page(title: String, body: String) -> String {
        """
        <!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(title)</title><link rel="stylesheet" href="/assets/pages.css"></head><body><main><section class="panel">
        \(body)
        </section></main></body></html>
        """
    }

    static func html(_ page: String) -> Response {
        Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .contentSecurityPolicy: "default-src 'self'; form-action 'self'"],
                 body: .init(byteBuffer: ByteBuffer(string: page)))
    }
}
