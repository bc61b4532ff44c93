import Foundation
import NewsAlertCore
import Testing

/// One test per enrichment rule.
@Suite struct EnrichmentTests {
    private func enrich(_ headline: String, kind: NewsKind = .breaking, body: String? = nil, section: NewsSection? = nil,
                        regions: [NewsRegion] = [], urgency: Urgency? = nil, language: String? = nil) throws -> Enrichment {
        let event = NewsEvent(id: "e", kind: kind, headline: headline, body: body, section: section, regions: regions,
                              urgency: urgency, publishedAt: TestFixtures.epoch, language: language)
        return try TestFixtures.enricher().enrich(event)
    }

    // MARK: Attribution

    @Test(arguments: [
        ("Al Mayadeen's correspondent in South Lebanon: Israeli drone targets a car", "Al Mayadeen's correspondent in South Lebanon", "Israeli drone targets a car"),
        ("Al Mayadeen correspondent to Southern Lebanon: An Israeli drone strike targeted a vehicle.", "Al Mayadeen correspondent to Southern Lebanon", "An Israeli drone strike targeted a vehicle."),
        ("Israeli media: Netanyahu signals he wants to end the war", "Israeli media", "Netanyahu signals he wants to end the war"),
        ("Lebanese Ministry of Health: One martyr and two injured", "Lebanese Ministry of Health", "One martyr and two injured"),
        ("Israeli Channel 12, citing an American source: We want a ceasefire", "Israeli Channel 12, citing an American source", "We want a ceasefire"),
        ("Naeini: The war has proven that the settlers are defenseless", "Naeini", "The war has proven that the settlers are defenseless"),
    ])
    func attributionPrefixIsStrippedAndKeptAsSource(headline: String, source: String, report: String) throws {
        let enrichment = try enrich(headline)
        #expect(enrichment.source == source)
        #expect(enrichment.headline == report)
        #expect(enrichment.text == report)
    }

    @Test func speakerPrefixIsAQuoteWithThePersonAsEntity() throws {
        let trump = try enrich("Trump: Make the deal, get the hostages back")
        #expect(trump.speaker == "Trump")
        #expect(trump.entities.first == EntityMention(name: "Trump", kind: .person, canonical: "Donald Trump", country: "US", inAttribution: true))
        let unknown = try enrich("Baghaei: Iran will respond to any aggression")
        #expect(unknown.speaker == "Baghaei")
        #expect(unknown.entities.first?.kind == .person)
        #expect(try enrich("Israeli media: Netanyahu signals he wants to end the war").speaker == nil)
        #expect(try enrich("Al Mayadeen's correspondent: 67 Palestinians were martyred").speaker == nil)
    }

    @Test func colonsThatAreNotAttributionsStay() throws {
        #expect(try enrich("Explosion heard at 18:38 in central Damascus").source == nil)
        let sentence = "The ministry said in a long statement released late on Friday evening after the meeting ended: talks failed"
        #expect(try enrich(sentence).source == nil)
    }

    @Test func placesInTheAttributionCountForGeographyButDemonymsDoNot() throws {
        let enrichment = try enrich("Al Mayadeen's correspondent in South Lebanon: Israeli drone targets a car in the town of Kawnin")
        let southLebanon = try #require(enrichment.places.first { $0.name == "South Lebanon" })
        #expect(southLebanon.inAttribution)
        #expect(enrichment.reasons(for: "places").first?.because.hasSuffix(", in the attribution") == true)
        let media = try enrich("Israeli media: Talks resume in Doha")
        #expect(media.countries == ["QA"])
    }

    @Test func breakingLabelIsStrippedAndMakesAFlash() throws {
        let enrichment = try enrich("BREAKING: Naeini: Our response will be stronger")
        #expect(enrichment.source == "Naeini")
        #expect(enrichment.speaker == "Naeini")
        #expect(enrichment.urgency == .flash)
        #expect(enrichment.reasons(for: "urgency").first?.because == "flash label 'BREAKING'")
    }

    // MARK: Section

    @Test(arguments: [
        ("Israeli drone strike targets a car in the town of Kawnin", NewsSection.politics),
        ("Oil prices jump as markets react to inflation data", .economy),
        ("Morocco beat Spain in the World Cup quarter-final match", .sports),
        ("Cholera outbreak spreads as vaccine supplies run low", .health),
        ("Palestinian film wins top prize at the Venice festival", .artsAndCulture),
        ("Cyberattack hits banks' software systems", .technology),
        ("Wildfires and drought push climate emissions debate", .environment),
        ("Crowds gather for a wedding in Tyre", .miscellaneous),
    ])
    func sectionIsInferredFromCueWords(headline: String, section: NewsSection) throws {
        let enrichment = try enrich(headline)
        #expect(enrichment.section == section)
        #expect(enrichment.reasons(for: "section").count == 1)
    }

    @Test func newsroomSectionIsKept() throws {
        let enrichment = try enrich("Israeli drone strike targets a car", section: .economy)
        #expect(enrichment.section == .economy)
        #expect(enrichment.reasons(for: "section") == [EnrichmentReason(field: "section", value: "Economy", because: "set by the newsroom")])
    }

    // MARK: Urgency

    @Test(arguments: [
        ("One martyred in the Israeli drone strike on a car", NewsKind.breaking, 2),
        ("Israeli drone targets a car in the town of Kawnin", .breaking, 3),
        ("Explosion heard in central Damascus", .breaking, 3),
        ("Dutch Prime Minister resigns", .breaking, 4),
        ("We want a path toward a ceasefire", .breaking, 4),
        ("Make the deal, get the hostages back", .breaking, 5),
        ("Seoul and Washington reaffirm their alliance", .article, 9),
    ])
    func urgencyIsInferredFromCues(headline: String, kind: NewsKind, expected: Int) throws {
        let enrichment = try enrich(headline, kind: kind)
        #expect(enrichment.urgency.rawValue == expected)
    }

    @Test func newsroomUrgencyIsKept() throws {
        let urgency = try #require(Urgency(rawValue: 7))
        let enrichment = try enrich("One martyred in the Israeli drone strike", urgency: urgency)
        #expect(enrichment.urgency == urgency)
        #expect(enrichment.reasons(for: "urgency").first?.because == "set by the newsroom")
    }

    // MARK: Entities

    @Test func titledNamesOrganisationsAndKnownPeopleAreEntities() throws {
        let netanyahu = try enrich("Israeli media: For the first time, Prime Minister Netanyahu is signaling that he wants to end the war on Gaza")
        #expect(netanyahu.entities.contains(EntityMention(name: "Prime Minister Netanyahu", kind: .person, canonical: "Benjamin Netanyahu", country: "IL")))
        #expect(netanyahu.entities.contains { $0.name == "Gaza" && $0.kind == .place && $0.canonical == "Gaza Strip" })

        let ministry = try enrich("Lebanese Ministry of Health: One martyr and two injured")
        #expect(ministry.entities.first == EntityMention(name: "Lebanese Ministry of Health", kind: .organisation, country: "LB", inAttribution: true))

        let channel = try enrich("Israeli Channel 12, citing an American source: We want a ceasefire")
        #expect(channel.entities.first?.name == "Israeli Channel 12")
        #expect(channel.entities.first?.kind == .organisation)

        let article = try enrich(
            "US denies troop cut", kind: .article,
            body: "The clarification answers a Wall Street Journal article. US Defense Department chief spokesperson Sean Parnell said reports are not true, and President Donald Trump has not been briefed. Front-running candidate Lee Jae-myung of the Democratic Party leads."
        )
        let names = article.entities.map(\.name)
        for name in ["Wall Street Journal", "US Defense Department", "Sean Parnell", "President Donald Trump", "Lee Jae-myung", "Democratic Party"] {
            #expect(names.contains(name), "missing \(name) in \(names)")
        }
        #expect(article.entities.first { $0.name == "Sean Parnell" }?.kind == .person)
        #expect(article.reasons(for: "entities").count == article.entities.count)
    }

    @Test func unknownPersonAfterARoleWordIsAPerson() throws {
        let enrichment = try enrich("Foreign Ministry spokesman Esmaeil Baghaei condemns the attack")
        #expect(enrichment.entities.contains(EntityMention(name: "Foreign Ministry", kind: .organisation)))
        #expect(enrichment.entities.contains(EntityMention(name: "Esmaeil Baghaei", kind: .person)))
    }

    // MARK: Reading time and language

    @Test func readingTimeIsWordsAt230PerMinuteForArticlesOnly() throws {
        let body = Array(repeating: "word", count: 458).joined(separator: " ")
        let article = try enrich("Two words", kind: .article, body: body)
        #expect(article.readingTimeSeconds == 120)
        #expect(article.reasons(for: "reading_time_seconds").first?.because == "460 words at 230 words a minute")
        #expect(try enrich("Israeli drone targets a car").readingTimeSeconds == nil)
    }

    @Test(arguments: [
        ("Israeli drone targets a car in the town of Kawnin", "en"),
        ("مسيّرة إسرائيلية تستهدف سيارة في بلدة كونين", "ar"),
        ("El ejército israelí ataca un coche en el sur del Líbano", "es"),
        ("Kawnin Mahrouna Jwayya", "und"),
    ])
    func languageIsDetected(headline: String, language: String) throws {
        #expect(try enrich(headline).language == language)
    }

    @Test func newsroomLanguageIsKept() throws {
        #expect(try enrich("Israeli drone targets a car", language: "fr").language == "fr")
    }

    // MARK: Geography

    @Test func regionsComeFromCountriesWithReasons() throws {
        let gaza = try enrich("Al Mayadeen's correspondent: 67 Palestinians were martyred in 24 hours in the Israeli aggression on the Gaza Strip")
        #expect(gaza.countries == ["PS", "IL"])
        #expect(gaza.regions == [.palestine, .mena])
        #expect(gaza.reasons(for: "regions").first?.because == "country PS (State of Palestine) via 'Palestinians' (State of Palestine) [supplement: demonym of PS]")

        let korea = try enrich("US troops in Seoul and Guam", kind: .article)
        #expect(korea.countries == ["US", "KR", "GU"])
        #expect(korea.regions == [.usAndCanada, .asia, .asiaPacific])
        #expect(korea.places.first { $0.name == "Seoul" }?.kind == .city)

        let world = try enrich("Tensions rise across the Middle East")
        #expect(world.countries.isEmpty)
        #expect(world.regions == [.mena])
        #expect(world.reasons(for: "regions").first?.because == "area 'Middle East' [supplement: world area]")
    }

    @Test func newsroomRegionsAreKeptAndImpliedOnesAdded() throws {
        let enrichment = try enrich("A drone targets a car in the town of Kawnin", regions: [.europe])
        #expect(enrichment.regions == [.europe, .mena])
        #expect(enrichment.reasons(for: "regions").map(\.because) == [
            "set by the newsroom",
            "country LB (Lebanon) via 'Kawnin' [supplement: town in the Bint Jbeil district, South Lebanon]",
        ])
    }

    @Test func placesCarryCountryAndEnclosingPlaces() throws {
        let enrichment = try enrich("An Israeli drone strike targeted a vehicle between the towns of Jwayya and Mahrouna.")
        #expect(enrichment.places.map(\.name) == ["Jwayya", "Mahrouna"])
        #expect(enrichment.places.allSatisfy { $0.country == "LB" && $0.within == ["South Lebanon"] && $0.kind == .town })
        #expect(enrichment.reasons(for: "places").first?.because == "town in LB (Lebanon), within South Lebanon via 'Jwayya' [supplement: town in the Tyre district, South Lebanon]")
    }

    @Test func everyAddedTagHasAReason() throws {
        for line in TestFixtures.breakingLinesNewestFirst() {
            let enrichment = try enrich(line)
            for (field, values) in [("countries", enrichment.countries), ("regions", enrichment.regions.map(\.rawValue)),
                                    ("places", enrichment.places.map(\.name)), ("entities", enrichment.entities.map(\.name))] {
                #expect(enrichment.reasons(for: field).map(\.value) == values, "\(field) of \(line)")
            }
            #expect(enrichment.reasons(for: "section").count == 1)
            #expect(enrichment.reasons(for: "urgency").count == 1)
        }
    }

    @Test func enrichmentEncodesWithSnakeCaseKeys() throws {
        let enrichment = try enrich("Two words", kind: .article, body: "Israeli drone targets a car in Kawnin")
        let json = String(decoding: try JSONEncoder().encode(enrichment), as: UTF8.self)
        for key in ["\"event_id\"", "\"reading_time_seconds\"", "\"mentioned_as\"", "\"in_attribution\"", "\"because\""] {
            #expect(json.contains(key), "missing \(key)")
        }
        #expect(try JSONDecoder().decode(Enrichment.self, from: Data(json.utf8)) == enrichment)
    }
}
