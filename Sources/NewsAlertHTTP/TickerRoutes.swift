import Foundation
import Hummingbird
import HummingbirdWebSocket
import NewsAlertCore

/// `GET /v1/ticker`: the live ticker over WebSocket; `GET /v1/ticker/stream`: the same ticker as Server-Sent Events
/// (TickerRoutes+EventStream.swift). Both are served from one `TickerHub` and read the same query.
///
/// Query: `sections`, `regions`, `kinds` (comma-separated) for anonymous viewers; a subscriber token
/// (`Authorization: Bearer nst_…` or `?token=`) for the items its subscriptions matched; `since` and `epoch` to resume;
/// `backlog` (default 20, at most 500) for the latest items on a fresh connection. Browser clients must come from
/// this server's own origin or one listed in `allowedOrigins`.
public struct TickerRoutes: Sendable {
    let hub: TickerHub
    let allowedOrigins: Set<String>
    let heartbeat: Duration
    /// The key shared with a GRIP proxy; nil serves every request directly (TickerRoutes+Grip.swift).
    let grip: GripSignature?
    /// Resolves a `?token=` (browsers cannot set headers on a WebSocket) to its subscriber, or nil.
    let authenticate: @Sendable (String) async throws -> String?

    public init(
        hub: TickerHub, allowedOrigins: Set<String> = [], heartbeat: Duration = .seconds(15), grip: GripSignature? = nil,
        authenticate: @escaping @Sendable (String) async throws -> String? = { _ in nil }
    ) {
        self.hub = hub
        self.allowedOrigins = allowedOrigins
        self.heartbeat = heartbeat
        self.grip = grip
        self.authenticate = authenticate
    }

    struct Subscription: Sendable {
        var filter: TickerFilter
        var since: Int64?
        var epoch: String?
        var backlog: Int
    }

    public func add(to router: Router<NewsAlertRequestContext>) {
        addEventStream(to: router)
        addGripWebSocket(to: router)
        router.ws("/v1/ticker") { request, context in
            guard request.headers[.upgrade]?.lowercased() == "websocket" else {
                throw APIError(.upgradeRequired, code: "websocket_required", message: "GET /v1/ticker is a WebSocket: send Upgrade: websocket")
            }
            try checkOrigin(request)
            return .upgrade([:])
        } onUpgrade: { inbound, outbound, context in
            // Query and token problems are answered on the socket (an error frame, then close code 4000 + HTTP status):
            // a refused upgrade could only say 400 without a body.
            let subscription: Subscription
            do {
                subscription = try await self.subscription(context.request, context.requestContext)
            } catch let error as APIError {
                try await outbound.write(.text(String(decoding: error.frameData, as: UTF8.self)))
                try await outbound.close(.unknown(UInt16(4000 + error.status.code)), reason: error.code)
                return
            }
            // The hub writes frames straight into the channel (`TickerConnection`); this task only reads.
            let connection = try await hub.connect(
                filter: subscription.filter, after: subscription.since, epoch: subscription.epoch, backlog: subscription.backlog,
                channel: context.requestContext.channel, transport: .webSocket, heartbeat: heartbeat)
            defer { connection.end(.released) }
            // Reading answers pings and the client's close; it ends when the client is gone or the close handshake is
            // over (also after the hub dropped a slow client with 1008 and the client answered).
            for try await _ in inbound {}
        }
    }

    /// Browsers must open the ticker from this server's origin or an allowed one (refused before the upgrade, or
    /// before an event stream starts).
    func checkOrigin(_ request: Request, what: String = "WebSocket connections") throws {
        if let origin = request.headers[.origin], !isAllowed(origin: origin, host: request.head.authority) {
            throw APIError(.forbidden, code: "origin_not_allowed", message: "\(what) from \(origin.prefix(100)) are not allowed")
        }
    }

    /// The query of both ticker routes, every problem in one 422. `lastEventID` is the event stream's
    /// `Last-Event-ID` header (`<epoch>:<position>`): when present it replaces `since` and `epoch`, because EventSource
    /// reconnects to the URL it was opened with and sends the id of the last event it got in that header.
    func subscription(_ request: Request, _ context: NewsAlertRequestContext, lastEventID: String? = nil) async throws -> Subscription {
        let query = request.uri.queryParameters
        var problems: [FieldProblem] = []
        func names<Name: RawRepresentable & Hashable>(_ field: String, _: Name.Type) -> Set<Name> where Name.RawValue == String {
            guard let text = query.get(field), !text.isEmpty else { return [] }
            var names: Set<Name> = []
            for part in text.split(separator: ",") {
                if let name = Name(rawValue: String(part).trimmingCharacters(in: .whitespaces)) { names.insert(name) } else {
                    problems.append(FieldProblem(field: field, problem: "'\(part.prefix(60))' is not a known value"))
                }
            }
            return names
        }
        var filter = TickerFilter(sections: names("sections", NewsSection.self), regions: names("regions", NewsRegion.self), kinds: names("kinds", NewsKind.self))
        if context.subscriberID != nil { filter.subscriberID = try context.requireSubscriber() }
        if let token = query.get("token") {
            guard token.hasPrefix("nst_"), token.count <= 200, let subscriberID = try await authenticate(token) else { throw APIError.unauthenticated }
            filter.subscriberID = subscriberID
        }
        var since = query.get("since").map { Int64($0) ?? -2 }
        if let since, since < -1 { problems.append(FieldProblem(field: "since", problem: "must be a position (an integer ≥ -1)")) }
        var epoch = query.get("epoch")
        let backlog = query.get("backlog").map { Int($0) ?? -1 } ?? 20
        if !(0...500).contains(backlog) { problems.append(FieldProblem(field: "backlog", problem: "must be an integer from 0 to 500")) }
        if let lastEventID, !lastEventID.isEmpty {
            if let resume = Self.eventStreamPosition(lastEventID) {
                (since, epoch) = (resume.position, resume.epoch)
            } else {
                problems.append(FieldProblem(
                    field: "Last-Event-ID", problem: "must be the id of an event of this stream, `<epoch>:<position>` (a position is an integer ≥ -1)"))
            }
        }
        if !problems.isEmpty { throw APIError.invalidFields(ValidationFailure(problems)) }
        return Subscription(filter: filter, since: since, epoch: epoch, backlog: backlog)
    }

    private func isAllowed(origin: String, host: String?) -> Bool {
        if allowedOrigins.contains(origin) { return true }
        guard let host else { return false }
        return origin == "http://\(host)" || origin == "https://\(host)"
    }
}
