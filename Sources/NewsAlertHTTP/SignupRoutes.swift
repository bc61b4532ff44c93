import Foundation
import Hummingbird
import Metrics
import NewsAlertCore
import NewsAlertStore

/// The public signup of readers: `GET /v1/signup/topics` (the publication's sections, regions and countries) and
/// `POST /v1/signup` (no credentials), which answers the same 202 whatever happened, so that nobody learns whether an
/// address is known. Abuse controls: a limit per client address (429), a silent limit per email address, a honeypot
/// field, a small body limit, and counters of each outcome (`newsalert_signup_requests_total{outcome}`).
public struct SignupRoutes: Sendable {
    /// How much the public signup accepts.
    public struct Limits: Sendable {
        /// Signups one client address may post per window (then 429 with Retry-After).
        public var perClient = 20
        /// Signups for one email address per window that are acted on (the rest answer the same and do nothing).
        public var perEmail = 5
        public var window: TimeInterval = 3600
        public var bodyBytes = 4096

        public init() {}
    }

    let database: AppDatabase
    let gazetteer: Gazetteer
    let limits: Limits
    let perClient: RequestRateLimiter
    let perEmail: RequestRateLimiter

    public init(database: AppDatabase, gazetteer: Gazetteer, limits: Limits = Limits()) {
        self.database = database
        self.gazetteer = gazetteer
        self.limits = limits
        perClient = RequestRateLimiter(limit: limits.perClient, window: limits.window)
        perEmail = RequestRateLimiter(limit: limits.perEmail, window: limits.window)
    }

    /// The one answer of `POST /v1/signup` when the input was valid.
    static let accepted = [
        "status": "check_your_email",
        "message": "If this address can get alerts, a confirmation mail is on its way. Open its link within 24 hours to start getting them.",
    ]

    struct Topics: Encodable {
        struct Country: Encodable {
            var code: String
            var name: String
        }
        var sections: [String]
        var regions: [String]
        var countries: [Country]
    }

    public func add(to router: some RouterMethods<NewsAlertRequestContext>) {
        let topics = Topics(
            sections: NewsSection.allCases.map(\.rawValue), regions: NewsRegion.allCases.map(\.rawValue),
            countries: gazetteer.countries.values.filter { !RegionMap.regions(forCountry: $0.alpha2).isEmpty }
                .map { Topics.Country(code: $0.alpha2, name: $0.displayName) }.sorted { $0.name < $1.name })
        router.get("/v1/signup/topics") { _, _ in
            try Response.json(status: .ok, topics)
        }
        router.post("/v1/signup") { request, context in
            if let retryAfter = perClient.take(context.clientAddress ?? "unknown") {
                Self.count("client_limited")
                var error = APIError(.tooManyRequests, code: "rate_limited", message: "too many signups from this address; try again in \(retryAfter) s")
                error.headers[.retryAfter] = "\(retryAfter)"
                throw error
            }
            let signup: Signup
            do {
                signup = try await Self.read(request, limit: limits.bodyBytes)
            } catch {
                Self.count("invalid")
                throw error
            }
            // A filled honeypot is a form-filling robot: it gets the answer a person gets, and nothing happens.
            if signup.honeypotFilled {
                Self.count("honeypot")
                return try Response.json(status: .accepted, Self.accepted)
            }
            if perEmail.take(signup.email.lowercased()) != nil {
                Self.count("email_limited")
                return try Response.json(status: .accepted, Self.accepted)
            }
            let outcome = try await database.signUpReader(email: signup.email, timeZone: signup.timeZone, rules: signup.rules)
            switch outcome {
            case .created(_, _, let confirmation), .updatedPending(_, let confirmation):
                Self.count(confirmation == .queued ? "accepted" : "confirmation_limited")
            case .alreadyConfirmed:
                Self.count("known")
            }
            return try Response.json(status: .accepted, Self.accepted)
        }
    }

    static func count(_ outcome: String) {
        Counter(label: "newsalert_signup_requests_total", dimensions: [("outcome", outcome)]).increment()
    }

    /// A valid signup request.
    struct Signup {
        var email: String
        var timeZone: String
        var rules: [SubscriptionRule]
        var honeypotFilled: Bool
    }

    /// Reads and checks the body: 400/413/415 for a bad body, 422 naming every bad field.
    static func read(_ request: Request, limit: Int) async throws -> Signup {
        let body = try await JSONRequestBody.read(request, limit: limit)
        var fields = RequestFields(body.object, allowed: ["email", "time_zone", "topics", "delivery", "quiet_hours", "website"])
        let email = fields.text("email", required: true, maxLength: 254)
        if let email, !EmailAddress.isPlausible(email) { fields.report("email", "must be an email address like reader@example.com") }
        let zone = fields.text("time_zone", required: true, maxLength: 64)
        if let zone, TimeZone(identifier: zone) == nil { fields.report("time_zone", "must be an IANA time zone such as Europe/Berlin") }
        let honeypot = body.object["website"].map { !(($0 as? String)?.isEmpty ?? false) && !($0 is NSNull) } ?? false
        let rules = Self.rules(body.object, timeZone: zone, into: &fields)
        try fields.check()
        return Signup(email: email!, timeZone: zone!, rules: rules, honeypotFilled: honeypot)
    }

    /// The rules of a reader's choices (`topics`, `delivery`, `quiet_hours`): one per kind of topic, each checked in
    /// `timeZone`; problems are reported into `fields` under the request's own names.
    static func rules(_ object: [String: Any], timeZone zone: String?, into fields: inout RequestFields) -> [SubscriptionRule] {
        let delivery = fields.decoded("delivery", as: SubscriptionRule.DeliverySpec.self, required: false)
        let quietHours = fields.decoded("quiet_hours", as: SubscriptionRule.QuietHoursSpec.self, required: false)
        var rules: [SubscriptionRule] = []
        if let value = object["topics"], !(value is NSNull) {
            if let object = value as? [String: Any] {
                var topics = RequestFields(object, allowed: ["sections", "regions", "countries", "keywords"])
                let sections = topics.strings("sections")
                let regions = topics.strings("regions")
                let countries = topics.strings("countries")
                let keywords = topics.text("keywords", required: false, maxLength: 500)
                topics.problems.forEach { fields.report("topics.\($0.field)", $0.problem) }
                if let sections, !sections.isEmpty { rules.append(SubscriptionRule(sections: sections)) }
                if let regions, !regions.isEmpty { rules.append(SubscriptionRule(regions: regions)) }
                if let countries, !countries.isEmpty { rules.append(SubscriptionRule(countries: countries)) }
                if let keywords { rules.append(SubscriptionRule(keywords: keywords)) }
                if rules.isEmpty && topics.problems.isEmpty {
                    fields.report("topics", "pick at least one section, region or country, or give keywords")
                }
            } else {
                fields.report("topics", "must be an object with sections, regions, countries and keywords")
            }
        } else {
            fields.report("topics", "is required")
        }
        var seen = Set<String>()
        for index in rules.indices {
            rules[index].delivery = delivery
            rules[index].quietHours = quietHours
            do throws(ValidationFailure) {
                _ = try rules[index].validate(timeZone: zone.flatMap { TimeZone(identifier: $0) == nil ? nil : $0 } ?? "UTC")
            } catch {
                for problem in error.problems {
                    let topical = ["sections", "regions", "countries", "keywords"].contains { problem.field.hasPrefix($0) }
                    let field = topical ? "topics.\(problem.field)" : problem.field
                    if seen.insert("\(field)\n\(problem.problem)").inserted { fields.report(field, problem.problem) }
                }
            }
        }
        return rules
    }
}

extension RequestFields {
    /// A list of strings (at most 64); nil when absent.
    mutating func strings(_ field: String) -> [String]? {
        guard let value = object[field], !(value is NSNull) else { return nil }
        guard let list = value as? [Any], list.count <= SubscriptionRule.maxListValues, let strings = list as? [String] else {
            report(field, "must be a list of at most \(SubscriptionRule.maxListValues) strings")
            return nil
        }
        return strings
    }
}
