#include <catch2/catch.hpp>

#include "serial/line_splitter.hpp"
#include "serial_line/serial_line.hpp"

using namespace tally;

TEST_CASE("lines split across reads and joined in one read come out whole") {
  LineSplitter s;
  std::vector<std::string> out;
  s.feed("T=21.", out);
  CHECK(out.empty());
  s.feed("5 C\r\nT=21.6 C\r\nT=2", out);
  CHECK(out == std::vector<std::string>{"T=21.5 C", "T=21.6 C"});
  out.clear();
  s.feed("1.7 C\n\n\r\r\n", out);
  CHECK(out == std::vector<std::string>{"T=21.7 C"});
}

TEST_CASE("an overlong line is discarded up to its terminator and counted") {
  LineSplitter s(8);
  std::vector<std::string> out;
  s.feed("0123456789abcdef", out);
  s.feed("xyz\n42\n", out);
  CHECK(out == std::vector<std::string>{"42"});
  CHECK(s.overlong() == 1);
}

TEST_CASE("non-printable bytes mark a line as noise") {
  CHECK(printable_line("T=21.5 C\t ok"));
  CHECK_FALSE(printable_line("T=\x01" "21.5"));
  CHECK_FALSE(printable_line("\xff\xfe" "12"));
}

TEST_CASE("the value is the first number in the line unless a pattern says otherwise") {
  using serial_line::parse_value;
  CHECK(parse_value("23.5", nullptr) == 23.5);
  CHECK(parse_value("T=-4.25 C", nullptr) == -4.25);
  CHECK(parse_value("weight: +12 g", nullptr) == 12.0);
  CHECK(parse_value(".5V", nullptr) == 0.5);
  CHECK(parse_value("1.5e3 Pa", nullptr) == 1500.0);
  CHECK(parse_value("5E", nullptr) == 5.0);
  CHECK(parse_value("A-B", nullptr) == std::nullopt);
  CHECK(parse_value("no digits here.", nullptr) == std::nullopt);

  const std::regex humidity("H=([0-9.]+)");
  CHECK(parse_value("T=21.5 H=40.2", &humidity) == 40.2);
  CHECK(parse_value("T=21.5", &humidity) == std::nullopt);
  const std::regex bad_number("T=([0-9.]+)");
  CHECK(parse_value("T=1.2.3", &bad_number) == std::nullopt);  // group 1 must be a number, all of it
  const std::regex anything("T=(\\S+)");
  CHECK(parse_value("T=nan", &anything) == std::nullopt);  // no instrument measures "nan" or "inf"
  CHECK(parse_value("T=-inf", &anything) == std::nullopt);
}
