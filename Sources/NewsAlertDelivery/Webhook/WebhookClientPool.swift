import AsyncHTTPClient
import NIOCore
import NIOSSL

/// The HTTP clients of a ``WebhookSender``, one per checked host and address.
///
/// Each client's `dnsOverride` maps the URL's host to the address the policy approved, so the
/// connection goes to that address while TLS still verifies the host name. Redirects are
/// disallowed. When a host starts resolving elsewhere, its old client is retired and shut
/// down once its last request finishes; idle clients beyond the cache size are shut down too.
actor WebhookClientPool {
    struct Key: Hashable, Sendable {
        var host: String
        var address: IPAddress
    }

    private struct Entry: Sendable {
        let client: HTTPClient
        var leases: Int
        var retired = false
        var lastUsed: ContinuousClock.Instant
    }

    private let eventLoopGroup: any EventLoopGroup
    private let timeout: TimeAmount
    private let tlsConfiguration: TLSConfiguration?
    private let maximumIdleClients: Int
    private var entries: [Key: Entry] = [:]
    private var isShutDown = false

    init(eventLoopGroup: any EventLoopGroup, timeout: TimeAmount, tlsConfiguration: TLSConfiguration?, maximumIdleClients: Int) {
        self.eventLoopGroup = eventLoopGroup
        self.timeout = timeout
        self.tlsConfiguration = tlsConfiguration
        self.maximumIdleClients = maximumIdleClients
    }

    deinit {
        // A safety net for a sender released without `shutdown()`: an HTTP client must never be
        // deallocated while running, so start the shutdown of any that are left.
        for entry in entries.values {
            entry.client.shutdown { _ in }
        }
    }

    /// A client pinned to `key.address` for `key.host`, or nil after ``shutdown()``.
    /// Every successful lease must be followed by ``release(_:)``.
    func lease(_ key: Key) async -> HTTPClient? {
        guard !isShutDown else { return nil }
        let now = ContinuousClock.now
        if let client = entries[key]?.client {
            entries[key]?.leases += 1
            entries[key]?.lastUsed = now
            return client
        }
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: tlsConfiguration,
            redirectConfiguration: .disallow,
            timeout: .init(connect: timeout, read: timeout),
            decompression: .disabled
        )
        configuration.dnsOverride = [key.host: key.address.description]
        let client = HTTPClient(eventLoopGroup: eventLoopGroup, configuration: configuration)
        entries[key] = Entry(client: client, leases: 1, lastUsed: now)

        var toShutDown: [HTTPClient] = []
        for (otherKey, other) in entries where otherKey.host == key.host && otherKey != key {
            if other.leases == 0 {
                entries[otherKey] = nil
                toShutDown.append(other.client)
            } else {
                entries[otherKey]?.retired = true
            }
        }
        toShutDown += evictIdleClients()
        await Self.shutDown(toShutDown)
        return client
    }

    /// Returns a client obtained from ``lease(_:)``.
    func release(_ key: Key) async {
        guard var entry = entries[key] else { return }
        entry.leases -= 1
        entry.lastUsed = .now
        entries[key] = entry
        var toShutDown: [HTTPClient] = []
        if entry.leases == 0 && (entry.retired || isShutDown) {
            entries[key] = nil
            toShutDown.append(entry.client)
        }
        toShutDown += evictIdleClients()
        await Self.shutDown(toShutDown)
    }

    /// Shuts down idle clients now and the others as their requests finish; later leases fail.
    func shutdown() async {
        isShutDown = true
        var toShutDown: [HTTPClient] = []
        for (key, entry) in entries where entry.leases == 0 {
            entries[key] = nil
            toShutDown.append(entry.client)
        }
        await Self.shutDown(toShutDown)
    }

    private func evictIdleClients() -> [HTTPClient] {
        var evicted: [HTTPClient] = []
        while entries.count > maximumIdleClients {
            guard let oldest = entries.filter({ $0.value.leases == 0 }).min(by: { $0.value.lastUsed < $1.value.lastUsed }) else {
                break
            }
            entries[oldest.key] = nil
            evicted.append(oldest.value.client)
        }
        return evicted
    }

    private static func shutDown(_ clients: [HTTPClient]) async {
        for client in clients {
            try? await client.shutdown()
        }
    }
}
