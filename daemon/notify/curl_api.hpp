#pragma once
// libcurl, loaded with dlopen the first time a [[notify]] target is configured, not linked. Linked, libcurl brings
// 25 libraries (GnuTLS, Kerberos, LDAP, SSH, p11-kit...) into every tallyd, and their start-up code cost about
// 5 MB of resident memory on a station that sends no notifications (measured: 15.5 MB -> see docs/benchmarks.md).
// Only the types and constants of <curl/curl.h> are used at compile time.
#define CURL_DISABLE_TYPECHECK  // curl_easy_setopt is called through a pointer, not the type-checking macro
#include <curl/curl.h>

#include <string>

namespace tally::curl {

struct Api {
  CURLcode (*global_init)(long flags);
  CURL* (*easy_init)();
  CURLcode (*easy_setopt)(CURL*, CURLoption, ...);
  CURLcode (*easy_perform)(CURL*);
  CURLcode (*easy_getinfo)(CURL*, CURLINFO, ...);
  const char* (*easy_strerror)(CURLcode);
  void (*easy_cleanup)(CURL*);
  curl_slist* (*slist_append)(curl_slist*, const char*);
  void (*slist_free_all)(curl_slist*);
};

// Loads libcurl.so.4 and runs curl_global_init once (call it before any thread uses curl). Null when libcurl is
// not installed or lacks a function, with the reason in `why`; the same answer every time after the first call.
const Api* load(std::string& why);

}  // namespace tally::curl
