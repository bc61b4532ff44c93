import Foundation
import NewsAlertCore
import Testing

@Suite struct GazetteerTests {
    private func match(_ text: String) throws -> [GazetteerMatch] {
        try TestFixtures.gazetteer().matches(in: text)
    }

    @Test func buildsFromISOCodesAndTheSupplementWithProvenance() throws {
        let gazetteer = try TestFixtures.gazetteer()
        #expect(gazetteer.countries.count >= 249)
        #expect(gazetteer.country("PS")?.displayName == "State of Palestine")
        let sources = Set(gazetteer.entries.map(\.source))
        #expect(sources.contains(Gazetteer.isoSource))
        #expect(sources.contains { $0.hasPrefix("supplement: ") })
        #expect(try match("Iran").first?.entry.source == "iso-codes 3166-1")
        #expect(try match("Kawnin").first?.entry.source == "supplement: town in the Bint Jbeil district, South Lebanon")
    }

    @Test func takesDataNotFiles() throws {
        let iso = Data(#"{"3166-1": [{"alpha_2": "LB", "alpha_3": "LBN", "name": "Lebanon"}]}"#.utf8)
        let supplement = Data(#"{"entries": [{"name": "Kawnin", "kind": "town", "country": "LB", "note": "test"}]}"#.utf8)
        let gazetteer = try Gazetteer(isoCountriesJSON: iso, supplementJSON: supplement)
        #expect(gazetteer.matches(in: "Strike in Kawnin, Lebanon").map(\.entry.country) == ["LB", "LB"])
    }

    @Test func rejectsSupplementEntriesWithUnknownCountriesOrKinds() {
        let iso = Data(#"{"3166-1": [{"alpha_2": "LB", "alpha_3": "LBN", "name": "Lebanon"}]}"#.utf8)
        #expect(throws: GazetteerError.unknownCountry(code: "XX", entry: "Nowhere")) {
            try Gazetteer(isoCountriesJSON: iso, supplementJSON: Data(#"{"entries": [{"name": "Nowhere", "kind": "town", "country": "XX", "note": "n"}]}"#.utf8))
        }
        #expect(throws: GazetteerError.self) {
            try Gazetteer(isoCountriesJSON: iso, supplementJSON: Data(#"{"entries": [{"name": "Tyre", "kind": "port", "country": "LB", "note": "n"}]}"#.utf8))
        }
        #expect(throws: GazetteerError.missingCountryList) {
            try Gazetteer(isoCountriesJSON: Data("{}".utf8), supplementJSON: Data(#"{"entries": []}"#.utf8))
        }
    }

    @Test func abbreviationsMatchCaseButNotThePronoun() throws {
        #expect(try match("US troops").map(\.entry.country) == ["US"])
        #expect(try match("U.S. troops").map(\.entry.country) == ["US"])
        #expect(try match("tell us more").isEmpty)
        #expect(try match("Let us go").isEmpty)
        #expect(try match("WHO warns").first?.entry.canonical == "World Health Organization")
        #expect(try match("who warns").isEmpty)
    }

    @Test func namesNeedACapitalButAllCapsHeadlinesMatch() throws {
        #expect(try match("fine china and roast turkey").isEmpty)
        #expect(try match("CHINA AND TURKEY").map(\.entry.country) == ["CN", "TR"])
    }

    @Test func longestNameWinsOnWordBoundaries() throws {
        #expect(try match("South Korea").map(\.entry.canonical) == ["South Korea"])
        #expect(try match("S. Korea and North Korea").map(\.entry.country) == ["KR", "KP"])
        #expect(try match("the Gaza Strip").map(\.text) == ["Gaza Strip"])
        #expect(try match("the Washington Post reported from Washington").map(\.entry.kind) == [.organisation, .city])
        #expect(try match("Nigeria and Niger").map(\.entry.country) == ["NG", "NE"])
        #expect(try match("Omani and Iranian officials").map(\.entry.kind) == [.demonym, .demonym])
        #expect(try match("South Korea's defense ministry").map(\.text) == ["South Korea"])
    }

    @Test func invertedISONamesAreMatchedInNaturalOrder() throws {
        #expect(try match("the Republic of Korea").map(\.entry.country) == ["KR"])
        #expect(try match("the State of Palestine").map(\.entry.country) == ["PS"])
        #expect(try match("Democratic People's Republic of Korea").map(\.entry.country) == ["KP"])
    }

    @Test func palestinianPlacesMapToPS() throws {
        for place in ["Gaza", "Gaza Strip", "West Bank", "Rafah", "Khan Younis", "Jenin"] {
            #expect(try match(place).first?.entry.country == "PS", "\(place)")
        }
        let gazetteer = try TestFixtures.gazetteer()
        let rafah = try #require(gazetteer.matches(in: "Rafah").first)
        #expect(gazetteer.enclosingPlaces(of: rafah.entry) == ["Gaza Strip"])
    }

    @Test func supplementCoversTheSeedPageNames() throws {
        let names = ["Israeli", "Iranian", "Lebanese", "Palestinian", "South Korean", "North Korean", "DPRK", "American", "US",
                     "U.S.", "S. Korea", "UK", "Russian", "Chinese", "Gaza", "Gaza Strip", "West Bank", "Rafah", "Khan Younis",
                     "South Lebanon", "Southern Lebanon", "Beirut", "Kawnin", "Mahrouna", "Jwayya", "Tehran", "Seoul", "Pyongyang",
                     "Haifa", "Tel Aviv", "Washington", "Guam", "Yeoncheon", "Damascus", "Sanaa", "Baghdad", "Cairo", "Naeini",
                     "Netanyahu", "Trump", "Channel 12", "Wall Street Journal", "Ministry of Health"]
        for name in names {
            let found = try match(name)
            #expect(found.count == 1 && found.first.map { name.hasPrefix($0.text) } == true, "\(name) → \(found.map(\.text))")
        }
        #expect(try match("Naeini").first?.entry.country == "IR")
    }

    @Test func regionMapDocumentsOverlaps() {
        #expect(RegionMap.regions(forCountry: "PS") == [.palestine, .mena])
        for code in ["IL", "LB", "IR", "SY", "IQ", "JO", "SA", "YE"] { #expect(RegionMap.regions(forCountry: code) == [.mena]) }
        #expect(RegionMap.regions(forCountry: "EG") == [.mena, .africa])
        for code in ["KR", "KP", "JP", "CN"] { #expect(RegionMap.regions(forCountry: code) == [.asia, .asiaPacific]) }
        for code in ["AU", "NZ", "GU"] { #expect(RegionMap.regions(forCountry: code) == [.asiaPacific]) }
        #expect(RegionMap.regions(forCountry: "US") == [.usAndCanada])
        #expect(RegionMap.regions(forCountry: "ca") == [.usAndCanada])
        #expect(RegionMap.regions(forCountry: "RU") == [.europe, .asia])
        #expect(RegionMap.regions(forCountry: "BR") == [.latinAmerica])
        #expect(RegionMap.regions(forCountry: "NG") == [.africa])
    }

    @Test func everyInhabitedISOCountryHasARegion() throws {
        let uninhabited: Set<String> = ["AQ", "BV", "HM", "TF"]
        let missing = try TestFixtures.gazetteer().countries.keys.filter { !uninhabited.contains($0) && RegionMap.regions(forCountry: $0).isEmpty }
        #expect(missing.isEmpty, "no region for \(missing.sorted())")
    }
}
