#pragma once
// Reads a scale reply corpus (corpus/<protocol>.tsv, format in corpus/README.md) for the tests: the parser's
// table-driven test and the end-to-end test that plays lines through a pty. Header-only, test code only.
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace tally::scale_corpus {

struct Expected {
  std::string kind;     // weight | fault | error | ack | refused | busy | none
  double value = 0;     // weight
  std::string unit;     // weight: as normalised, "" for "-"
  bool stable = false;  // weight
  bool unconverted = false;
  std::string detail;   // fault: overload | underload | error; ack/refused: T | Z
};

struct Line {
  std::string bytes;  // unescaped, terminator included
  std::string escaped, expected_text, source;
  Expected expected;
  int number = 0;  // line number in the file
};

inline std::string unescape(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 >= s.size()) {
      out.push_back(s[i]);
      continue;
    }
    const char c = s[++i];
    if (c == 'r') out.push_back('\r');
    else if (c == 'n') out.push_back('\n');
    else if (c == 't') out.push_back('\t');
    else if (c == '\\') out.push_back('\\');
    else if (c == 'x' && i + 2 < s.size()) {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      throw std::runtime_error("bad escape \\" + std::string(1, c));
    }
  }
  return out;
}

inline Expected parse_expected(const std::string& text) {
  std::istringstream in(text);
  Expected e;
  in >> e.kind;
  if (e.kind == "weight") {
    std::string stability, extra;
    in >> e.value >> e.unit >> stability >> extra;
    if (e.unit == "-") e.unit.clear();
    if (stability != "stable" && stability != "unstable") throw std::runtime_error("weight needs stable|unstable");
    e.stable = stability == "stable";
    e.unconverted = extra == "unconverted";
  } else if (e.kind == "fault" || e.kind == "ack" || e.kind == "refused") {
    in >> e.detail;
  } else if (e.kind != "error" && e.kind != "busy" && e.kind != "none") {
    throw std::runtime_error("unknown expectation '" + e.kind + "'");
  }
  return e;
}

inline std::string path(const std::string& protocol) {
  std::string name = protocol == "mt-sics" ? "mt_sics" : protocol;
  return std::string(TALLY_SOURCE_DIR) + "/drivers/scale_serial/corpus/" + name + ".tsv";
}

inline std::vector<Line> load(const std::string& protocol) {
  std::ifstream f(path(protocol));
  if (!f) throw std::runtime_error("cannot read " + path(protocol));
  std::vector<Line> out;
  std::string text;
  for (int n = 1; std::getline(f, text); ++n) {
    if (text.empty() || text[0] == '#') continue;
    const auto tab1 = text.find('\t'), tab2 = text.find('\t', tab1 + 1);
    if (tab1 == std::string::npos || tab2 == std::string::npos)
      throw std::runtime_error(path(protocol) + ":" + std::to_string(n) + ": needs 3 tab-separated columns");
    Line l;
    l.number = n;
    l.escaped = text.substr(0, tab1);
    l.bytes = unescape(l.escaped);
    l.expected_text = text.substr(tab1 + 1, tab2 - tab1 - 1);
    l.source = text.substr(tab2 + 1);
    l.expected = parse_expected(l.expected_text);
    out.push_back(std::move(l));
  }
  return out;
}

}  // namespace tally::scale_corpus
