#include "record/record.hpp"

#include <chrono>
#include <cstdio>

namespace tally {

std::string format_ts(wall_time t) {
  using namespace std::chrono;
  // Calendar arithmetic on 64-bit milliseconds, not gmtime_r: Debian 12's armhf time_t is 32 bits and would wrap in
  // 2038. floor<days> also keeps times before 1970 (an unsynchronised Pi can be anywhere) correct.
  const auto ms = time_point_cast<milliseconds>(t);
  const auto day = floor<days>(ms);
  const year_month_day date{day};
  const hh_mm_ss time{ms - day};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                static_cast<int>(time.hours().count()), static_cast<int>(time.minutes().count()),
                static_cast<int>(time.seconds().count()), static_cast<int>(time.subseconds().count()));
  return buf;
}

std::string to_text(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string serialize_with_seq(Seq seq, std::string_view rest) {
  std::string out = "{\"seq\":" + std::to_string(seq);
  if (rest.size() > 2) {  // "{...}" -> splice the fields after seq
    out += ',';
    out.append(rest.substr(1));
  } else {
    out += '}';
  }
  return out;
}

std::string serialize_with_seq(Seq seq, const json& body) { return serialize_with_seq(seq, std::string_view(to_text(body))); }

std::string serialize_with_seq(Seq seq, const Record& record) {
  return record.text.empty() ? serialize_with_seq(seq, record.body) : serialize_with_seq(seq, std::string_view(record.text));
}

}  // namespace tally
