import Foundation
@testable import NewsAlertCore
import Testing

/// The hand-written RFC 3339 formatter and parser agree with Foundation's ISO 8601 formatter.
@Suite("RFC 3339")
struct RFC3339Tests {
    @Test("format and parse agree with ISO8601DateFormatter on random dates from 1600 to 2400, to the millisecond")
    func agreesWithFoundation() throws {
        var random = SeededRandomGenerator(seed: 3339)
        let reference = ISO8601DateFormatter()
        reference.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for _ in 0..<5_000 {
            let milliseconds = Int64.random(in: -11_676_096_000_000...13_569_465_600_000, using: &random)
            let date = Date(timeIntervalSince1970: Double(milliseconds) / 1000)
            let text = RFC3339.format(date)
            #expect(text == reference.string(from: date), "\(milliseconds)")
            let parsed = try #require(RFC3339.parse(text))
            #expect(Int64((parsed.timeIntervalSince1970 * 1000).rounded()) == milliseconds)
        }
    }

    @Test("offsets, lowercase separators, whole seconds and long fractions parse; malformed text does not")
    func parseForms() throws {
        #expect(RFC3339.parse("2026-11-29T10:00:00+02:00") == RFC3339.parse("2026-11-29T08:00:00Z"))
        #expect(RFC3339.parse("2026-11-29t08:00:00z") == RFC3339.parse("2026-11-29T08:00:00.000Z"))
        #expect(RFC3339.parse("2026-11-29T03:30:00-04:30") == RFC3339.parse("2026-11-29T08:00:00Z"))
        #expect(RFC3339.format(try #require(RFC3339.parse("2026-11-29T08:00:00.123456Z"))) == "2026-11-29T08:00:00.123Z")
        for bad in ["2026-11-29 08:00:00", "yesterday", ""] {
            #expect(RFC3339.parse(bad) == nil, "\(bad)")
        }
    }
}
