import Foundation

/// An alert as an email's subject, plain text and HTML: what the subscriber reads, and why they got it.
///
/// Every newsroom-supplied string is escaped in the HTML part; line breaks inside a headline are flattened in the
/// subject (the mailer also refuses header injection on its own).
public struct AlertEmailContent: Sendable, Hashable {
    public var subject: String
    public var text: String
    public var html: String

    /// `preferencesURL`: the subscriber's preference centre, linked next to the unsubscribe link.
    public init(_ alert: Alert, unsubscribeURL: String, preferencesURL: String? = nil) {
        if let items = alert.digestItems, !items.isEmpty {
            self = Self(digest: items, unsubscribeURL: unsubscribeURL)
        } else {
            self = Self(single: alert, unsubscribeURL: unsubscribeURL)
        }
        if let preferencesURL {
            text = text.replacingOccurrences(of: "\nUnsubscribe: \(unsubscribeURL)", with: "\nPreferences: \(preferencesURL)\nUnsubscribe: \(unsubscribeURL)")
            let link = "<a href=\"\(Self.escape(unsubscribeURL))\">Unsubscribe</a>"
            html = html.replacingOccurrences(of: link, with: "<a href=\"\(Self.escape(preferencesURL))\">Preferences</a> · " + link)
        }
    }

    private init(single alert: Alert, unsubscribeURL: String) {
        let headline = alert.event.headline.components(separatedBy: .newlines).joined(separator: " ")
        let label: String = switch alert.type {
        case .alert: alert.event.urgency == .flash ? "FLASH" : "BREAKING"
        case .update: "UPDATE"
        case .correction: "CORRECTION"
        case .retraction: "WITHDRAWN"
        case .notice: "NOTICE"
        }
        subject = "[\(label)] \(headline)"
        let place = ([alert.event.section.rawValue] + alert.event.regions.map(\.rawValue)).joined(separator: " · ")
        let why = alert.matched.map { "\($0.clause.rawValue): \($0.value)" }.joined(separator: "; ")
        var lines = [label + (alert.type == .retraction ? ": the newsroom withdrew this item." : ""), "", headline]
        if let summary = alert.event.summary { lines += ["", summary] }
        if let url = alert.event.url { lines += ["", url] }
        lines += ["", place, "Published \(RFC3339.format(alert.event.publishedAt))"]
        if !why.isEmpty { lines += ["Why you got this: \(why)"] }
        lines += ["", "Unsubscribe: \(unsubscribeURL)"]
        text = lines.joined(separator: "\n")

        let escape = Self.escape
        var body = "<p><strong>\(escape(label))</strong></p>"
        body += alert.type == .retraction ? "<h1><s>\(escape(headline))</s></h1><p>The newsroom withdrew this item.</p>" : "<h1>\(escape(headline))</h1>"
        if let summary = alert.event.summary { body += "<p>\(escape(summary))</p>" }
        if let url = alert.event.url, url.lowercased().hasPrefix("http") { body += "<p><a href=\"\(escape(url))\">Read the story</a></p>" }
        body += "<p>\(escape(place)) · \(escape(RFC3339.format(alert.event.publishedAt)))</p>"
        if !why.isEmpty { body += "<p>Why you got this: \(escape(why))</p>" }
        body += "<p><a href=\"\(escape(unsubscribeURL))\">Unsubscribe</a></p>"
        html = "<!doctype html><html><body>\(body)</body></html>"
    }

    /// A digest: every item with its headline, place and time, newest last.
    private init(digest items: [Alert.DigestItem], unsubscribeURL: String) {
        let escape = Self.escape
        let flat = { (text: String) in text.components(separatedBy: .newlines).joined(separator: " ") }
        subject = "[DIGEST] \(items.count) item\(items.count == 1 ? "" : "s"): \(flat(items.last?.event.headline ?? ""))"
        var lines = ["DIGEST: \(items.count) item\(items.count == 1 ? "" : "s")", ""]
        var body = "<p><strong>DIGEST</strong></p><ol>"
        for item in items {
            let when = RFC3339.format(item.event.publishedAt)
            let place = ([item.event.section.rawValue] + item.event.regions.map(\.rawValue)).joined(separator: " · ")
            lines += ["- \(flat(item.event.headline)) (\(place), \(when))"]
            if let url = item.event.url { lines += ["  \(url)"] }
            body += "<li>\(escape(flat(item.event.headline))) <small>\(escape(place)) · \(escape(when))</small>"
            if let url = item.event.url, url.lowercased().hasPrefix("http") { body += " <a href=\"\(escape(url))\">Read</a>" }
            body += "</li>"
        }
        lines += ["", "Unsubscribe: \(unsubscribeURL)"]
        body += "</ol><p><a href=\"\(escape(unsubscribeURL))\">Unsubscribe</a></p>"
        text = lines.joined(separator: "\n")
        html = "<!doctype html><html><body>\(body)</body></html>"
    }

    /// Text safe inside HTML elements and attribute values.
    public static func escape(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}
