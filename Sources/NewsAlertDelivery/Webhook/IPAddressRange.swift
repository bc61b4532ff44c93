/// A block of IP addresses in CIDR notation, such as `127.0.0.1/32` or `fd00::/8`.
public struct IPAddressRange: Sendable, Hashable, CustomStringConvertible {
    /// The first address of the block (host bits cleared).
    public let network: IPAddress
    /// The number of leading bits that addresses in the block share.
    public let prefixLength: Int

    /// Creates a block from an address and a prefix length; host bits of `address` are cleared.
    /// Returns nil when the prefix length does not fit the address family.
    public init?(_ address: IPAddress, prefixLength: Int) {
        let bitCount = address.bytes.count * 8
        guard (0...bitCount).contains(prefixLength) else { return nil }
        self.network = IPAddress(bytes: Self.mask(address.bytes, prefixLength: prefixLength))!
        self.prefixLength = prefixLength
    }

    /// Parses `ADDRESS/PREFIX`, or a bare address as a single-address block (`/32` or `/128`).
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        var addressText = String(parts[0])
        if addressText.hasPrefix("["), addressText.hasSuffix("]") {
            addressText = String(addressText.dropFirst().dropLast())
        }
        guard let address = IPAddress(addressText) else { return nil }
        let length: Int
        if parts.count == 2 {
            guard let parsed = Int(parts[1]), parts[1].allSatisfy(\.isASCII) else { return nil }
            length = parsed
        } else {
            length = address.bytes.count * 8
        }
        self.init(address, prefixLength: length)
    }

    /// Whether `address` lies in this block. Addresses of the other family never do.
    public func contains(_ address: IPAddress) -> Bool {
        let bytes = address.bytes
        guard bytes.count == network.bytes.count else { return false }
        return Self.mask(bytes, prefixLength: prefixLength) == network.bytes
    }

    /// `NETWORK/PREFIX`, e.g. `169.254.0.0/16`.
    public var description: String { "\(network)/\(prefixLength)" }

    private static func mask(_ bytes: [UInt8], prefixLength: Int) -> [UInt8] {
        var result = bytes
        for index in result.indices {
            let bitsBefore = index * 8
            if bitsBefore >= prefixLength {
                result[index] = 0
            } else if bitsBefore + 8 > prefixLength {
                let keep = prefixLength - bitsBefore
                result[index] &= UInt8(truncatingIfNeeded: 0xff << (8 - keep))
            }
        }
        return result
    }
}
