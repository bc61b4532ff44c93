import Foundation
import NewsAlertCore
import Testing

@Suite struct MatchingValidationTests {
    /// The fields named by validating `json` for a subscriber in `timeZone`; empty when it is valid.
    private func problemFields(_ json: String, timeZone: String = "Europe/Berlin") -> [String] {
        do {
            _ = try SubscriptionRule.decode(from: Data(json.utf8)).validate(timeZone: timeZone)
            return []
        } catch let failure as ValidationFailure {
            return failure.problems.map(\.field)
        } catch {
            return ["unexpected \(error)"]
        }
    }

    @Test func documentedExampleIsValid() throws {
        let json = """
            {
              "regions": ["MENA", "Palestine"],
              "keywords": "ceasefire OR \\"drone strike\\" -rumour",
              "max_urgency": 3,
              "quiet_hours": {"start": "22:00", "end": "07:00", "allow_flash": true},
              "delivery": {"mode": "digest", "every": "daily", "at": "08:00"},
              "channels": ["email-main", "webhook-ops"]
            }
            """
        let rule = try SubscriptionRule.decode(from: Data(json.utf8)).validate(timeZone: "Europe/Berlin")
        #expect(rule.criteria.regions == [.mena, .palestine])
        #expect(rule.criteria.maxUrgency == Urgency(rawValue: 3))
        #expect(rule.criteria.keywords?.description == #"(ceasefire OR "drone strike") -rumour"#)
        #expect(rule.quietHours == QuietHours(start: try #require(LocalTime(parsing: "22:00")), end: try #require(LocalTime(parsing: "07:00")), allowFlash: true))
        #expect(rule.delivery == .digest(.daily(at: try #require(LocalTime(hour: 8, minute: 0)))))
        #expect(rule.channels == ["email-main", "webhook-ops"])
        #expect(rule.timeZone.identifier == "Europe/Berlin")
    }

    @Test func deliveryDefaults() throws {
        let immediate = try SubscriptionRule(sections: ["politics"]).validate(timeZone: "UTC")
        #expect(immediate.delivery == .immediate)
        #expect(immediate.criteria.sections == [.politics])
        let daily = try SubscriptionRule(all: true, delivery: .init(mode: "digest", every: "daily")).validate(timeZone: "UTC")
        #expect(daily.delivery == .digest(.daily(at: try #require(LocalTime(hour: 8, minute: 0)))))
        let hourly = try SubscriptionRule(all: true, delivery: .init(mode: "digest", every: "hourly")).validate(timeZone: "UTC")
        #expect(hourly.delivery == .digest(.hourly))
    }

    @Test(arguments: [
        (#"{"sections": ["Politics", "Gossip"]}"#, ["sections[1]"]),
        (#"{"regions": ["Middle East"]}"#, ["regions[0]"]),
        (#"{"kinds": ["tweet"]}"#, ["kinds[0]"]),
        (#"{"countries": ["LBN", "L1", "us"]}"#, ["countries[0]", "countries[1]"]),
        (#"{"tags": ["  ", "Gaza"]}"#, ["tags[0]"]),
        (#"{"entities": ["---"]}"#, ["entities[0]"]),
        (#"{"sections": []}"#, ["sections"]),
        (#"{"max_urgency": 0}"#, ["max_urgency"]),
        (#"{"max_urgency": 10}"#, ["max_urgency"]),
        (#"{}"#, ["all"]),
        (#"{"all": false}"#, ["all"]),
        (#"{"all": true, "sections": ["Politics"]}"#, ["all"]),
        (#"{"keywords": "not"}"#, ["keywords"]),
        (#"{"all": true, "quiet_hours": {"start": "25:00", "end": "7:00"}}"#, ["quiet_hours.start", "quiet_hours.end"]),
        (#"{"all": true, "quiet_hours": {"start": "22:00", "end": "22:00"}}"#, ["quiet_hours.end"]),
        (#"{"all": true, "delivery": {"mode": "later"}}"#, ["delivery.mode"]),
        (#"{"all": true, "delivery": {"mode": "digest"}}"#, ["delivery.every"]),
        (#"{"all": true, "delivery": {"mode": "digest", "every": "weekly"}}"#, ["delivery.every"]),
        (#"{"all": true, "delivery": {"mode": "digest", "every": "daily", "at": "8am"}}"#, ["delivery.at"]),
        (#"{"all": true, "delivery": {"mode": "digest", "every": "hourly", "at": "08:00"}}"#, ["delivery.at"]),
        (#"{"all": true, "delivery": {"mode": "immediate", "every": "hourly"}}"#, ["delivery.every"]),
        (#"{"all": true, "channels": [""]}"#, ["channels[0]"]),
    ])
    func problemsNameTheField(json: String, fields: [String]) {
        #expect(problemFields(json) == fields)
    }

    @Test func unknownTimeZoneIsNamed() {
        #expect(problemFields(#"{"all": true}"#, timeZone: "Europe/Atlantis") == ["time_zone"])
        #expect(problemFields(#"{"all": true}"#, timeZone: "") == ["time_zone"])
    }

    @Test func everyProblemIsReportedAtOnce() {
        let json = #"{"sections": ["Gossip"], "countries": ["XYZ"], "max_urgency": 12, "keywords": "(a", "quiet_hours": {"start": "x", "end": "07:00"}}"#
        #expect(problemFields(json, timeZone: "Nowhere") == ["time_zone", "sections[0]", "countries[0]", "keywords", "max_urgency", "quiet_hours.start"])
    }

    @Test(arguments: [
        (#"{"section": ["Politics"]}"#, "section", "is not a known field"),
        (#"{"sections": "Politics"}"#, "sections", "must be an array of strings"),
        (#"{"sections": ["Politics", 3]}"#, "sections[1]", "must be a string"),
        (#"{"max_urgency": "3"}"#, "max_urgency", "must be an integer"),
        (#"{"all": "yes"}"#, "all", "must be true or false"),
        (#"{"all": true, "quiet_hours": {"start": "22:00"}}"#, "quiet_hours.end", "is required"),
        (#"{"all": true, "quiet_hours": {"start": "22:00", "end": "07:00", "flash": true}}"#, "quiet_hours.flash", "is not a known field"),
        (#"{"all": true, "delivery": "digest"}"#, "delivery", "must be a JSON object"),
        (#"["Politics"]"#, "rule", "must be a JSON object"),
        (#"{"all": tru"#, "rule", "must be a JSON object"),
    ])
    func decodingProblemsNameTheField(json: String, field: String, problem: String) {
        let failure = #expect(throws: ValidationFailure.self) { try SubscriptionRule.decode(from: Data(json.utf8)) }
        #expect(failure?.problems == [FieldProblem(field: field, problem: problem)])
    }

    @Test func encodesSnakeCaseAndOmitsAbsentFields() throws {
        let rule = SubscriptionRule(
            regions: ["MENA"], maxUrgency: 2, quietHours: .init(start: "22:00", end: "07:00", allowFlash: true),
            delivery: .init(mode: "immediate"))
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = String(decoding: try encoder.encode(rule), as: UTF8.self)
        #expect(json == #"{"delivery":{"mode":"immediate"},"max_urgency":2,"quiet_hours":{"allow_flash":true,"end":"07:00","start":"22:00"},"regions":["MENA"]}"#)
        #expect(try SubscriptionRule.decode(from: Data(json.utf8)) == rule)
    }

    @Test func generatedCriteriaSurviveTheJSONRoundTrip() throws {
        var generator = RuleGenerator(seed: 7)
        for _ in 0..<2_000 {
            let criteria = generator.criteria()
            let data = try JSONEncoder().encode(SubscriptionRule(criteria))
            #expect(try SubscriptionRule.decode(from: data).validate(timeZone: "UTC").criteria == criteria)
        }
    }

    @Test func budgetLimitsMustNotBeNegative() throws {
        let failure = #expect(throws: ValidationFailure.self) { try Budget(perHour: -1, perDay: 5).validate() }
        #expect(failure?.problems.map(\.field) == ["budget.per_hour"])
        let decoded = try JSONDecoder().decode(Budget.self, from: Data(#"{"per_day": 20}"#.utf8))
        #expect(decoded == Budget(perHour: nil, perDay: 20, flashExceedsBudget: true))
    }
}
