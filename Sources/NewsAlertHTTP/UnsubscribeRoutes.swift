import Foundation
import Hummingbird
import NewsAlertCore
import NewsAlertStore

/// `GET /v1/unsubscribe` shows a confirmation page (link scanners must not unsubscribe anyone);
/// `POST /v1/unsubscribe` (RFC 8058 one-click, or the page's button) disables the email channel.
public struct UnsubscribeRoutes: Sendable {
    let database: AppDatabase
    let links: UnsubscribeLinks

    public init(database: AppDatabase, links: UnsubscribeLinks) {
        self.database = database
        self.links = links
    }

    public func add(to router: some RouterMethods<NewsAlertRequestContext>) {
        router.get("/v1/unsubscribe") { request, _ in
            let channel = try await verifiedChannel(request)
            let action = "/v1/unsubscribe?channel=\(channel.id)&token=\(links.token(for: channel.id))"
            let page = """
                <!doctype html><html lang="en"><head><meta charset="utf-8"><title>Unsubscribe</title>
                <link rel="stylesheet" href="/assets/pages.css"></head><body><main><section class="panel">
                <h1>Stop alert emails to \(AlertEmailContent.escape(channel.target))?</h1>
                <form method="post" action="\(AlertEmailContent.escape(action))"><input type="hidden" name="List-Unsubscribe" value="One-Click">
                <button type="submit" class="danger">Unsubscribe</button></form></section></main></body></html>
                """
            return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .contentSecurityPolicy: "default-src 'self'; form-action 'self'"],
                            body: .init(byteBuffer: ByteBuffer(string: page)))
        }
        router.post("/v1/unsubscribe") { request, _ in
            let channel = try await verifiedChannel(request)
            if channel.status == .active {
                _ = try await database.updateChannel(id: channel.id, subscriberID: channel.subscriberID) { channel in
                    channel.status = .disabled
                    channel.disabledReason = "unsubscribed by the recipient"
                }
            }
            return try Response.json(status: .ok, ["channel": channel.id, "status": "unsubscribed"])
        }
    }

    /// The email channel the link names, if its token is right; 404 otherwise (no hint which part was wrong).
    private func verifiedChannel(_ request: Request) async throws -> DeliveryChannel {
        let query = request.uri.queryParameters
        guard let id = query.get("channel"), let token = query.get("token"), EntityID.isPlausible(id, prefix: EntityID.channelPrefix),
              token.count <= 100, links.isValid(token: token, for: id),
              let channel = try await database.channel(id: id), channel.kind == .email else {
            throw APIError.notFound("unsubscribe link")
        }
        return channel
    }
}
