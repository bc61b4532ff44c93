import Hummingbird
import Logging
import NIOCore

/// A minimal HTTP receiver on 127.0.0.1 for delivery benchmarks: answers every POST with 204.
enum LocalReceiver {
    /// Runs the receiver in `group` and returns its base URL once it listens.
    static func start(in group: inout ThrowingTaskGroup<Void, any Error>, logger: Logger) async throws -> String {
        let router = Router()
        router.post("/**") { request, _ -> HTTPResponse.Status in
            _ = try await request.body.collect(upTo: 1 << 20)
            return .noContent
        }
        let (urls, continuation) = AsyncStream.makeStream(of: String.self)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "bench-receiver"),
            onServerRunning: { channel in continuation.yield("http://127.0.0.1:\(channel.localAddress?.port ?? 0)") }, logger: logger)
        group.addTask { try await app.runService() }
        var iterator = urls.makeAsyncIterator()
        guard let url = await iterator.next() else { throw CancellationError() }
        return url
    }
}
