import Foundation

/// Parses the HTTP `Retry-After` header (RFC 9110 §10.2.3).
public enum RetryAfter {
    /// The wait the header asks for: delta-seconds (`120`) or an HTTP-date
    /// (`Wed, 21 Oct 2015 07:28:00 GMT`, also the obsolete RFC 850 and asctime forms),
    /// measured from `now`. A date in the past yields zero; anything unparsable yields nil.
    public static func parse(_ value: String, now: Date = Date()) -> Duration? {
        let value = value.trimmingCharacters(in: .whitespaces)
        guard !value.isEmpty else { return nil }
        if value.allSatisfy({ $0.isASCII && $0.isNumber }) {
            // Absurdly long digit strings are clamped rather than rejected.
            guard let seconds = Int64(value) else { return .seconds(Int64.max / 1_000_000_000_000) }
            return .seconds(seconds)
        }
        for format in httpDateFormats {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = format
            if let date = formatter.date(from: value) {
                let interval = date.timeIntervalSince(now)
                return interval > 0 ? .milliseconds(Int64((interval * 1000).rounded(.up))) : .zero
            }
        }
        return nil
    }

    private static let httpDateFormats = [
        "EEE',' dd MMM yyyy HH':'mm':'ss 'GMT'",  // IMF-fixdate
        "EEEE',' dd'-'MMM'-'yy HH':'mm':'ss 'GMT'",  // RFC 850
        "EEE MMM d HH':'mm':'ss yyyy",  // asctime
    ]
}
