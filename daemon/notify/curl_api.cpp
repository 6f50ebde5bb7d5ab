#include "notify/curl_api.hpp"

#include <dlfcn.h>

#include <mutex>

namespace tally::curl {
namespace {

template <class Fn>
bool bind(void* lib, const char* name, Fn& fn, std::string& why) {
  fn = reinterpret_cast<Fn>(::dlsym(lib, name));
  if (!fn) why = std::string("libcurl.so.4 has no ") + name;
  return fn != nullptr;
}

}  // namespace

const Api* load(std::string& why) {
  static Api api{};
  static const Api* loaded = nullptr;
  static std::string error;
  static std::once_flag once;
  std::call_once(once, [] {
    // Debian's libcurl4 (OpenSSL) package; libcurl3-gnutls would do as well.
    void* lib = ::dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!lib) lib = ::dlopen("libcurl-gnutls.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      const char* e = ::dlerror();
      error = std::string("libcurl is not installed (") + (e ? e : "dlopen failed") + "): apt install libcurl4";
      return;
    }
    if (bind(lib, "curl_global_init", api.global_init, error) && bind(lib, "curl_easy_init", api.easy_init, error) &&
        bind(lib, "curl_easy_setopt", api.easy_setopt, error) &&
        bind(lib, "curl_easy_perform", api.easy_perform, error) &&
        bind(lib, "curl_easy_getinfo", api.easy_getinfo, error) &&
        bind(lib, "curl_easy_strerror", api.easy_strerror, error) &&
        bind(lib, "curl_easy_cleanup", api.easy_cleanup, error) &&
        bind(lib, "curl_slist_append", api.slist_append, error) &&
        bind(lib, "curl_slist_free_all", api.slist_free_all, error)) {
      api.global_init(CURL_GLOBAL_DEFAULT);
      loaded = &api;
    }
    // The library stays loaded for the life of the process (never dlclose'd: the worker may still use it).
  });
  if (!loaded) why = error;
  return loaded;
}

}  // namespace tally::curl
