// The MQTT password as a systemd credential: password_credential = "NAME" reads $CREDENTIALS_DIRECTORY/NAME, the
// directory systemd makes for LoadCredential=NAME:FILE. Checked through `tallyd --check-config`.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>
#include <vector>

#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using tally::test::Process;
using tally::test::TempDir;

struct Result {
  int code;
  std::string output;
};

Result check_config(const TempDir& dir, const std::string& mqtt_keys, const char* credentials_directory) {
  const std::string config = dir.write("tally.toml", "[station]\nid = \"cred-1\"\n\n[mqtt]\nurl = \"tcp://127.0.0.1:9\"\n"
                                                     "username = \"cred-1\"\n" + mqtt_keys +
                                                     "\n[buffer]\npath = \"" + dir.file("buffer.db") + "\"\n");
  if (credentials_directory) ::setenv("CREDENTIALS_DIRECTORY", credentials_directory, 1);
  Process p({TALLYD_PATH, "--check-config", "--config", config}, dir.file("check.log"));
  ::unsetenv("CREDENTIALS_DIRECTORY");
  const auto code = p.wait(10s);
  return {code.value_or(-1), p.log()};
}

}  // namespace

TEST_CASE("password_credential reads the password from $CREDENTIALS_DIRECTORY") {
  TempDir dir;
  dir.write("creds/mqtt-password", "s3cret\n");
  auto r = check_config(dir, "password_credential = \"mqtt-password\"\n", dir.file("creds").c_str());
  CHECK(r.code == 0);
  CHECK(r.output.find("OK") != std::string::npos);
}

TEST_CASE("password_credential names a missing credential: a configuration error with its position") {
  TempDir dir;
  dir.write("creds/other", "x\n");
  auto r = check_config(dir, "password_credential = \"mqtt-password\"\n", dir.file("creds").c_str());
  CHECK(r.code == 78);
  CHECK(r.output.find("tally.toml:7:") != std::string::npos);
  CHECK(r.output.find("cannot read the credential") != std::string::npos);
}

TEST_CASE("password_credential outside systemd: password_file is the fallback, else a clear error") {
  TempDir dir;
  auto alone = check_config(dir, "password_credential = \"mqtt-password\"\n", nullptr);
  CHECK(alone.code == 78);
  CHECK(alone.output.find("$CREDENTIALS_DIRECTORY is not set") != std::string::npos);

  dir.write("mqtt-password", "s3cret\n");
  auto with_file = check_config(dir, "password_credential = \"mqtt-password\"\npassword_file = \"mqtt-password\"\n", nullptr);
  CHECK(with_file.code == 0);
}

TEST_CASE("password_credential must be a name, not a path") {
  TempDir dir;
  auto r = check_config(dir, "password_credential = \"../etc/shadow\"\n", dir.path().c_str());
  CHECK(r.code == 78);
  CHECK(r.output.find("not a path") != std::string::npos);
}
