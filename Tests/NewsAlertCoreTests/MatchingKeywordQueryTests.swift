import Foundation
import NewsAlertCore
import Testing

@Suite struct MatchingKeywordQueryTests {
    @Test(arguments: [
        ("ceasefire", KeywordQuery.word("ceasefire")),
        ("Ceasefire", .word("ceasefire")),
        (#""Drone Strike""#, .phrase(["drone", "strike"])),
        ("“drone strike”", .phrase(["drone", "strike"])),
        (#"ceasefire OR "drone strike" -rumour"#, .all([.any([.word("ceasefire"), .phrase(["drone", "strike"])]), .not(.word("rumour"))])),
        ("ceasefire or truce gaza", .all([.any([.word("ceasefire"), .word("truce")]), .word("gaza")])),
        ("ceasefire AND gaza", .all([.word("ceasefire"), .word("gaza")])),
        ("not rumour ceasefire", .all([.not(.word("rumour")), .word("ceasefire")])),
        (#"-"fake news" hezbollah"#, .all([.not(.phrase(["fake", "news"])), .word("hezbollah")])),
        ("(gaza OR lebanon) (ceasefire OR truce)", .all([.any([.word("gaza"), .word("lebanon")]), .any([.word("ceasefire"), .word("truce")])])),
        ("(a b) c", .all([.word("a"), .word("b"), .word("c")])),
        ("a OR (b OR c)", .any([.word("a"), .word("b"), .word("c")])),
        ("iran -(denied OR rumour)", .all([.word("iran"), .not(.any([.word("denied"), .word("rumour")]))])),
        ("Korea's", .word("korea")),
        ("cease-fire", .word("cease-fire")),
        (#""not" guilty"#, .all([.word("not"), .word("guilty")])),
        ("drone/strike", .phrase(["drone", "strike"])),
    ])
    func parsesValidQueries(text: String, expected: KeywordQuery) throws {
        let query = try KeywordQuery.parse(text)
        #expect(query == expected)
        #expect(try KeywordQuery.parse(query.description) == query, "canonical form \(query.description) parses back")
    }

    @Test(arguments: [
        (#""drone strike"#, "unbalanced quote"),
        ("not", "NOT needs"),
        ("ceasefire NOT", "NOT needs"),
        ("ceasefire -", "'-' needs"),
        ("- rumour ceasefire", "'-' needs"),
        ("ceasefire OR", "OR needs"),
        ("OR ceasefire", "OR needs a term before"),
        ("ceasefire OR OR truce", "OR needs"),
        ("AND ceasefire", "AND needs a term before"),
        ("(ceasefire", "never closed"),
        ("ceasefire)", "unmatched ')'"),
        ("()", "empty parentheses"),
        (#"ceasefire """#, "empty phrase"),
        ("", "is empty"),
        ("   ", "is empty"),
        ("!!!", "no letters or digits"),
        ("-rumour", "not excluded"),
        ("rumour OR -denied", "not excluded"),
        ("not (ceasefire OR truce)", "not excluded"),
        (String(repeating: "a ", count: 300), "longer than"),
        ((1...40).map { "w\($0)" }.joined(separator: " "), "more than 32"),
        (String(repeating: "(", count: 9) + "a" + String(repeating: ")", count: 9), "nests parentheses"),
    ])
    func rejectsMalformedQueries(text: String, message: String) {
        let error = #expect(throws: KeywordQuery.ParseError.self) { try KeywordQuery.parse(text) }
        #expect(error?.message.contains(message) == true, "\(String(describing: error))")
    }

    @Test func malformedQueryIsAValidationFailureNamingKeywords() throws {
        let rule = SubscriptionRule(keywords: #"ceasefire "drone"#)
        let failure = #expect(throws: ValidationFailure.self) { try rule.validate(timeZone: "UTC") }
        #expect(failure?.problems.map(\.field) == ["keywords"])
        #expect(failure?.problems.first?.problem == "has an unbalanced quote (at character 11)")
    }

    @Test func errorsSayWhere() throws {
        #expect(throws: KeywordQuery.ParseError(message: "has an unbalanced quote", offset: 10)) {
            try KeywordQuery.parse(#"ceasefire "drone"#)
        }
    }

    @Test func wordsAreWholeAndFoldedLikeEventText() throws {
        var index = SubscriptionIndex()
        for (id, query) in [("korea", "korea"), ("cafe", "cafe"), ("sanaa", "sana'a"), ("us", "U.S."), ("strike", "strike")] {
            index.insert(id: id, subscriberID: "s", rule: try MatchingFixtures.criteria(#"{"keywords": "\#(query)"}"#))
        }
        let event = MatchingFixtures.event(text: "South Korea's U.S. ally met at a Café in Sana’a; strikes continued.")
        #expect(Set(index.match(event).map(\.subscriptionID)) == ["korea", "cafe", "sanaa", "us"])
    }
}
