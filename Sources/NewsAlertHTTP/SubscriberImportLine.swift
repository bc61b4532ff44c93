import Foundation
import NewsAlertCore
import NewsAlertStore

/// Checks one import line: `{"external_id", "name", "time_zone", "budget"?, "channels": [{"kind": "webhook", "url",
/// "secret"?} | {"kind": "email", "address"}], "subscriptions": [{"rule": {...}}]}`, every problem named by field.
///
/// Keeps small caches of the time zones and webhook URLs it has checked: a file of a million subscribers usually
/// names few of them.
struct ImportLineChecker {
    struct Failure: Error {
        var externalID: String?
        var problems: [FieldProblem]
    }

    static let fields: Set<String> = ["external_id", "name", "time_zone", "budget", "channels", "subscriptions"]
    let webhooks: any WebhookEndpointPolicy
    private var zones: [String: Bool] = [:]
    private var urlProblems: [String: String?] = [:]

    init(webhooks: any WebhookEndpointPolicy) {
        self.webhooks = webhooks
    }

    mutating func check(_ bytes: [UInt8], line: Int) async -> Result<SubscriberImport, Failure> {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] else {
            let problem = String(validating: bytes, as: UTF8.self) == nil ? "the line is not valid UTF-8" : "the line is not a JSON object"
            return .failure(Failure(externalID: nil, problems: [FieldProblem(field: "", problem: problem)]))
        }
        var fields = RequestFields(object, allowed: Self.fields)
        let externalID = fields.text("external_id", required: true)
        let name = fields.text("name", required: true)
        let zone = fields.text("time_zone", required: true, maxLength: 64)
        if let zone, !isKnownZone(zone) {
            fields.report("time_zone", "must be an IANA time zone such as Europe/Berlin (got '\(zone)')")
        }
        let budget = fields.decoded("budget", as: Budget.self, required: false) ?? .unlimited
        do throws(ValidationFailure) { try budget.validate() } catch { error.problems.forEach { fields.report("budget.\($0.field)", $0.problem) } }
        let channels = await checkChannels(&fields)
        let rules = checkRules(&fields, timeZone: zone.flatMap { isKnownZone($0) ? $0 : nil })
        guard fields.problems.isEmpty, let externalID, let name, let zone else {
            return .failure(Failure(externalID: externalID, problems: fields.problems))
        }
        return .success(SubscriberImport(line: line, externalID: externalID, name: name, timeZone: zone, budget: budget, channels: channels, rules: rules))
    }

    private mutating func isKnownZone(_ zone: String) -> Bool {
        if let known = zones[zone] { return known }
        let known = TimeZone(identifier: zone) != nil
        if zones.count < 1_000 { zones[zone] = known }
        return known
    }

    private mutating func checkChannels(_ fields: inout RequestFields) async -> [SubscriberImport.Channel] {
        guard let value = fields.object["channels"] else {
            fields.report("channels", "is required (an empty list for none)")
            return []
        }
        guard let list = value as? [Any], list.count <= 20 else {
            fields.report("channels", "must be a list of at most 20 channels")
            return []
        }
        var channels: [SubscriberImport.Channel] = []
        for (index, item) in list.enumerated() {
            let path = "channels[\(index)]"
            guard let object = item as? [String: Any] else {
                fields.report(path, "must be an object {\"kind\": \"webhook\", \"url\"} or {\"kind\": \"email\", \"address\"}")
                continue
            }
            let kind = object["kind"] as? String
            var channel = RequestFields(object, allowed: kind == "email" ? ["kind", "address"] : ["kind", "url", "secret"])
            var checked: SubscriberImport.Channel?
            switch kind {
            case "webhook":
                if let url = channel.text("url", required: true, maxLength: 2048) {
                    if let problem = await problem(withURL: url) { channel.report("url", problem) }
                    let secret = channel.text("secret", required: false, maxLength: 200)
                    if let secret, let problem = webhooks.problem(withSecret: secret) { channel.report("secret", problem) }
                    checked = SubscriberImport.Channel(kind: .webhook, target: url, secret: secret ?? webhooks.newSecret(), secretGiven: secret != nil)
                }
            case "email":
                if let address = channel.text("address", required: true, maxLength: 254) {
                    if !EmailAddress.isPlausible(address) { channel.report("address", "must be an email address like desk@example.com") }
                    checked = SubscriberImport.Channel(kind: .email, target: address, secret: nil, secretGiven: false)
                }
            default:
                channel.report("kind", "must be webhook or email")
            }
            for problem in channel.problems { fields.report(problem.prefixed(path).field, problem.problem) }
            guard channel.problems.isEmpty, let checked else { continue }
            if channels.contains(where: { $0.kind == checked.kind && $0.target == checked.target }) {
                fields.report(path, "names the same \(checked.kind.rawValue) channel as an earlier one of this line")
                continue
            }
            channels.append(checked)
        }
        return channels
    }

    private mutating func problem(withURL url: String) async -> String? {
        if let known = urlProblems[url] { return known }
        let problem = await webhooks.problem(with: url)
        if urlProblems.count >= 10_000 { urlProblems.removeAll(keepingCapacity: true) }
        urlProblems[url] = problem
        return problem
    }

    private func checkRules(_ fields: inout RequestFields, timeZone: String?) -> [SubscriptionRule] {
        guard let value = fields.object["subscriptions"] else {
            fields.report("subscriptions", "is required (an empty list for none)")
            return []
        }
        guard let list = value as? [Any], list.count <= 100 else {
            fields.report("subscriptions", "must be a list of at most 100 subscriptions")
            return []
        }
        var rules: [SubscriptionRule] = []
        for (index, item) in list.enumerated() {
            let path = "subscriptions[\(index)]"
            guard let object = item as? [String: Any] else {
                fields.report(path, "must be an object {\"rule\": {...}}")
                continue
            }
            var subscription = RequestFields(object, allowed: ["rule"])
            if let rule = subscription.decoded("rule", as: SubscriptionRule.self, required: true) {
                if rule.channels != nil {
                    subscription.report("rule.channels", "an import cannot name channels by id; a rule without channels delivers to all of the subscriber's channels")
                } else if let timeZone {
                    do throws(ValidationFailure) {
                        _ = try rule.validate(timeZone: timeZone)
                        rules.append(rule)
                    } catch {
                        error.problems.forEach { subscription.report($0.prefixed("rule").field, $0.problem) }
                    }
                }
            }
            for problem in subscription.problems { fields.report(problem.prefixed(path).field, problem.problem) }
        }
        return rules
    }
}

/// The JSON of the import report lines and of the export lines.
enum SubscriberLineShape {
    static func report(_ outcome: SubscriberImportOutcome) -> [String: Any] {
        guard outcome.status != .duplicate else {
            return rejection(line: outcome.line, externalID: outcome.externalID, [FieldProblem(
                field: "external_id", problem: "'\(outcome.externalID)' was already imported from line \(outcome.firstLine ?? 0) of this file; each subscriber may appear once")])
        }
        return [
            "line": outcome.line, "external_id": outcome.externalID, "status": outcome.status.rawValue, "subscriber_id": outcome.subscriberID,
            "channels": outcome.channels.map { channel -> [String: Any] in
                var view: [String: Any] = ["channel_id": channel.id, "kind": channel.kind.rawValue, "target": channel.target]
                if let secret = channel.generatedSecret { view["secret"] = secret }
                return view
            },
        ]
    }

    static func rejection(line: Int, externalID: String?, _ problems: [FieldProblem]) -> [String: Any] {
        [
            "line": line, "external_id": externalID ?? NSNull(), "status": "rejected",
            "errors": problems.map { ["field": $0.field, "problem": $0.problem] },
        ]
    }

    /// One subscriber in the import line shape, so an export imports back as it is.
    static func exportLine(_ export: SubscriberExport) throws -> Data {
        let budget = try JSONSerialization.jsonObject(with: JSONEncoder.newsAlert.encode(export.subscriber.budget))
        let channels: [[String: Any]] = export.channels.map { channel in
            switch channel.kind {
            case .email: return ["kind": "email", "address": channel.target]
            default:
                var view: [String: Any] = ["kind": channel.kind.rawValue, "url": channel.target]
                if let secret = channel.secrets.first { view["secret"] = secret }
                return view
            }
        }
        let subscriptions: [[String: Any]] = try export.subscriptions.map { subscription in
            ["rule": try JSONSerialization.jsonObject(with: JSONEncoder.newsAlert.encode(subscription.rule))]
        }
        let line: [String: Any] = [
            "external_id": export.externalID ?? export.subscriber.id, "name": export.subscriber.name, "time_zone": export.subscriber.timeZone,
            "budget": budget, "channels": channels, "subscriptions": subscriptions,
        ]
        return try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys, .withoutEscapingSlashes])
    }
}
