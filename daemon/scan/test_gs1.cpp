// GS1 element strings and EAN/UPC check digits. Each vector names its source:
//   [GS1-SE] gs1/gs1-syntax-engine (GS1 AISBL), commit 50657dbd04ce78d8734e8793e054bf70dcba294b, src/c-lib/ai.c:
//            the unit tests test_ai_processAIdata, test_ai_parseAIdata and test_ai_linters (named at each vector)
//   [GS1-SD] gs1/gs1-syntax-dictionary, release 2026-01-27 (commit 8ad003f8), src/lint_*.c unit tests (file named)
//   [GS1-BE] gs1/gs1-barcode-engine (GS1 AISBL; the syntax engine's earlier name), commit 0b1916bf, src/c-lib/ai.c
//            and scandata.c unit tests
//   [DEV]    shared/reference/devices.md ("GS1 element strings")
//   [GS1-GS] GS1 General Specifications: 3.2 AI formats, 7.8.5 predefined-length AIs, 7.9 check digit, 7.12 dates
//   [calc]   computed here from the GS1 mod-10 rule (the expected digit is worked out in the comment)
#include <catch2/catch.hpp>

#include "scan/gs1.hpp"

using namespace tally::scan;

namespace {
std::string gs(std::string s) {  // "^" stands for GS in the vectors below, as in [GS1-BE]'s own notation
  for (auto& c : s)
    if (c == '^') c = GS;
  return s;
}
Parsed elements(const std::string& s) { return parse_element_string(gs(s)); }
}  // namespace

TEST_CASE("GS1 check digits") {
  // [GS1-BE] test_ai_validateParity
  CHECK(gs1_check_digit_ok("24012345678905"));
  CHECK_FALSE(gs1_check_digit_ok("24012345678909"));
  CHECK(gs1_check_digit("2401234567890") == 5);
  CHECK(gs1_check_digit_ok("2112233789657"));
  CHECK_FALSE(gs1_check_digit_ok("2112233789658"));
  CHECK(gs1_check_digit_ok("416000336108"));
  CHECK_FALSE(gs1_check_digit_ok("416000336107"));
  CHECK(gs1_check_digit_ok("02345680"));
  CHECK_FALSE(gs1_check_digit_ok("02345689"));
  // [GS1-BE] "^0112345678901231" valid, "^0112345678901234" incorrect check digit
  CHECK(gs1_check_digit_ok("12345678901231"));
  // [calc] SSCC 37612345000000001 + check: weights 3,1,... from the right give 54 -> check 6
  CHECK(gs1_check_digit("37612345000000001") == 6);
  CHECK(gs1_check_digit_ok("09506000134376"));    // GS1 example GTIN (gs1.org documentation)
  CHECK_FALSE(gs1_check_digit_ok("09506000134370"));
}

TEST_CASE("GS1 element strings that are valid") {
  SECTION("[DEV] (01)(10) then GS then (99)") {
    const auto p = parse_code(gs("011231231231233310ABC123^99TESTING"), "]C1");
    REQUIRE(p.valid);
    REQUIRE(p.elements.size() == 3);
    CHECK(p.elements[0].ai == "01");
    CHECK(p.elements[0].value == "12312312312333");
    CHECK(p.elements[1].ai == "10");
    CHECK(p.elements[1].value == "ABC123");
    CHECK(p.elements[2].ai == "99");
    CHECK(p.elements[2].value == "TESTING");
  }
  SECTION("[GS1-BE] scandata: the same data behind ]d2, ]Q3 and ]e0") {
    for (const char* aim : {"]d2", "]Q3", "]e0", "]C1"}) {
      const auto p = parse_code(gs("011231231231233310ABC123^99TESTING"), aim);
      CHECK(p.valid);
      CHECK(p.kind == CodeKind::gs1);
      CHECK(p.elements.size() == 3);
    }
  }
  SECTION("[GS1-BE] (01)(10)(99) with composite components ^98 ^97 and a date (11)") {
    const auto p = parse_code(gs("011231231231233310ABC123^1199122598COMPOSITE^97XYZ"), "]e0");
    REQUIRE(p.valid);
    CHECK(p.find("11")->value == "991225");
    CHECK(p.find("98")->value == "COMPOSITE");
    CHECK(p.find("97")->value == "XYZ");
  }
  SECTION("[GS1-BE] fixed-length (01) runs into the next AI without GS, superfluous GS tolerated") {
    CHECK(elements("0112345678901231991234").valid);
    CHECK(elements("0112345678901231^991234").valid);
    CHECK(elements("0112345678901231^").valid);
  }
  SECTION("[GS1-BE] 8003 GRAI: N1 + N13 with check digit + X0..16") {
    CHECK(elements("800302112345678900ABC").valid);
    CHECK(elements("800302112345678900").valid);
    CHECK(elements("800302112345678900^10ABC123").valid);
    CHECK(elements("800302112345678900ABCDEFGHIJKLMNOP").valid);
  }
  SECTION("a leading GS (FNC1 in first position as some scanners send it) and no AIM identifier") {
    const auto p = parse_code(gs("^0109506000134376^10LOT-7"), "");
    REQUIRE(p.valid);
    CHECK(p.find("10")->value == "LOT-7");
  }
  SECTION("[DEV] measure AI (3103) 001250 = 1.250 kg; [GS1-GS] 310n: n decimals") {
    const auto p = elements("3103001250");
    REQUIRE(p.valid);
    CHECK(p.elements[0].measure == Approx(1.25));
    CHECK(elements("3100001250").elements[0].measure == Approx(1250));
    CHECK(elements("3105001250").elements[0].measure == Approx(0.0125));
    // 392n is a price (N..15), not a measure: known to the dictionary, valid, without a measure
    CHECK(elements("3922001250").valid);
    CHECK_FALSE(elements("3922001250").elements[0].measure);
    CHECK(elements("3202000250").elements[0].measure == Approx(2.5));  // 320n net weight in lb
  }
  SECTION("[GS1-BE] feature file vectors (gs1-barcode-parser): (3103)(01)^(10) and (01)(10)^(17)") {
    const auto a = elements("31030001890105412345000013^10XYZ");
    REQUIRE(a.valid);
    CHECK(a.find("3103")->measure == Approx(0.189));
    CHECK(a.find("01")->value == "05412345000013");
    const auto b = elements("010541234500001310ABC123^17290331");
    REQUIRE(b.valid);
    CHECK(b.find("17")->value == "290331");
  }
  SECTION("[GS1-GS] every fixed-length AI of the table, with a correct check digit where one is needed") {
    CHECK(elements("00376123450000000016").valid);  // [calc] above
    CHECK(elements("00006141411234567890").valid);  // [GS1-BE] "^00006141411234567890"
    CHECK(elements("0000614141123456789099ABC").valid);  // [GS1-BE]
    CHECK(elements("0095201234567891234502095201234567883725^10ABC123").valid);  // [GS1-BE] (00)(02)(37)(10)
    CHECK_FALSE(elements("00006141411234567891").valid);
    CHECK(elements("0109506000134376").valid);
    CHECK(elements("0209506000134376").valid);
    for (const char* ai : {"11", "12", "13", "15", "16", "17"}) CHECK(elements(std::string(ai) + "261231").valid);
    CHECK(elements("2001").valid);
    CHECK(elements("4149520123456788").valid);  // [GS1-BE] (414) GLN
    CHECK(elements("4100614141000418").valid);  // [calc] GLN 061414100041 -> 8
  }
  SECTION("variable-length AIs with GS, and at the end without") {
    const auto p = elements("10ABC^21S123^30120^3712^400PO-1^8004ASSET9^90X^91ABC");
    REQUIRE(p.valid);
    CHECK(p.elements.size() == 8);
    CHECK(p.find("30")->value == "120");
    CHECK(p.find("400")->value == "PO-1");
  }
  SECTION("dates: day 00 allowed, 29 February in a leap year") {
    CHECK(elements("17261200").valid);
    CHECK(elements("17240229").valid);
  }
  SECTION("bracketed form") {
    const auto p = parse_code("(01)09506000134376(10)ABC(17)261231", "");
    REQUIRE(p.valid);
    CHECK(p.find("10")->value == "ABC");
    CHECK(p.find("17")->value == "261231");
  }
}

TEST_CASE("GS1 element strings that are invalid, with the reason") {
  // [GS1-BE] test_processAIdata
  CHECK_FALSE(elements("01A2345678901231").valid);  // bad numeric character
  CHECK_FALSE(elements("011234567890123A").valid);
  const auto bad_check = elements("0112345678901234");
  CHECK_FALSE(bad_check.valid);
  CHECK(bad_check.reason == "(01): check digit is 4, expected 1");
  CHECK_FALSE(elements("011234567890123").valid);                 // too short
  CHECK_FALSE(elements("011234567890123^").valid);                // short, with superfluous FNC1
  CHECK_FALSE(elements("01123456789012345^991234").valid);        // long, then a meaningless AI
  CHECK_FALSE(elements("800302112345678901ABC").valid);           // bad check digit in 8003's N13
  CHECK_FALSE(elements("800302112345678900ABCDEFGHIJKLMNOPQ").valid);  // 8003 serial part too long
  // [DEV] variable-length (10) without its GS swallows what follows: too long
  const auto missing_gs = elements("10ABC123456789012345678901");
  CHECK_FALSE(missing_gs.valid);
  CHECK(missing_gs.reason.find("missing GS") != std::string::npos);
  // a count (30) N..8 running into the next AI without GS
  CHECK_FALSE(elements("30123456780109506000134376").valid);
  // [GS1-GS] 7.8.5: (402) is fixed-length but not of predefined length: GS needed before another AI
  {
    const std::string gsin16 = "0614141123456789";
    const std::string gsin = gsin16 + std::to_string(gs1_check_digit(gsin16));
    CHECK(elements("402" + gsin).valid);
    CHECK(elements("402" + gsin + "^10A").valid);
    const auto p = elements("402" + gsin + "10A");
    CHECK_FALSE(p.valid);
    CHECK(p.reason == "(402): missing GS separator after it");
  }
  // GLN check digit (410-416)
  CHECK_FALSE(elements("4140614141000419").valid);  // [calc] the check digit is 8
  CHECK_FALSE(elements("4149520123456787").valid);  // [GS1-BE] GLN with its last digit changed
  // dates [GS1-GS] 7.12
  CHECK(elements("17261301").reason == "(17): invalid date 261301: month 13 does not exist");
  CHECK_FALSE(elements("17250229").valid);  // 2025 is not a leap year
  CHECK_FALSE(elements("11260431").valid);  // April has 30 days
  CHECK_FALSE(elements("15260001").valid);  // month 00
  // unknown AI, bad characters, empty values
  CHECK_FALSE(elements("2312345").valid);
  CHECK(elements("2312345").reason == "unknown AI at character 1 (\"2312\")");
  CHECK_FALSE(elements("10AB C").valid);   // space is not in character set 82
  CHECK_FALSE(elements("10^21X").valid);   // empty (10)
  CHECK_FALSE(elements("").valid);
  CHECK_FALSE(elements("10A^10B").valid);  // the same AI twice with different values
  CHECK_FALSE(elements("3106001250").valid);  // 310n: n is 0-5
  CHECK_FALSE(parse_code("(01)0950600013437(10)A", "").valid);  // [GS1-BE] parseAIdata: fixed-length AI wrong length
  CHECK_FALSE(parse_code("(10)(11)98765", "").valid);          // [GS1-BE] value must not be empty
  CHECK_FALSE(parse_code("(1A)12345", "]C1").valid);           // behind ]C1 it is not bracketed: no AI "(1"
}

TEST_CASE("EAN-13, EAN-8 and UPC-A check digits") {
  // [GS1-BE] test_ai_validateParity; [GS1-BE] gs1encoders.c uses EAN-13 1234567890128
  CHECK(parse_code("1234567890128", "").kind == CodeKind::ean);
  CHECK(parse_code("1234567890128", "").valid);
  CHECK(parse_code("1234567890128", "]E0").valid);
  const auto bad = parse_code("1234567890127", "]E0");
  CHECK_FALSE(bad.valid);
  CHECK(bad.reason == "EAN-13: check digit is 7, expected 8");
  CHECK(parse_code("02345680", "]E4").valid);
  CHECK_FALSE(parse_code("02345689", "").valid);
  CHECK(parse_code("416000336108", "").valid);   // UPC-A
  CHECK_FALSE(parse_code("416000336107", "").valid);
  CHECK_FALSE(parse_code("12AB", "]E0").valid);
  // plain codes: no check possible, valid
  CHECK(parse_code("BATCH:lavender-soap:B-1", "").kind == CodeKind::plain);
  CHECK(parse_code("SN-000123", "").valid);
  CHECK(parse_code("123456789", "").kind == CodeKind::plain);  // 9 digits is no EAN length
  // With an AIM identifier that says "not EAN", digits are not checked: a Code 128 serial of 13 digits
  CHECK(parse_code("1234567890127", "]C0").valid);
}

// Every AI of the GS1 Barcode Syntax Dictionary is known: these were refused as "unknown AI" by the hand-written
// table that came before the generated one.
TEST_CASE("AIs the hand-written table did not know: 235, 242, 7007, 8007, 8200") {
  SECTION("[DEV] (01) then (235) without GS (01 is of predefined length), GS, then (10)") {
    const auto p = parse_code(gs("0112312312312333235XYZ^10ABC"), "]C1");
    REQUIRE(p.valid);
    REQUIRE(p.elements.size() == 3);
    CHECK(p.find("01")->value == "12312312312333");
    CHECK(p.find("235")->value == "XYZ");
    CHECK(p.find("10")->value == "ABC");
  }
  // [GS1-SE] test_ai_processAIdata
  CHECK(elements("^235ABC").valid);
  CHECK(elements("^235ABCDEFGHIJKLMNOPQRSTUVWXYZ12").valid);                 // X..28 at max
  CHECK_FALSE(elements("^235ABCDEFGHIJKLMNOPQRSTUVWXYZ123").valid);          // over max
  CHECK(elements("^0112345678901231235XYZ").valid);                          // (01) needs no GS before (235)
  CHECK(elements("^0112345678901231235XYZ^10BATCH").valid);                  // (235) needs one before (10)
  for (const char* ok : {"^2421", "^24212", "^242123", "^2421234", "^24212345", "^242123456",
                         "^242123456^10ABC123", "^242123456^"})
    CHECK(elements(ok).valid);                                               // (242) N..6
  CHECK_FALSE(elements("^2421234567").valid);                                // (242) too long
  CHECK(elements("^7007211225211231").valid);                                // (7007) N6 [N6], both dates
  CHECK(elements("^7007211225").valid);                                      // the optional part left out
  CHECK(elements("^70072112252").reason == "(7007): 7 characters do not fit its format N6 [N6]");
  for (const char* bad : {"^70072112252", "^700721122521", "^7007211225211", "^70072112252112",
                          "^700721122521123", "^70072112252212311"})
    CHECK_FALSE(elements(bad).valid);                                        // (7007) of no valid length
  // [GS1-SD] src/lint_iban.c: valid IBANs; [GS1-SE] test_ai_linters: invalid ones
  CHECK(elements("8007FR7630006000011234567890189").valid);
  CHECK(elements("8007DE91100000000123456789").valid);
  CHECK(elements("8007MU43BOMM0101123456789101000MUR").valid);
  CHECK(elements("8007FR12345678901234").reason == "(8007): not a valid IBAN (country, length or check digits)");
  CHECK_FALSE(elements("8007FR1234").valid);             // too short
  CHECK_FALSE(elements("8007FR12_45678901234").valid);   // '_' is in set 82, not in an IBAN
  CHECK_FALSE(elements("8007AB12345678901234").valid);   // [GS1-SE] bad country; refused here by its check digits
  // [GS1-SE] src/c-lib/dl.c test_testGenerateDLuri: (8200) a product URL, in an element string
  const auto url = parse_code("(01)12312312312326(99)000001(8200)http://example.com(95)INT", "");
  REQUIRE(url.valid);
  CHECK(url.find("8200")->value == "http://example.com");
  CHECK(url.find("95")->value == "INT");
}

TEST_CASE("[GS1-SE] test_ai_processAIdata: element strings as the GS1 Syntax Engine accepts and refuses them") {
  // "^" is FNC1 in first position (a leading GS here). Left out: "" and "991234", refused there for lacking FNC1
  // in first position, which a scanner's AIM identifier stands for here; and the 64-AI limit, which Tally has not.
  CHECK_FALSE(elements("^").valid);                               // no AIs
  CHECK_FALSE(elements("^891234").valid);                         // no such AI
  CHECK(elements("^891234").reason == "unknown AI at character 2 (\"8912\")");
  CHECK(elements("^991234").valid);
  CHECK_FALSE(elements("^99~ABC").valid);                         // '~' is not in character set 82
  CHECK_FALSE(elements("^99ABC~").valid);
  CHECK(elements("^99ABC~").reason == "(99): character 4 is not allowed here");
  CHECK(elements("^0112345678901231").valid);
  CHECK_FALSE(elements("^01A2345678901231").valid);
  CHECK_FALSE(elements("^011234567890123A").valid);
  CHECK(elements("^0112345678901234").reason == "(01): check digit is 4, expected 1");
  CHECK_FALSE(elements("^011234567890123").valid);                // too short
  CHECK_FALSE(elements("^01123456789012312").valid);              // no AI "2" after a complete (01)
  CHECK(elements("^0112345678901231^").valid);                    // superfluous FNC1 tolerated
  CHECK_FALSE(elements("^011234567890123^").valid);
  CHECK_FALSE(elements("^01123456789012345^").valid);
  CHECK_FALSE(elements("^01123456789012345^991234").valid);
  CHECK(elements("^0112345678901231991234").valid);
  CHECK(elements("^0112345678901231^991234").valid);
  CHECK(elements("^81111234").valid);                             // (8111) N4, GS required after it
  CHECK_FALSE(elements("^8111123").valid);
  CHECK_FALSE(elements("^811112345").valid);
  CHECK(elements("^811112345").reason == "(8111): missing GS separator after it");
  CHECK(elements("^81111234^10ABC123").valid);
  CHECK(elements("^800112341234512398").valid);                   // (8001) N4 N5 N3 N1 N1
  CHECK_FALSE(elements("^80011234123451239").valid);
  CHECK_FALSE(elements("^8001123412345123981").valid);
  CHECK(elements("^800112341234512398^0112345678901231").valid);
  CHECK_FALSE(elements("^80011234123451239^0112345678901231").valid);
  CHECK_FALSE(elements("^8001123412345123981^01123456789012312").valid);
  CHECK(elements("^800302112345678900ABC").valid);                // (8003) N1 N13,csum [X..16]
  CHECK_FALSE(elements("^800302112345678901ABC").valid);
  CHECK(elements("^800302112345678900").valid);
  CHECK(elements("^800302112345678900^10ABC123").valid);
  CHECK(elements("^800302112345678900ABCDEFGHIJKLMNOP").valid);
  CHECK_FALSE(elements("^800302112345678900ABCDEFGHIJKLMNOPQ").valid);
  CHECK(elements("^7230121234567890123456789012345678").valid);   // (7230) X2 X..28
  CHECK_FALSE(elements("^72301212345678901234567890123456789").valid);
  CHECK(elements("^7230123").valid);
  CHECK_FALSE(elements("^723012").valid);
  // (423) N3 [N3] [N3] [N3] [N3]: one to five whole country codes
  for (const char* ok : {"^423528", "^423528528", "^423528528528", "^423528528528528", "^423528528528528528"})
    CHECK(elements(ok).valid);
  for (const char* bad : {"^423", "^4235", "^42352", "^4235285", "^42352852", "^4235285285", "^42352852852",
                          "^4235285285285", "^42352852852852", "^4235285285285285", "^42352852852852852",
                          "^4235285285285285285"})
    CHECK_FALSE(elements(bad).valid);
  // (99) X..90: the longest value of any AI
  CHECK(elements("^99" + std::string(90, 'A')).valid);
  CHECK_FALSE(elements("^99" + std::string(91, 'A')).valid);
}

TEST_CASE("[GS1-SE] test_ai_parseAIdata: the bracketed form") {
  CHECK(parse_code("(01)12345678901231", "").valid);
  CHECK(parse_code("(10)12345", "").valid);
  CHECK(parse_code("(01)12345678901231(10)12345", "").valid);
  CHECK(parse_code("(3100)123456(10)12345", "").valid);
  CHECK(parse_code("(10)12345(11)991225", "").valid);
  CHECK(parse_code("(3900)12345(11)991225", "").valid);
  CHECK(parse_code("(235)ABC", "").valid);
  CHECK(parse_code("(01)12345678901231(235)XYZ(10)BATCH", "").valid);
  CHECK_FALSE(parse_code("(235)ABCDEFGHIJKLMNOPQRSTUVWXYZ123", "").valid);
  CHECK_FALSE(parse_code("(10)12345(11)", "").valid);                      // empty value
  CHECK_FALSE(parse_code("(01)123456789012312(10)12345", "").valid);       // fixed-length AI too long
  CHECK_FALSE(parse_code("(10)12345^", "").valid);                         // '^' is not in set 82
  CHECK_FALSE(parse_code("(17)9(90)217", "").valid);                       // (17) too short, not ^1790217
  CHECK(parse_code("(99)" + std::string(90, 'A'), "").valid);
  CHECK_FALSE(parse_code("(99)" + std::string(91, 'A'), "").valid);
}

TEST_CASE("[GS1-SE] test_ai_linters: each content check, on a real AI") {
  const auto reason = [](const std::string& bracketed) { return parse_code(bracketed, "").reason; };
  CHECK(parse_code("(00)123456789012345675", "").valid);
  CHECK(reason("(00)A23456789012345675") == "(00): character 1 is not allowed here");
  CHECK(reason("(10) ") == "(10): character 1 is not allowed here");
  CHECK(reason("(8010)123456_") == "(8010): character 7 is not allowed here");       // set 39
  CHECK(reason("(8030)ABC:123") == "(8030): character 4 is not allowed here");       // set 64
  CHECK(reason("(8030)123=") == "(8030): character 4 is not allowed here");          // padding, length not 3n
  CHECK(reason("(00)123456789012345670") == "(00): check digit is 0, expected 5");
  CHECK(reason("(8013)123456ABXX") == "(8013): check character pair XX is wrong");
  CHECK_FALSE(parse_code("(8013)A", "").valid);
  CHECK(reason("(8001)12340000012311") == "(8001): must not be zero");
  CHECK(reason("(8003)112345678901281234567890123456") == "(8003): must be 0");
  CHECK(reason("(8011)023456789012") == "(8011): must not start with 0");
  CHECK(reason("(4321)2") == "(4321): must be 0 (no) or 1 (yes)");
  CHECK(reason("(8001)12341234512321") == "(8001): winding direction must be 0, 1 or 9");
  CHECK(reason("(4326)201300") == "(4326): invalid date 201300: month 13 does not exist");
  CHECK(reason("(4326)201200") == "(4326): invalid date 201200: day 00 is not allowed here");  // yymmdd, not yymmd0
  CHECK(reason("(4324)2012252400") == "(4324): time 2400 does not exist");
  CHECK(reason("(4324)2012252360") == "(4324): time 2360 does not exist");
  CHECK(reason("(8008)201225230060") == "(8008): second 60 does not exist");
  CHECK_FALSE(parse_code("(8026)123456789012310099", "").valid);  // piece 00
  CHECK_FALSE(parse_code("(8026)123456789012310100", "").valid);  // of 00
  CHECK(reason("(8026)123456789012310302") == "(8026): piece 03 of 02 is not a piece of the total");
  CHECK(reason("(4300)ABC%0g") == "(4300): character 4: '%' must start a %XX hex sequence");
  CHECK(reason("(4330)000000X") == "(4330): must be '-'");
  CHECK(parse_code("(4330)000000-", "").valid);
  CHECK(parse_code("(01)95012345678903(3103)000123", "").valid);
  CHECK(reason("(01)95012345678902(3103)000123") == "(01): check digit is 2, expected 3");
  CHECK(reason("(01)95012345678903(11)131313") == "(11): invalid date 131313: month 13 does not exist");
  // [GS1-SD] src/lint_csumalpha.c: check character pairs that are right
  CHECK(parse_code("(8013)1987654Ad4X4bL5ttr2310c2K", "").valid);
  CHECK(parse_code("(8013)12345678901234567890123NT", "").valid);
  // Not enforced (the element's format still is): company-prefix positions (gcppos1/2), ISO 3166 and 4217 code
  // lists, latitude/longitude, importer index, package and media types, ISO 5218, position in sequence, coupons.
  CHECK(parse_code("(426)987", "").valid);  // [GS1-SE] NOT_ISO3166 there
}
