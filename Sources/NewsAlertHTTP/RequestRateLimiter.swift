import Foundation
import NIOConcurrencyHelpers

/// Counts requests per key (a client address, an email address) in fixed windows and says when a key is over its limit.
///
/// Memory is bounded: past `maximumKeys`, keys whose window ended are forgotten; if every key is still in its window,
/// new keys are refused until one ends (the limiter fails closed under a flood of distinct keys).
public final class RequestRateLimiter: Sendable {
    public let limit: Int
    public let window: TimeInterval
    let maximumKeys: Int
    private let counts = NIOLockedValueBox<[String: (start: Date, count: Int)]>([:])

    public init(limit: Int, window: TimeInterval, maximumKeys: Int = 100_000) {
        self.limit = limit
        self.window = window
        self.maximumKeys = maximumKeys
    }

    /// Counts one request for `key`; nil if it is allowed, else the seconds until the key's window ends.
    public func take(_ key: String, now: Date = Date()) -> Int? {
        counts.withLockedValue { counts -> Int? in
            if var entry = counts[key], now.timeIntervalSince(entry.start) < window {
                guard entry.count < limit else { return max(1, Int((window - now.timeIntervalSince(entry.start)).rounded(.up))) }
                entry.count += 1
                counts[key] = entry
                return nil
            }
            if counts[key] == nil, counts.count >= maximumKeys {
                counts = counts.filter { now.timeIntervalSince($0.value.start) < window }
                if counts.count >= maximumKeys { return max(1, Int(window)) }
            }
            counts[key] = (now, 1)
            return nil
        }
    }
}
