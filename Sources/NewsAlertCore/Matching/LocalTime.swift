import Foundation

/// A wall-clock time of day, minute precision, written `HH:mm` (24-hour), e.g. `22:00` or `07:30`.
public struct LocalTime: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let hour: Int
    public let minute: Int

    /// Nil unless `hour` is 0…23 and `minute` 0…59.
    public init?(hour: Int, minute: Int) {
        guard (0...23).contains(hour), (0...59).contains(minute) else { return nil }
        self.hour = hour
        self.minute = minute
    }

    /// Parses exactly `HH:mm` with two digits each ("7:00" and "24:00" are rejected).
    public init?(parsing text: String) {
        let characters = Array(text)
        guard characters.count == 5, characters[2] == ":",
              let hour = Self.twoDigits(characters[0], characters[1]),
              let minute = Self.twoDigits(characters[3], characters[4]) else { return nil }
        self.init(hour: hour, minute: minute)
    }

    init(secondsIntoDay: Int) {
        let minutes = ZonedClock.floorMod(secondsIntoDay, ZonedClock.secondsPerDay) / 60
        hour = minutes / 60
        minute = minutes % 60
    }

    /// Seconds since midnight.
    public var secondsIntoDay: Int { (hour * 60 + minute) * 60 }

    public var description: String {
        (hour < 10 ? "0" : "") + String(hour) + ":" + (minute < 10 ? "0" : "") + String(minute)
    }

    public static func < (lhs: LocalTime, rhs: LocalTime) -> Bool { lhs.secondsIntoDay < rhs.secondsIntoDay }

    private static func twoDigits(_ tens: Character, _ ones: Character) -> Int? {
        guard let high = tens.wholeNumberValue, let low = ones.wholeNumberValue, tens.isASCII, ones.isASCII else { return nil }
        return high * 10 + low
    }
}
