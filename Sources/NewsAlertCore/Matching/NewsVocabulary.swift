/// Word lists for generated rules and events, drawn from the publication's own coverage; commonest first.
enum NewsVocabulary {
    static let regions: [NewsRegion] = [.mena, .palestine, .usAndCanada, .europe, .asia, .asiaPacific, .latinAmerica, .africa]
    static let sections: [NewsSection] = NewsSection.allCases

    static let countries = [
        "LB", "PS", "IL", "IR", "US", "SY", "YE", "IQ", "RU", "UA", "KR", "KP", "CN", "SA", "EG", "JO", "TR", "QA", "AE",
        "GB", "FR", "DE", "IN", "PK", "AF", "SD", "LY", "VE", "CU", "BR", "ZA", "NG", "ET", "JP", "AU",
    ]

    static let entities = [
        "Hezbollah", "Benjamin Netanyahu", "Donald Trump", "Hamas", "IAEA", "Masoud Pezeshkian", "Naim Qassem",
        "Al-Qassam Brigades", "Ansar Allah", "United Nations", "Rafael Grossi", "Ali Shamkhani", "Vladimir Putin",
        "Volodymyr Zelensky", "Lee Jae-myung", "Kim Moon-soo", "Xi Jinping", "European Union", "NATO", "Pentagon",
        "Kremlin", "White House", "Elon Musk", "Sean Parnell", "OPEC", "World Health Organization", "Red Cross",
        "Wall Street Journal", "Lebanese Ministry of Health", "Israeli Channel 12",
    ]

    static let tags = [
        "Gaza", "ceasefire", "South Lebanon", "nuclear", "hostages", "West Bank", "Strait of Hormuz", "Yemen", "drones",
        "missiles", "elections", "sanctions", "oil", "Red Sea", "trade", "tariffs", "refugees", "protests", "inflation",
        "climate", "earthquake", "cyberattack", "AI", "football", "World Cup",
    ]

    static let keywords = [
        "ceasefire", "strike", "drone", "missile", "gaza", "iran", "martyred", "airstrike", "hostages", "negotiations",
        "hezbollah", "netanyahu", "troops", "nuclear", "truce", "injured", "withdrawal", "sanctions", "election",
        "captives", "yemen", "hormuz", "iaea", "explosion", "arrested", "resigns", "tariffs", "inflation", "protest",
        "earthquake",
    ]

    static let phrases: [[String]] = [
        ["drone", "strike"], ["prisoner", "exchange"], ["west", "bank"], ["nuclear", "talks"], ["red", "sea"],
        ["security", "council"], ["martial", "law"], ["strait", "of", "hormuz"], ["interest", "rates"], ["world", "cup"],
    ]

    static let exclusions = ["rumour", "denied", "unconfirmed", "opinion", "rumor"]

    static let filler = [
        "the", "in", "of", "a", "on", "after", "said", "officials", "reported", "according", "to", "sources", "forces",
        "area", "town", "near", "amid", "continued", "announced", "statement", "Friday", "Monday", "government",
        "ministry", "local", "residents", "military", "people", "international", "regional", "south", "correspondent",
    ]
}
