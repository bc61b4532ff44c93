import Foundation

/// Event identifiers: `evt_` + a time-ordered, URL-safe 26-character ULID-style string.
///
/// Time-ordered so that ids sort by creation, random enough (80 bits) never to collide.
public enum EventID {
    private static let alphabet = Array("0123456789abcdefghjkmnpqrstvwxyz")

    public static func make(at date: Date = Date()) -> String {
        var generator = SystemRandomNumberGenerator()
        return make(at: date, using: &generator)
    }

    public static func make(at date: Date, using generator: inout some RandomNumberGenerator) -> String {
        var milliseconds = UInt64(max(0, date.timeIntervalSince1970 * 1000))
        var time = [Character](repeating: "0", count: 10)
        for index in stride(from: 9, through: 0, by: -1) {
            time[index] = alphabet[Int(milliseconds % 32)]
            milliseconds /= 32
        }
        let random = (0..<16).map { _ in alphabet[Int(generator.next() % 32)] }
        return "evt_" + String(time) + String(random)
    }

    /// Whether `text` looks like an id this service (or a producer following the contract) could have made.
    public static func isPlausible(_ text: String) -> Bool {
        (1...128).contains(text.count) && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_-.:".contains($0)) }
    }
}
