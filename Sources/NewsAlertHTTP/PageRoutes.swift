import Foundation
import Hummingbird

/// The pages newsalert serves itself: no build step, no CDN, nothing loaded from elsewhere.
public struct PageRoutes: Sendable {
    /// Page files bundled with the target: name → (content type, bytes).
    private let files: [String: (contentType: String, data: Data)]

    public init() throws {
        var files: [String: (String, Data)] = [:]
        let types = ["html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8"]
        for (name, type) in [("newsroom.html", "html"), ("newsroom.js", "js"), ("pages.css", "css"), ("index.html", "html"), ("ticker.js", "js"),
                                   ("subscribe.html", "html"), ("subscribe.js", "js"),
                                   ("preferences.html", "html"), ("preferences.js", "js")] {
            guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Pages") else {
                throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: "Pages/\(name)"])
            }
            files[name] = (types[type] ?? "application/octet-stream", try Data(contentsOf: url))
        }
        self.files = files
    }

    public func add(to router: some RouterMethods<NewsAlertRequestContext>) {
        router.get("/") { _, _ in try serve("index.html") }
        router.get("/newsroom") { _, _ in try serve("newsroom.html") }
        router.get("/assets/newsroom.js") { _, _ in try serve("newsroom.js") }
        router.get("/assets/pages.css") { _, _ in try serve("pages.css") }
        router.get("/assets/ticker.js") { _, _ in try serve("ticker.js") }
        router.get("/subscribe") { _, _ in try serve("subscribe.html") }
        router.get("/assets/subscribe.js") { _, _ in try serve("subscribe.js") }
        router.get("/preferences") { _, _ in try serve("preferences.html") }
        router.get("/assets/preferences.js") { _, _ in try serve("preferences.js") }
    }

    private func serve(_ name: String) throws -> Response {
        guard let file = files[name] else { throw APIError.notFound(name) }
        return Response(
            status: .ok,
            headers: [
                .contentType: file.contentType,
                // Only our own scripts and styles; no inline script, no framing, no external fetches.
                .contentSecurityPolicy: "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
                .init("X-Content-Type-Options")!: "nosniff",
                .cacheControl: "no-cache",
            ],
            body: .init(byteBuffer: ByteBuffer(bytes: file.data)))
    }
}
