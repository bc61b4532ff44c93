#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address, as resolved for a webhook endpoint and checked by ``WebhookAddressPolicy``.
public enum IPAddress: Sendable, Hashable, CustomStringConvertible {
    /// An IPv4 address; the four bytes in network order.
    case v4(UInt8, UInt8, UInt8, UInt8)
    /// An IPv6 address; the sixteen bytes in network order.
    case v6([UInt8])

    /// Parses the canonical text form of an address: dotted-quad IPv4 (`192.0.2.1`)
    /// or IPv6 (`2001:db8::1`, `::ffff:192.0.2.1`), without brackets, zone or port.
    ///
    /// Legacy IPv4 spellings such as `2130706433` or `0x7f.1` are not accepted here;
    /// see ``init(legacyIPv4:)``.
    public init?(_ text: String) {
        var v4 = in_addr()
        var v6 = in6_addr()
        if text.withCString({ inet_pton(AF_INET, $0, &v4) }) == 1 {
            self.init(ipv4NetworkOrder: v4.s_addr)
        } else if text.withCString({ inet_pton(AF_INET6, $0, &v6) }) == 1 {
            self = .v6(withUnsafeBytes(of: v6) { Array($0) })
        } else {
            return nil
        }
    }

    /// Parses every IPv4 spelling that the C library's `inet_aton` accepts, which is what
    /// a resolver or an HTTP client may accept too: decimal (`2130706433`), octal (`017700000001`),
    /// hexadecimal (`0x7f000001`) and shortened forms (`127.1`, `0x7f.1`).
    public init?(legacyIPv4 text: String) {
        guard !text.isEmpty, text.allSatisfy({ $0.isASCII && ($0.isHexDigit || $0 == "." || $0 == "x" || $0 == "X") }) else {
            return nil
        }
        var v4 = in_addr()
        guard text.withCString({ inet_aton($0, &v4) }) != 0 else { return nil }
        self.init(ipv4NetworkOrder: v4.s_addr)
    }

    /// Creates an IPv4 address from a 32-bit value in host order (`0x7f000001` is 127.0.0.1).
    public init(ipv4 value: UInt32) {
        self = .v4(UInt8(value >> 24), UInt8((value >> 16) & 0xff), UInt8((value >> 8) & 0xff), UInt8(value & 0xff))
    }

    init(ipv4NetworkOrder value: UInt32) {
        self.init(ipv4: UInt32(bigEndian: value))
    }

    /// Creates an address from raw bytes: 4 bytes for IPv4, 16 for IPv6.
    public init?(bytes: [UInt8]) {
        switch bytes.count {
        case 4: self = .v4(bytes[0], bytes[1], bytes[2], bytes[3])
        case 16: self = .v6(bytes)
        default: return nil
        }
    }

    /// The address bytes in network order: 4 for IPv4, 16 for IPv6.
    public var bytes: [UInt8] {
        switch self {
        case .v4(let a, let b, let c, let d): [a, b, c, d]
        case .v6(let bytes): bytes
        }
    }

    /// Whether this is an IPv4 address.
    public var isIPv4: Bool {
        if case .v4 = self { return true }
        return false
    }

    /// The IPv4 address carried inside an IPv6 address by a translation or tunnelling scheme
    /// (IPv4-mapped `::ffff:0:0/96`, IPv4-compatible `::/96`, NAT64 `64:ff9b::/96` and
    /// `64:ff9b:1::/48`, 6to4 `2002::/16`), or nil when there is none.
    public var embeddedIPv4: IPAddress? {
        guard case .v6(let b) = self else { return nil }
        let first10Zero = b[0..<10].allSatisfy { $0 == 0 }
        // IPv4-mapped ::ffff:a.b.c.d
        if first10Zero && b[10] == 0xff && b[11] == 0xff {
            return .v4(b[12], b[13], b[14], b[15])
        }
        // IPv4-compatible ::a.b.c.d (deprecated); :: and ::1 are left to their own classification.
        if first10Zero && b[10] == 0 && b[11] == 0 {
            let tail = b[12..<16]
            if tail.allSatisfy({ $0 == 0 }) || (tail.dropLast().allSatisfy({ $0 == 0 }) && b[15] == 1) {
                return nil
            }
            return .v4(b[12], b[13], b[14], b[15])
        }
        // NAT64 well-known prefix 64:ff9b::/96
        if b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b[4..<12].allSatisfy({ $0 == 0 }) {
            return .v4(b[12], b[13], b[14], b[15])
        }
        // NAT64 local-use prefix 64:ff9b:1::/48 (RFC 8215); the IPv4 address sits in the last 32 bits for a /96.
        if b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b[4] == 0x00 && b[5] == 0x01 {
            return .v4(b[12], b[13], b[14], b[15])
        }
        // 6to4 2002:AABB:CCDD::/48
        if b[0] == 0x20 && b[1] == 0x02 {
            return .v4(b[2], b[3], b[4], b[5])
        }
        return nil
    }

    /// The canonical text form: dotted quad for IPv4, RFC 5952 for IPv6 (no brackets).
    public var description: String {
        switch self {
        case .v4(let a, let b, let c, let d):
            return "\(a).\(b).\(c).\(d)"
        case .v6(let bytes):
            var address = in6_addr()
            withUnsafeMutableBytes(of: &address) { raw in
                for (index, byte) in bytes.enumerated() { raw[index] = byte }
            }
            var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            let written = buffer.withUnsafeMutableBufferPointer { out in
                inet_ntop(AF_INET6, &address, out.baseAddress, socklen_t(out.count))
            }
            guard written != nil else { return bytes.map { String($0, radix: 16) }.joined(separator: ":") }
            return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }
}
