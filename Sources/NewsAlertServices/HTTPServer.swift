import Hummingbird
import HummingbirdWebSocket
import Logging
import NewsAlertHTTP
import NIOCore

/// Builds the Hummingbird application serving `router`, reporting the bound address once listening.
public enum HTTPServer {
    public static func application(
        router: Router<NewsAlertRequestContext>, host: String, port: Int, logger: Logger,
        onListening: @escaping @Sendable (String) async -> Void
    ) -> some ApplicationProtocol {
        Application(
            router: router,
            server: .http1WebSocketUpgrade(webSocketRouter: router, configuration: .init(ws: .init(autoPing: .disabled))),
            configuration: .init(address: .hostname(host, port: port), serverName: "newsalert"),
            onServerRunning: { channel in
                let address = channel.localAddress
                let boundPort = address?.port ?? port
                await onListening("http://\(host.contains(":") ? "[\(host)]" : host):\(boundPort)")
            },
            logger: logger)
    }
}
