import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Resolves host names with the C library's `getaddrinfo`, on a NIO thread pool so that
/// the blocking call never occupies a thread of the cooperative pool.
public struct SystemHostResolver: WebhookHostResolver {
    private let threadPool: NIOThreadPool

    /// Creates a resolver that runs lookups on `threadPool` (by default NIO's shared pool).
    public init(threadPool: NIOThreadPool = .singleton) {
        self.threadPool = threadPool
    }

    /// The distinct IPv4 and IPv6 addresses `getaddrinfo` returns for `host`, in its order.
    public func resolve(host: String) async throws -> [IPAddress] {
        try await threadPool.runIfActive {
            try Self.getAddresses(host)
        }
    }

    private static func getAddresses(_ host: String) throws -> [IPAddress] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Darwin)
        hints.ai_socktype = SOCK_STREAM
        #else
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &list)
        guard status == 0 else {
            throw HostResolutionError(host: host, reason: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(list) }
        var result: [IPAddress] = []
        var cursor = list
        while let entry = cursor {
            defer { cursor = entry.pointee.ai_next }
            guard let socketAddress = entry.pointee.ai_addr else { continue }
            let address: IPAddress?
            switch Int32(socketAddress.pointee.sa_family) {
            case AF_INET:
                address = socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                    IPAddress(ipv4NetworkOrder: $0.pointee.sin_addr.s_addr)
                }
            case AF_INET6:
                address = socketAddress.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                    IPAddress(bytes: withUnsafeBytes(of: $0.pointee.sin6_addr) { Array($0) })
                }
            default:
                address = nil
            }
            if let address, !result.contains(address) {
                result.append(address)
            }
        }
        return result
    }
}
