import Foundation

/// Wall-clock arithmetic in one IANA time zone, in whole seconds, without `Calendar`.
///
/// A "local" value counts wall-clock seconds since 1970-01-01 00:00 *local*, so local days and hours are plain
/// integer division. Converting a local value back to instants is where DST bites: on a spring-forward day a
/// wall time may not exist (the clock jumps over it) and on a fall-back day it may occur twice. `crossings`
/// answers both cases explicitly instead of relying on platform-specific `Calendar` policies.
enum ZonedClock {
    static let secondsPerDay = 86_400
    static let secondsPerHour = 3_600

    /// `date` as whole seconds since the epoch, rounded down.
    static func instant(_ date: Date) -> Int {
        Int(date.timeIntervalSince1970.rounded(.down))
    }

    static func date(_ instant: Int) -> Date {
        Date(timeIntervalSince1970: TimeInterval(instant))
    }

    /// The wall-clock reading at `instant`, as local seconds.
    static func local(_ instant: Int, in zone: TimeZone) -> Int {
        instant + zone.secondsFromGMT(for: date(instant))
    }

    /// Seconds since local midnight at `date` (0..<86 400).
    static func secondOfDay(_ date: Date, in zone: TimeZone) -> Int {
        floorMod(local(instant(date), in: zone), secondsPerDay)
    }

    /// The local day number (days since 1970-01-01 local) at `date`.
    static func day(_ date: Date, in zone: TimeZone) -> Int {
        floorDiv(local(instant(date), in: zone), secondsPerDay)
    }

    /// Instants at which the wall clock reaches `local`, earliest first.
    ///
    /// Usually one. Two on a fall-back night when the wall time repeats. One when the wall time is skipped
    /// by a spring-forward jump: the instant of the jump, the first moment the clock shows a later time.
    static func crossings(ofLocal local: Int, in zone: TimeZone) -> [Int] {
        // Offsets in force a day either side cover every real transition near `local`.
        var offsets: [Int] = []
        for probe in [local - secondsPerDay, local, local + secondsPerDay] {
            let offset = zone.secondsFromGMT(for: date(probe))
            if !offsets.contains(offset) { offsets.append(offset) }
        }
        let exact = offsets.map { local - $0 }.filter { self.local($0, in: zone) == local }.sorted()
        if !exact.isEmpty { return exact }
        return [firstInstant(reachingLocal: local, from: local - (offsets.max() ?? 0), to: local - (offsets.min() ?? 0), in: zone)]
    }

    /// The first instant in `low...high` whose wall-clock reading is at least `local` (binary search over a gap).
    private static func firstInstant(reachingLocal local: Int, from low: Int, to high: Int, in zone: TimeZone) -> Int {
        var low = low
        var high = high
        guard self.local(low, in: zone) < local, self.local(high, in: zone) >= local else { return high }
        while high - low > 1 {
            let middle = low + (high - low) / 2
            if self.local(middle, in: zone) >= local { high = middle } else { low = middle }
        }
        return high
    }

    /// The first instant after `date` at which the wall clock reaches the local time in `candidates`.
    ///
    /// - Parameter candidates: local values to consider; the earliest crossing strictly after `date` wins.
    /// - Parameter firstOnly: consider only the first crossing of each candidate, so a repeated fall-back
    ///   hour does not produce a second occurrence (a daily digest fires once per local day).
    static func nextCrossing(of candidates: [Int], after date: Date, firstOnly: Bool = false, in zone: TimeZone) -> Date? {
        let after = date.timeIntervalSince1970
        var best: Int?
        for candidate in candidates {
            let crossings = crossings(ofLocal: candidate, in: zone)
            for crossing in firstOnly ? Array(crossings.prefix(1)) : crossings where TimeInterval(crossing) > after {
                if best.map({ crossing < $0 }) ?? true { best = crossing }
            }
        }
        return best.map(self.date)
    }

    /// The next instant after `date` at which the wall clock reads `secondOfDay`, on any local day.
    static func nextTimeOfDay(_ secondOfDay: Int, after date: Date, firstOnly: Bool = false, in zone: TimeZone) -> Date {
        let today = day(date, in: zone)
        // Yesterday's candidate matters only when a fall-back repeat straddles midnight; two days ahead is a safety margin.
        let candidates = (today - 1...today + 2).map { $0 * secondsPerDay + secondOfDay }
        return nextCrossing(of: candidates, after: date, firstOnly: firstOnly, in: zone)
            ?? date.addingTimeInterval(TimeInterval(secondsPerDay))
    }

    /// "HH:mm" of the wall clock at `date`.
    static func clockText(_ date: Date, in zone: TimeZone) -> String {
        let seconds = secondOfDay(date, in: zone)
        return LocalTime(secondsIntoDay: seconds).description
    }

    static func floorDiv(_ value: Int, _ divisor: Int) -> Int {
        let quotient = value / divisor
        return (value % divisor != 0 && (value < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }

    static func floorMod(_ value: Int, _ divisor: Int) -> Int {
        value - floorDiv(value, divisor) * divisor
    }
}
