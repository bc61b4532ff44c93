import Foundation

/// Maps a country (ISO 3166-1 alpha-2) to the publication's regions.
///
/// The publication's regions overlap, so one country can belong to several:
/// - Palestine (PS) is in both Palestine and MENA.
/// - MENA: the Arab states, Iran, Israel and Türkiye (AE BH DZ EG EH IL IQ IR JO KW LB LY MA MR OM PS QA SA SD SY TN TR YE).
///   The North African ones (DZ EG EH LY MA MR SD TN) are also in Africa; Türkiye (TR) is also in Europe.
/// - East and Southeast Asia (CN HK JP KP KR MN MO TW; BN ID KH LA MM MY PH SG TH TL VN) are in Asia and Asia-Pacific;
///   South and Central Asia (AF BD BT IN KG KZ LK MV NP PK TJ TM UZ) are in Asia only.
/// - Oceania (AU NZ, the Pacific islands) and the US Pacific territories (GU MP AS UM) are in Asia-Pacific only.
/// - Russia and the South Caucasus (RU AM AZ GE) are in Europe and Asia.
/// - US and CA (and PM) are US & Canada; Puerto Rico and the US Virgin Islands are Latin America and US & Canada.
/// - Antarctica and uninhabited territories (AQ BV HM TF) have no region.
public enum RegionMap {
    /// Regions of `countryCode`, most specific first (Palestine before MENA); empty when it has none.
    public static func regions(forCountry countryCode: String) -> [NewsRegion] {
        let code = countryCode.uppercased()
        return displayOrder.filter { members[$0]?.contains(code) ?? false }
    }

    /// The order regions are listed in when a country belongs to several.
    static let displayOrder: [NewsRegion] = [.palestine, .mena, .usAndCanada, .europe, .latinAmerica, .africa, .asia, .asiaPacific]

    private static let eastAndSoutheastAsia: Set<String> = codes("CN HK JP KP KR MN MO TW BN ID KH LA MM MY PH SG TH TL VN")

    private static let members: [NewsRegion: Set<String>] = [
        .palestine: ["PS"],
        .mena: codes("AE BH DZ EG EH IL IQ IR JO KW LB LY MA MR OM PS QA SA SD SY TN TR YE"),
        .africa: codes("""
            AO BF BI BJ BW CD CF CG CI CM CV DJ DZ EG EH ER ET GA GH GM GN GQ GW KE KM LR LS LY MA MG ML MR MU MW MZ \
            NA NE NG RE RW SC SD SH SL SN SO SS ST SZ TD TG TN TZ UG YT ZA ZM ZW
            """),
        .asia: eastAndSoutheastAsia.union(codes("AF BD BT IN IO KG KZ LK MV NP PK TJ TM UZ AM AZ GE RU")),
        .asiaPacific: eastAndSoutheastAsia.union(codes("AU NZ AS CC CK CX FJ FM GU KI MH MP NC NF NR NU PF PG PN PW SB TK TO TV UM VU WF WS")),
        .europe: codes("""
            AD AL AT AX BA BE BG BY CH CY CZ DE DK EE ES FI FO FR GB GG GI GL GR HR HU IE IM IS IT JE LI LT LU LV MC MD \
            ME MK MT NL NO PL PT RO RS RU SE SI SJ SK SM UA VA AM AZ GE TR
            """),
        .latinAmerica: codes("""
            AG AI AR AW BB BL BM BO BQ BR BS BZ CL CO CR CU CW DM DO EC FK GD GF GP GS GT GY HN HT JM KN KY LC MF MQ MS \
            MX NI PA PE PR PY SR SV SX TC TT UY VC VE VG VI
            """),
        .usAndCanada: codes("US CA PM PR VI"),
    ]

    private static func codes(_ list: String) -> Set<String> {
        Set(list.split(whereSeparator: \.isWhitespace).map(String.init))
    }
}
