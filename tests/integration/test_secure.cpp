// Broker authentication: a username with password_file, and TLS with a CA and a client certificate, against a real
// mosquitto listener that demands them.
#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace tally::test;
using namespace std::chrono_literals;

namespace {

void sh(TempDir& dir, const std::string& script) {
  Process p({"/bin/sh", "-c", "cd '" + dir.path() + "' && " + script}, dir.file("sh.log"));
  const auto code = p.wait(30s);
  INFO(p.log());
  REQUIRE(code == std::optional<int>(0));
}

// A CA, a server certificate for 127.0.0.1 and a client certificate for the station, all signed by the CA.
void make_certificates(TempDir& dir) {
  sh(dir,
     "set -e; ec='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes';"
     "openssl req -x509 $ec -keyout ca.key -out ca.pem -days 2 -subj /CN=tally-test-ca 2>/dev/null;"
     "openssl req $ec -keyout server.key -out server.csr -subj /CN=127.0.0.1 2>/dev/null;"
     "printf 'subjectAltName=IP:127.0.0.1\\n' > san.ext;"
     "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 "
     "  -extfile san.ext 2>/dev/null;"
     "openssl req $ec -keyout client.key -out client.csr -subj /CN=bench-1 2>/dev/null;"
     "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2 2>/dev/null");
}

// mosquitto listener lines that demand TLS with a client certificate signed by make_certificates()'s CA.
std::string tls_listener(const TempDir& dir) {
  return "cafile " + dir.file("ca.pem") + "\ncertfile " + dir.file("server.pem") + "\nkeyfile " +
         dir.file("server.key") + "\nrequire_certificate true\nuse_identity_as_username true\nallow_anonymous false";
}

std::string simulated() {
  return "[[devices]]\nname = \"sim\"\ndriver = \"simulated\"\nwaveform = \"constant\"\nmin = 4\nmax = 4\npoll_ms = 100\n";
}

std::string secure_config(const Broker& broker, const TempDir& dir, const std::string& scheme,
                          const std::string& mqtt) {
  return "[station]\nid = \"bench-1\"\n[mqtt]\nurl = \"" + scheme + "://127.0.0.1:" +
         std::to_string(broker.secure_port()) + "\"\n" + mqtt + "\n[buffer]\npath = \"" + dir.file("buffer.db") +
         "\"\n" + simulated();
}

// A station whose broker's second listener demands TLS with a client certificate.
struct WithTlsBroker : WithStation {
  WithTlsBroker()
      : WithStation({.broker = [](TempDir& dir) {
          make_certificates(dir);
          return BrokerOptions{.secure_listener = tls_listener(dir)};
        }}) {}
};

}  // namespace

TEST_CASE("username and password_file authenticate tallyd, and a wrong password keeps records buffered") {
  TempDir dir;
  sh(dir, "mosquitto_passwd -c -b passwd tally s3cret");
  Broker broker(dir.path(), {.secure_listener = "allow_anonymous false\npassword_file " + dir.file("passwd")});
  Subscriber sub(broker.url(), "tally/#", "e2e-auth");

  dir.write("wrong", "nope\n");
  Daemon denied(dir, secure_config(broker, dir, "tcp", "username = \"tally\"\npassword_file = \"wrong\""));
  denied.start();
  REQUIRE(wait_until([&] { return denied.log().find("cannot connect") != std::string::npos; }));
  CHECK(sub.messages().empty());
  denied.process->signal(SIGTERM);
  REQUIRE(denied.process->wait(5s) == std::optional<int>(0));

  dir.write("secret", "s3cret\n");
  Daemon tallyd(dir, secure_config(broker, dir, "tcp", "username = \"tally\"\npassword_file = \"secret\""));
  tallyd.start();
  // What the denied run buffered is delivered now, from seq 1, followed by the second run's records.
  REQUIRE(sub.wait_for([](const auto& all) { return events(all, "daemon.started").size() == 2; }));
  const auto seqs = first_seqs(sub.messages());
  for (std::size_t i = 0; i < seqs.size(); ++i) REQUIRE(seqs[i] == static_cast<long long>(i + 1));
  CHECK(events(sub.messages(), "daemon.stopped").size() == 1);  // the denied run's stop, delivered late
}

TEST_CASE_METHOD(WithTlsBroker, "TLS with a CA and a client certificate") {
  tallyd.start(secure_config(broker, dir, "ssl",
                             "ca_file = \"" + dir.file("ca.pem") + "\"\ncert_file = \"" + dir.file("client.pem") +
                                 "\"\nkey_file = \"" + dir.file("client.key") + "\""));
  REQUIRE(sub.wait_for([](const auto& all) { return !records(all, base + "/readings/sim").empty(); }));
  CHECK(records(sub.messages(), base + "/readings/sim")[0]["value"] == 4.0);
  CHECK(tallyd.log().find("connected to ssl://127.0.0.1") != std::string::npos);
}

TEST_CASE_METHOD(WithTlsBroker, "TLS without the client certificate is refused by a broker that requires one") {
  tallyd.start(secure_config(broker, dir, "ssl", "ca_file = \"" + dir.file("ca.pem") + "\""));
  REQUIRE(wait_until([&] { return tallyd.log().find("cannot connect") != std::string::npos; }));
  CHECK(records(sub.messages()).empty());
  CHECK(tallyd.process->running());
}
