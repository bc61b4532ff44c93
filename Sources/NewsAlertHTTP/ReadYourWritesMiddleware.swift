import Hummingbird
import NewsAlertStore

/// Tells when this node's subscription replica (the catalog fan-out matches against) has applied every change
/// queued for the changelog up to a sequence number.
public protocol SubscriptionReplication: Sendable {
    /// Waits until the replica applied the changes through `sequence`; false if `timeout` passed first.
    func waitUntilApplied(through sequence: Int64, timeout: Duration) async -> Bool
}

/// Read-your-writes for subscriptions: a request that changed subscribers, channels or subscriptions answers only
/// once this node's replica has applied the change, so an event posted after the answer is matched against it
/// (in `serve`, the one replica fan-out uses). A change that takes longer than `timeout` to come back from the
/// changelog still answers, with `Newsalert-Replication: pending`, never silently.
public struct ReadYourWritesMiddleware: RouterMiddleware {
    public typealias Context = NewsAlertRequestContext
    /// The response header saying whether the change is visible to matching yet (`applied` or `pending`).
    public static let header = "Newsalert-Replication"

    let database: AppDatabase
    let replication: any SubscriptionReplication
    let timeout: Duration

    public init(database: AppDatabase, replication: any SubscriptionReplication, timeout: Duration = .seconds(10)) {
        self.database = database
        self.replication = replication
        self.timeout = timeout
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard [.post, .put, .patch, .delete].contains(request.method) else { return try await next(request, context) }
        // The public signup answers the same whether it changed anything or not (no hint whether an address is known);
        // its changes need no read-your-writes, since nothing is delivered before the reader confirms.
        if request.uri.path.hasPrefix("/v1/signup") { return try await next(request, context) }
        let before = try await database.latestChangeSequence()
        var response = try await next(request, context)
        let after = try await database.latestChangeSequence()
        guard after > before else { return response }
        let applied = await replication.waitUntilApplied(through: after, timeout: timeout)
        if !applied {
            context.logger.warning("subscription change not yet applied by this node's replica; answered anyway", metadata: [
                "changelog.sequence": "\(after)", "timeout": "\(timeout)",
            ])
        }
        response.headers[.init(Self.header)!] = applied ? "applied" : "pending"
        return response
    }
}
